//! The fast path: a profile decoded straight from its text into the raw types, with no
//! JSON tree in between.
//!
//! Building the tree first (see [`crate::json`]) lets the decoder report a syntax error
//! anywhere in the document before any error of content, as Go's `json.Unmarshal` does,
//! and look at the top-level keys before deciding what the document is. That costs a
//! few hundred allocations per profile. This decoder makes the same decisions as it
//! reads, for the documents where nothing needs the tree: well-formed profiles whose
//! values have the types their fields take. On anything else (any error, or a key that
//! makes the document a whole `config.json`) it gives up, and [`super::parse`] reads the
//! document the long way, which then decides and reports. So whenever this decoder
//! returns a profile, it is the one the tree decoder returns, warnings included;
//! `fast_path_agrees` checks exactly that, and the fuzz target runs it.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{
    location_of, ArchMapKey, Arg, ArgKey, EntryKey, FilterKey, ProfileKey, RawArchMap, RawEntry,
    RawFilter, RawProfile, Seen, Step, Warning, ARCH_MAP_KEYS, ARG_KEYS, FILTER_KEYS,
    MOBY_ENTRY_KEYS, MOBY_PROFILE_KEYS, OCI_ENTRY_KEYS, OCI_PROFILE_KEYS,
};
use crate::json::{self, GoSlice, KeyMatch, KeySeed, MAX_DEPTH};
use crate::kernel::parse_min_kernel;
use crate::model::{Format, KernelVersion, SyscallName};

/// The profile in `text`, its format and the warnings, or `None` to take the long way.
/// `asked` and `strict` are [`super::parse`]'s.
pub(super) fn decode(
    text: &str,
    asked: Option<Format>,
    strict: bool,
) -> Option<(RawProfile, Format, Vec<Warning>)> {
    // The tree decoder reads a document as a whole `config.json` when it has one of
    // those keys at the top, unless moby's format was asked for.
    let (format, config_keys): (Format, &[&str]) = match asked {
        Some(Format::Moby) => (Format::Moby, &[]),
        Some(Format::Oci) => (Format::Oci, &["ociVersion", "linux"]),
        None => (Format::Moby, &["ociVersion", "linux"]),
    };
    let reader = Reader {
        format,
        strict,
        config_keys,
        path: RefCell::new(Vec::new()),
        warnings: RefCell::new(Vec::new()),
    };
    let mut raw = RawProfile::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let top = Cx {
        reader: &reader,
        depth: 0,
    };
    Over {
        cx: top,
        place: &mut raw,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    Some((raw, format, reader.warnings.into_inner()))
}

/// What every place being decoded shares.
struct Reader<'k> {
    format: Format,
    strict: bool,
    /// Top-level keys that make the document a `config.json`: the fast path gives up.
    config_keys: &'k [&'static str],
    /// The location of the value being decoded, for warnings.
    path: RefCell<Vec<Step>>,
    warnings: RefCell<Vec<Warning>>,
}

impl Reader<'_> {
    fn location(&self) -> String {
        location_of(&self.path.borrow())
    }

    fn warn(&self, warning: Warning) {
        self.warnings.borrow_mut().push(warning);
    }

    /// Runs `decode` one step further into the document.
    fn within<R>(&self, step: Step, decode: impl FnOnce() -> R) -> R {
        self.path.borrow_mut().push(step);
        let result = decode();
        self.path.borrow_mut().pop();
        result
    }
}

/// Where decoding is: the shared reader, and how many containers enclose the value.
#[derive(Clone, Copy)]
struct Cx<'r> {
    reader: &'r Reader<'r>,
    depth: usize,
}

impl<'r> Cx<'r> {
    /// The context of a member or element of a container at this depth; an error where
    /// the tree decoder stops too ([`json::MAX_DEPTH`]).
    fn enter<E: de::Error>(self) -> Result<Cx<'r>, E> {
        if self.depth >= MAX_DEPTH {
            return Err(give_up());
        }
        Ok(Cx {
            reader: self.reader,
            depth: self.depth + 1,
        })
    }
}

/// The error that makes the fast path give up; its text is never shown.
fn give_up<E: de::Error>() -> E {
    E::custom("the fast path gives up")
}

/// A place a value is decoded over, as Go decodes into a field: what `null` and each
/// other value do to what is already there is the tree decoder's rule for the type.
trait Place {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error>;
}

/// The seed that decodes one value over a place.
struct Over<'c, 'p, P> {
    cx: Cx<'c>,
    place: &'p mut P,
}

impl<'de, P: Place> DeserializeSeed<'de> for Over<'_, '_, P> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.place.decode(self.cx, d)
    }
}

/// The visitor of a place. The serde methods each implements are the values the place
/// takes; any other value fails (serde's default), which gives up.
struct Visit<'c, 'p, P> {
    cx: Cx<'c>,
    place: &'p mut P,
}

/// What a value was, for the places that take scalars.
enum Scalar<'a> {
    Null,
    Str(&'a str),
    Unsigned(u64),
}

/// A place that takes a scalar: `take` decodes it, `false` when the tree decoder would
/// refuse it.
trait ScalarPlace {
    fn take(&mut self, cx: Cx<'_>, value: Scalar<'_>) -> bool;
}

impl<P: ScalarPlace> Place for P {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Visit { cx, place: self })
    }
}

impl<'de, P: ScalarPlace> Visitor<'de> for Visit<'_, '_, P> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar of the field's type")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.scalar(Scalar::Unsigned(n))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<(), E> {
        self.scalar(Scalar::Str(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(s))
    }
}

impl<P: ScalarPlace> Visit<'_, '_, P> {
    fn scalar<E: de::Error>(self, value: Scalar<'_>) -> Result<(), E> {
        if self.place.take(self.cx, value) {
            Ok(())
        } else {
            Err(give_up())
        }
    }
}

/// A Go `string`: `null` leaves it as it was.
impl ScalarPlace for String {
    fn take(&mut self, _: Cx<'_>, value: Scalar<'_>) -> bool {
        match value {
            Scalar::Null => true,
            Scalar::Str(s) => {
                self.clear();
                self.push_str(s);
                true
            }
            Scalar::Unsigned(_) => false,
        }
    }
}

/// A Go `string` holding a syscall name.
impl ScalarPlace for SyscallName {
    fn take(&mut self, _: Cx<'_>, value: Scalar<'_>) -> bool {
        match value {
            Scalar::Null => true,
            Scalar::Str(s) => {
                *self = SyscallName::new(s);
                true
            }
            Scalar::Unsigned(_) => false,
        }
    }
}

/// A Go `uint64`: `null` leaves it as it was.
impl ScalarPlace for u64 {
    fn take(&mut self, _: Cx<'_>, value: Scalar<'_>) -> bool {
        match value {
            Scalar::Null => true,
            Scalar::Unsigned(n) => {
                *self = n;
                true
            }
            Scalar::Str(_) => false,
        }
    }
}

/// A Go `*uint`: `null` makes it nil.
impl ScalarPlace for Option<u64> {
    fn take(&mut self, _: Cx<'_>, value: Scalar<'_>) -> bool {
        match value {
            Scalar::Null => *self = None,
            Scalar::Unsigned(n) => *self = Some(n),
            Scalar::Str(_) => return false,
        }
        true
    }
}

/// moby's `*KernelVersion`, as the tree decoder's `min_kernel` reads it.
impl ScalarPlace for Option<KernelVersion> {
    fn take(&mut self, cx: Cx<'_>, value: Scalar<'_>) -> bool {
        match value {
            Scalar::Null => *self = None,
            Scalar::Str("") => {
                if self.is_none() {
                    let path = cx.reader.location();
                    cx.reader.warn(Warning::EmptyMinKernel { path });
                    *self = Some(KernelVersion {
                        kernel: 0,
                        major: 0,
                    });
                }
            }
            Scalar::Str(text) => match parse_min_kernel(text) {
                Some(version) => *self = Some(version),
                None => return false,
            },
            Scalar::Unsigned(_) => return false,
        }
        true
    }
}

/// A Go slice: `null` makes it nil, an array is decoded element by element over it.
impl<T: Place + Default> Place for GoSlice<T> {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Visit { cx, place: self })
    }
}

impl<'de, T: Place + Default> Visitor<'de> for Visit<'_, '_, GoSlice<T>> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.place.set_nil();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.cx.enter()?;
        let mut count = 0;
        loop {
            let element = Element {
                cx: inner,
                slice: &mut *self.place,
                index: count,
            };
            if seq.next_element_seed(element)?.is_none() {
                break;
            }
            count += 1;
        }
        self.place.finish_array(count);
        Ok(())
    }
}

/// The seed of element `index` of an array decoded over a slice.
struct Element<'c, 'p, T> {
    cx: Cx<'c>,
    slice: &'p mut GoSlice<T>,
    index: usize,
}

impl<'de, T: Place + Default> DeserializeSeed<'de> for Element<'_, '_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let slot = self.slice.element(self.index);
        let reader = self.cx.reader;
        reader.within(Step::Index(self.index), || slot.decode(self.cx, d))
    }
}

/// A Go struct: `null` leaves it as it was, an object is decoded member by member.
trait StructPlace {
    type Key: Copy + 'static;

    fn keys(format: Format) -> &'static [(&'static str, Self::Key)];

    /// Decodes the value of the field `key` names.
    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: Self::Key,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Decodes an object over `place`, as the tree decoder's `object` does.
fn object<'de, A: MapAccess<'de>, P: StructPlace>(
    place: &mut P,
    cx: Cx<'_>,
    mut map: A,
    config_keys: &[&str],
) -> Result<(), A::Error> {
    let inner = cx.enter()?;
    let reader = cx.reader;
    let keys = P::keys(reader.format);
    let mut seen = Seen::default();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        let Some((name, tag, how)) = json::match_key(&key, keys) else {
            if reader.strict || config_keys.iter().any(|k| json::folds_to(&key, k)) {
                return Err(give_up());
            }
            let path = reader.location();
            reader.warn(Warning::UnknownKey {
                path,
                key: key.into_owned(),
            });
            map.next_value_seed(Skip { cx: inner })?;
            continue;
        };
        reader.within(Step::Key(name), || {
            if how == KeyMatch::Folded {
                let path = reader.location();
                reader.warn(Warning::KeyCase {
                    path,
                    key: key.to_string(),
                });
            }
            if seen.again(name) {
                let path = reader.location();
                reader.warn(Warning::DuplicateKey { path });
            }
            place.member(inner, tag, &mut map)
        })?;
    }
    Ok(())
}

/// The visitor of a struct place; `config_keys` are the top level's.
struct StructVisit<'c, 'p, P> {
    cx: Cx<'c>,
    place: &'p mut P,
    config_keys: &'c [&'static str],
}

impl<'de, P: StructPlace> Visitor<'de> for StructVisit<'_, '_, P> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        object(self.place, self.cx, map, self.config_keys)
    }
}

/// Decodes a struct place, with no `config.json` keys below the top level.
fn decode_struct<'de, D: Deserializer<'de>, P: StructPlace>(
    place: &mut P,
    cx: Cx<'_>,
    d: D,
) -> Result<(), D::Error> {
    d.deserialize_any(StructVisit {
        cx,
        place,
        config_keys: &[],
    })
}

/// Decodes the next member's value over `place`.
fn value<'de, A: MapAccess<'de>, P: Place>(
    map: &mut A,
    cx: Cx<'_>,
    place: &mut P,
) -> Result<(), A::Error> {
    map.next_value_seed(Over { cx, place })
}

impl Place for RawProfile {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        let config_keys = cx.reader.config_keys;
        d.deserialize_any(StructVisit {
            cx,
            place: self,
            config_keys,
        })
    }
}

impl StructPlace for RawProfile {
    type Key = ProfileKey;

    fn keys(format: Format) -> &'static [(&'static str, ProfileKey)] {
        match format {
            Format::Moby => MOBY_PROFILE_KEYS,
            Format::Oci => OCI_PROFILE_KEYS,
        }
    }

    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: ProfileKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            ProfileKey::DefaultAction => value(map, cx, &mut self.default_action),
            ProfileKey::DefaultErrnoRet => value(map, cx, &mut self.default_errno_ret),
            ProfileKey::Architectures => value(map, cx, &mut self.architectures),
            ProfileKey::ArchMap => value(map, cx, &mut self.arch_map),
            ProfileKey::Flags => value(map, cx, &mut self.flags),
            ProfileKey::ListenerPath => value(map, cx, &mut self.listener_path),
            ProfileKey::ListenerMetadata => value(map, cx, &mut self.listener_metadata),
            ProfileKey::Syscalls => value(map, cx, &mut self.syscalls),
        }
    }
}

impl Place for RawArchMap {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        decode_struct(self, cx, d)
    }
}

impl StructPlace for RawArchMap {
    type Key = ArchMapKey;

    fn keys(_: Format) -> &'static [(&'static str, ArchMapKey)] {
        ARCH_MAP_KEYS
    }

    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: ArchMapKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            ArchMapKey::Architecture => value(map, cx, &mut self.architecture),
            ArchMapKey::SubArchitectures => value(map, cx, &mut self.sub_architectures),
        }
    }
}

/// One element of `syscalls`: moby's are pointers, which `null` makes nil; runc's are
/// values, which `null` leaves as they were.
impl Place for Option<RawEntry> {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Visit { cx, place: self })
    }
}

impl<'de> Visitor<'de> for Visit<'_, '_, Option<RawEntry>> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.cx.reader.format == Format::Moby {
            *self.place = None;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let entry = self.place.get_or_insert_with(RawEntry::default);
        object(entry, self.cx, map, &[])
    }
}

impl StructPlace for RawEntry {
    type Key = EntryKey;

    fn keys(format: Format) -> &'static [(&'static str, EntryKey)] {
        match format {
            Format::Moby => MOBY_ENTRY_KEYS,
            Format::Oci => OCI_ENTRY_KEYS,
        }
    }

    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: EntryKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            EntryKey::Names => value(map, cx, &mut self.names),
            EntryKey::Name => value(map, cx, &mut self.name),
            EntryKey::Action => value(map, cx, &mut self.action),
            EntryKey::ErrnoRet => value(map, cx, &mut self.errno_ret),
            EntryKey::Args => value(map, cx, &mut self.args),
            EntryKey::Comment => value(map, cx, &mut self.comment),
            EntryKey::Includes => value(map, cx, &mut self.includes),
            EntryKey::Excludes => value(map, cx, &mut self.excludes),
        }
    }
}

impl Place for Arg {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        decode_struct(self, cx, d)
    }
}

impl StructPlace for Arg {
    type Key = ArgKey;

    fn keys(_: Format) -> &'static [(&'static str, ArgKey)] {
        ARG_KEYS
    }

    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: ArgKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            ArgKey::Index => value(map, cx, &mut self.index),
            ArgKey::Value => value(map, cx, &mut self.value),
            ArgKey::ValueTwo => value(map, cx, &mut self.value_two),
            ArgKey::Op => value(map, cx, &mut self.op),
        }
    }
}

/// An `includes` or `excludes` pointer: `null` makes it nil, an object is decoded into
/// the filter already there or a new one.
impl Place for Option<RawFilter> {
    fn decode<'de, D: Deserializer<'de>>(&mut self, cx: Cx<'_>, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Visit { cx, place: self })
    }
}

impl<'de> Visitor<'de> for Visit<'_, '_, Option<RawFilter>> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.place = None;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let filter = self.place.get_or_insert_with(RawFilter::default);
        object(filter, self.cx, map, &[])
    }
}

impl StructPlace for RawFilter {
    type Key = FilterKey;

    fn keys(_: Format) -> &'static [(&'static str, FilterKey)] {
        FILTER_KEYS
    }

    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        cx: Cx<'_>,
        key: FilterKey,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            FilterKey::Caps => value(map, cx, &mut self.caps),
            FilterKey::Arches => value(map, cx, &mut self.arches),
            FilterKey::MinKernel => value(map, cx, &mut self.min_kernel),
        }
    }
}

/// The value of a key no field takes: read, to the depth the tree decoder allows, and
/// dropped.
struct Skip<'c> {
    cx: Cx<'c>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.cx.enter()?;
        while seq.next_element_seed(Skip { cx: inner })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.cx.enter()?;
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value_seed(Skip { cx: inner })?;
        }
        Ok(())
    }
}
