//! JSON read the way Go's `encoding/json` reads it into moby's and runc's types.
//!
//! serde_json checks the syntax and builds a [`Value`] whose objects keep every member in
//! document order, duplicates included: Go decodes members one after the other into the
//! same struct, so a repeated key is decoded over the earlier value instead of replacing
//! it. The rest of Go's rules that [`crate::parse`] needs live here too: how a key finds
//! its field ([`match_key`]) and how an array is decoded into a slice that already holds
//! elements ([`GoSlice`]).
//!
//! Known gaps, all on inputs Docker accepts and we refuse, so a launch fails instead of
//! running under a different filter:
//! - containers nested deeper than [`MAX_DEPTH`] (Go allows 10000);
//! - numbers beyond the range of `f64`, such as `1e999`, under keys that are ignored
//!   (serde_json refuses them while parsing, Go only when it must store them);
//! - escaped lone surrogates such as `"\ud800"` (Go reads them as U+FFFD).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How many arrays and objects may enclose one another. serde_json stops at 128 on its
/// own; stopping earlier, in our visitor, lets the error say what happened.
pub const MAX_DEPTH: usize = 100;

/// A JSON value with its object members in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as far as serde_json tells them apart.
    Number(Number),
    /// A string, escapes decoded; borrowed from the input where it has no escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// Members as written: in order, with repeated keys kept.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

/// A JSON number as serde_json reports it without `arbitrary_precision`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An integer from 0 to 2^64-1 written without fraction or exponent: the only
    /// numbers Go's `strconv.ParseUint` accepts.
    Unsigned(u64),
    /// A negative integer that fits an `i64`.
    Negative(i64),
    /// Anything else: a fraction, an exponent, `-0`, or an integer beyond 64 bits.
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Unsigned(n) => write!(f, "{n}"),
            Number::Negative(n) => write!(f, "{n}"),
            // Debug keeps the `.0` of `1.0` and writes large values with an exponent.
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

impl Value<'_> {
    /// The value with nothing borrowed.
    pub fn into_owned(self) -> Value<'static> {
        let owned = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(n),
            Value::String(s) => Value::String(owned(s)),
            Value::Array(items) => Value::Array(items.into_iter().map(Value::into_owned).collect()),
            Value::Object(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (owned(k), v.into_owned()))
                    .collect(),
            ),
        }
    }

    /// What the value is, for "expected ..., found ..." messages: the literal for null,
    /// booleans and numbers, the kind for the rest.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(_) => "a string".to_owned(),
            Value::Array(_) => "an array".to_owned(),
            Value::Object(_) => "an object".to_owned(),
        }
    }
}

/// A place in the input: 1-based line, and 1-based column counted in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The byte in the line, from 1.
    pub column: usize,
}

/// What to do with bytes that are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidUtf8 {
    /// Refuse the document.
    Reject,
    /// Read bad bytes as U+FFFD, which is what Go does inside strings. Outside strings
    /// the replacement character is a syntax error, as the bad byte is for Go. Go puts
    /// one U+FFFD per bad byte where Rust puts one per bad sequence; no decision depends
    /// on the count, since such a string names no syscall, action, capability or arch.
    Replace,
}

/// A parsed document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document<'a> {
    /// The top-level value.
    pub value: Value<'a>,
    /// Where the first bytes that are not UTF-8 were, when they were replaced.
    pub replaced_utf8: Option<Position>,
}

/// Why a document could not be read as JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not well-formed JSON. `reason` is serde_json's description.
    #[error("malformed JSON at line {line} column {column}: {reason}")]
    Malformed {
        line: usize,
        column: usize,
        reason: String,
    },
    /// Bytes that are not UTF-8, in the mode that refuses them.
    #[error("invalid UTF-8 at line {line} column {column}")]
    InvalidUtf8 { line: usize, column: usize },
    /// Arrays and objects nested more than [`MAX_DEPTH`] levels.
    #[error("JSON nested deeper than {MAX_DEPTH} levels at line {line} column {column}")]
    TooDeep { line: usize, column: usize },
}

/// Parses a whole document; anything but whitespace after the value is an error, as it
/// is for Go's `json.Unmarshal`.
pub fn read(bytes: &[u8], invalid_utf8: InvalidUtf8) -> Result<Document<'_>, JsonError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Document {
            value: read_str(text)?,
            replaced_utf8: None,
        }),
        Err(e) => {
            let at = position_of(bytes, e.valid_up_to());
            match invalid_utf8 {
                InvalidUtf8::Reject => {
                    let Position { line, column } = at;
                    Err(JsonError::InvalidUtf8 { line, column })
                }
                InvalidUtf8::Replace => Ok(Document {
                    value: read_str(&String::from_utf8_lossy(bytes))?.into_owned(),
                    replaced_utf8: Some(at),
                }),
            }
        }
    }
}

fn read_str(text: &str) -> Result<Value<'_>, JsonError> {
    let too_deep = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = ValueSeed {
        depth: 0,
        too_deep: &too_deep,
    };
    seed.deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| json_error(&e, too_deep.get()))
}

/// The line and column of byte `offset`.
fn position_of(bytes: &[u8], offset: usize) -> Position {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Position {
        line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
        column: before.len() - line_start + 1,
    }
}

/// Turns serde_json's error into ours. Its message ends with the position, which we
/// keep in fields instead.
///
/// After U+FFFD replacement the column of a later error on the same line counts the
/// three bytes of each replacement character; the line is always right.
fn json_error(e: &serde_json::Error, too_deep: bool) -> JsonError {
    let (line, column) = (e.line(), e.column());
    if too_deep {
        return JsonError::TooDeep { line, column };
    }
    let message = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let reason = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
    JsonError::Malformed {
        line,
        column,
        reason,
    }
}

/// Builds a [`Value`], counting how deep it is.
#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    /// How many arrays and objects enclose the value.
    depth: usize,
    /// Set when the depth limit stopped the parse, to tell that error from the others.
    too_deep: &'a Cell<bool>,
}

impl ValueSeed<'_> {
    /// The seed for a member or element of a container at this seed's depth, or an error
    /// when that container is one level too many.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_DEPTH {
            self.too_deep.set(true);
            return Err(E::custom("nested too deep"));
        }
        Ok(ValueSeed {
            depth: self.depth + 1,
            too_deep: self.too_deep,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::Unsigned(n)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        // serde_json reports only negative integers this way; stay exact for others.
        Ok(Value::Number(match u64::try_from(n) {
            Ok(n) => Number::Unsigned(n),
            Err(_) => Number::Negative(n),
        }))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::Float(x)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let inner = self.enter()?;
        // serde_json does not know the length ahead; profiles' arrays are mostly short.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(8));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let inner = self.enter()?;
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(6));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(inner)?;
            members.push((key, value));
        }
        Ok(Value::Object(members))
    }
}

/// An object key, borrowed from the input where it has no escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// How a key found its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    /// Spelled as the field.
    Exact,
    /// Equal to the field only under case folding.
    Folded,
}

/// The field a JSON object key decodes into, by Go's rule (`encoding/json` `object`):
/// the field spelled exactly like the key, else the one equal to it under Unicode simple
/// case folding. `fields` pairs each canonical name, which must be ASCII, with a tag.
pub fn match_key<K: Copy>(
    key: &str,
    fields: &[(&'static str, K)],
) -> Option<(&'static str, K, KeyMatch)> {
    if let Some(&(name, tag)) = fields.iter().find(|(name, _)| *name == key) {
        return Some((name, tag, KeyMatch::Exact));
    }
    let &(name, tag) = fields.iter().find(|(name, _)| folds_to(key, name))?;
    Some((name, tag, KeyMatch::Folded))
}

/// Whether `key` equals the ASCII `name` under Unicode simple case folding, which is what
/// Go's `foldName` compares (each rune replaced by the smallest rune of its fold orbit).
///
/// Only two non-ASCII characters share an orbit with an ASCII letter: U+017F LATIN SMALL
/// LETTER LONG S with `s`, and U+212A KELVIN SIGN with `k` (Unicode `CaseFolding.txt`,
/// status C and S). Every other non-ASCII character folds to a non-ASCII one and cannot
/// equal a letter of an ASCII name, so this small table is exact for ASCII names.
pub fn folds_to(key: &str, name: &str) -> bool {
    key.chars().map(fold).eq(name.chars().map(fold))
}

fn fold(c: char) -> char {
    match c {
        '\u{17F}' => 'S',
        '\u{212A}' => 'K',
        _ => c.to_ascii_uppercase(),
    }
}

/// A Go slice that `encoding/json` decodes into, with the elements past its length that
/// its backing array still holds.
///
/// Go's `array` decoding does not start from a fresh slice: element `i` is decoded over
/// whatever the backing array holds at `i` (a struct keeps the fields the new element
/// does not set, a string is kept when the new element is `null`), and at the end the
/// length is cut to the new element count without clearing the elements past it. A
/// longer array decoded later reaches those elements again. A fresh backing array comes
/// only from `null` (a nil slice) or `[]` (`reflect.MakeSlice(t, 0, 0)`). Growing the
/// slice copies every element up to its length, which at that moment is its capacity, so
/// no element is ever lost: keeping all elements written so far models it exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct GoSlice<T> {
    backing: Vec<T>,
    len: usize,
    nil: bool,
}

impl<T> Default for GoSlice<T> {
    fn default() -> Self {
        GoSlice {
            backing: Vec::new(),
            len: 0,
            nil: true,
        }
    }
}

impl<T: Default> GoSlice<T> {
    /// Decoding `null`: a nil slice.
    pub fn set_nil(&mut self) {
        *self = GoSlice::default();
    }

    /// Decoding an array: `decode` is called for each element with its index and the slot
    /// it is decoded over.
    pub fn decode_array<E>(
        &mut self,
        items: &[Value],
        mut decode: impl FnMut(usize, &mut T, &Value) -> Result<(), E>,
    ) -> Result<(), E> {
        if items.is_empty() {
            *self = GoSlice {
                backing: Vec::new(),
                len: 0,
                nil: false,
            };
            return Ok(());
        }
        self.nil = false;
        self.backing
            .reserve(items.len().saturating_sub(self.backing.len()));
        for (i, item) in items.iter().enumerate() {
            if self.backing.len() <= i {
                self.backing.push(T::default());
            }
            self.len = i + 1;
            if let Some(slot) = self.backing.get_mut(i) {
                decode(i, slot, item)?;
            }
        }
        Ok(())
    }

    /// For a decoder that meets an array's elements one at a time, what
    /// [`GoSlice::decode_array`] does for each: the slot element `i` is decoded over, the
    /// backing array grown when it is shorter. [`GoSlice::finish_array`] ends the array.
    pub fn element(&mut self, i: usize) -> &mut T {
        if self.backing.capacity() == 0 {
            // The length is not known ahead; most of a profile's arrays are short, and
            // starting at 8 saves a regrowth of the many that pass 4.
            self.backing.reserve(8);
        }
        while self.backing.len() <= i {
            self.backing.push(T::default());
        }
        &mut self.backing[i]
    }

    /// Ends an array of `count` elements decoded with [`GoSlice::element`]: the slice now
    /// holds them, and an empty array is a fresh, empty, non-nil slice.
    pub fn finish_array(&mut self, count: usize) {
        if count == 0 {
            *self = GoSlice {
                backing: Vec::new(),
                len: 0,
                nil: false,
            };
        } else {
            self.nil = false;
            self.len = count;
        }
    }

    /// The elements in the slice, or `None` for a nil slice.
    pub fn into_option(self) -> Option<Vec<T>> {
        let nil = self.nil;
        let elements = self.into_vec();
        (!nil).then_some(elements)
    }

    /// The elements in the slice; a nil slice has none.
    pub fn into_vec(self) -> Vec<T> {
        let mut backing = self.backing;
        backing.truncate(self.len);
        backing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value<'_> {
        match read(text.as_bytes(), InvalidUtf8::Reject) {
            Ok(document) => document.value,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn objects_keep_members_in_order_with_duplicates() {
        let members = vec![
            ("b".into(), Value::Number(Number::Unsigned(1))),
            ("a".into(), Value::Null),
            ("b".into(), Value::Bool(true)),
        ];
        assert_eq!(
            parse(r#"{"b":1,"a":null,"b":true}"#),
            Value::Object(members)
        );
    }

    #[test]
    fn numbers_keep_what_go_needs_to_tell_apart() {
        let number = |text| match parse(text) {
            Value::Number(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(number("18446744073709551615"), Number::Unsigned(u64::MAX));
        assert_eq!(number("-1"), Number::Negative(-1));
        assert!(matches!(number("1.0"), Number::Float(_)));
        assert!(matches!(number("1e3"), Number::Float(_)));
        assert!(matches!(number("-0"), Number::Float(_)));
        assert!(matches!(number("18446744073709551616"), Number::Float(_)));
        assert_eq!(number("1.0").to_string(), "1.0");
    }

    #[test]
    fn depth_limit_is_an_error_of_its_own() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(read(ok.as_bytes(), InvalidUtf8::Reject).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let err = read(deep.as_bytes(), InvalidUtf8::Reject);
        assert!(
            matches!(err, Err(JsonError::TooDeep { line: 1, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn positions_are_one_based_byte_columns() {
        assert_eq!(position_of(b"ab\ncd", 4), Position { line: 2, column: 2 });
        assert_eq!(position_of(b"ab", 0), Position { line: 1, column: 1 });
    }

    #[test]
    fn keys_match_exactly_first_then_folded() {
        let fields = [("names", 1), ("Names", 2)];
        assert_eq!(
            match_key("Names", &fields),
            Some(("Names", 2, KeyMatch::Exact))
        );
        assert_eq!(
            match_key("NAMES", &fields),
            Some(("names", 1, KeyMatch::Folded))
        );
        assert_eq!(match_key("nam", &fields), None);
    }

    #[test]
    fn long_s_and_kelvin_sign_fold_to_ascii_letters() {
        assert!(folds_to("\u{17F}yscalls", "syscalls"));
        assert!(folds_to("\u{212A}", "k"));
        assert!(
            !folds_to("\u{131}ndex", "index"),
            "dotless i has no simple fold to i"
        );
        assert!(!folds_to("sys", "syscalls"));
    }

    #[test]
    fn shorter_array_keeps_the_backing_elements_past_its_length() {
        let ints = |text| match parse(text) {
            Value::Array(items) => items,
            other => panic!("{other:?}"),
        };
        let mut slice: GoSlice<String> = GoSlice::default();
        let put = |slice: &mut GoSlice<String>, text| {
            let decoded = slice.decode_array(&ints(text), |_, slot: &mut String, item| {
                if let Value::String(s) = item {
                    *slot = s.to_string();
                }
                Ok::<(), ()>(())
            });
            assert_eq!(decoded, Ok(()));
        };
        put(&mut slice, r#"["a","b"]"#);
        put(&mut slice, r#"["c"]"#);
        assert_eq!(slice.clone().into_vec(), ["c"]);
        put(&mut slice, r#"["d",null]"#);
        assert_eq!(slice.clone().into_vec(), ["d", "b"]);
        put(&mut slice, "[]");
        put(&mut slice, r#"["e",null]"#);
        assert_eq!(
            slice.clone().into_option(),
            Some(vec!["e".to_owned(), String::new()])
        );
        slice.set_nil();
        assert_eq!(slice.into_option(), None);
    }
}
