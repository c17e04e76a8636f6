//! Profile JSON to [`Profile`], decoded as Docker decodes it.
//!
//! moby's `LoadProfile` (`moby/profiles seccomp/seccomp_linux.go`) runs Go's
//! `json.Unmarshal` into its `Seccomp` type (`seccomp/seccomp.go`); runc decodes a
//! `config.json` into the runtime-spec types (`specs-go/config.go`), whose
//! `LinuxSeccomp` lacks moby's `archMap`, `name`, `comment`, `includes` and `excludes`.
//! Both follow Go's rules, which [`crate::json`] provides: keys match fields ignoring
//! case, unknown keys are ignored, members are decoded in order over what earlier ones
//! left, and `null` leaves a string or number as it was but makes a slice or pointer nil.
//!
//! Only decoding happens here. Whether an action, operator, architecture or flag string
//! is known, `name` together with `names`, `architectures` together with `archMap`, an
//! argument index above 5 and a NOTIFY default are resolution's checks
//! ([`crate::resolve`]): Docker makes some of them only for the entries that survive
//! `includes`/`excludes`.

mod stream;

use std::fmt;

use crate::json::{self, GoSlice, InvalidUtf8, JsonError, KeyMatch, Number, Value};
use crate::kernel::parse_min_kernel;
use crate::model::{
    ArchMapEntry, Arg, Filter, Format, KernelVersion, Profile, SyscallEntry, SyscallName,
};

/// How to read a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Refuse what Docker would silently accept: unknown keys, and bytes that are not
    /// UTF-8. Otherwise they become [`Warning`]s.
    pub strict: bool,
}

/// A profile read from JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The profile as written.
    pub profile: Profile,
    /// The format the profile was read in.
    pub format: Format,
    /// What Docker accepts silently but a reader of the profile may want to know.
    pub warnings: Vec<Warning>,
}

/// Something Docker accepts silently that may not mean what its author thought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A key no field takes, ignored. `path` is the object's location.
    UnknownKey { path: String, key: String },
    /// A key that takes its field only when case is ignored, as Go allows. `path` is
    /// the field's.
    KeyCase { path: String, key: String },
    /// A field given more than once in one object: each value is decoded over the one
    /// before, so later values win where they set something. `path` is the field's.
    DuplicateKey { path: String },
    /// `"minKernel": ""`. moby's decoder allocates the version before reading the empty
    /// string, so the condition is version 0.0: an `excludes` with it drops the entry.
    EmptyMinKernel { path: String },
    /// Bytes that are not UTF-8, read as U+FFFD as Go does.
    InvalidUtf8 { line: usize, column: usize },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey { path, key } => {
                write!(f, "{}unknown key {} is ignored", at(path), quoted(key))
            }
            Warning::KeyCase { path, key } => {
                write!(f, "{}key {} matched ignoring case", at(path), quoted(key))
            }
            Warning::DuplicateKey { path } => {
                write!(
                    f,
                    "{}key repeated, each value decoded over the last",
                    at(path)
                )
            }
            Warning::EmptyMinKernel { path } => {
                write!(
                    f,
                    "{}empty, read as 0.0, which every kernel meets",
                    at(path)
                )
            }
            Warning::InvalidUtf8 { line, column } => {
                write!(
                    f,
                    "invalid UTF-8 at line {line} column {column}, read as U+FFFD"
                )
            }
        }
    }
}

/// Why a profile could not be read. Messages name the JSON location but not the file,
/// which the caller puts in front: `p.json: syscalls[3].args[0].index: ...`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON: malformed, not UTF-8 (strict mode), or nested too deep.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A value of the wrong JSON type for its field.
    #[error("{}expected {expected}, found {found}", at(.path))]
    WrongType {
        path: String,
        expected: &'static str,
        found: String,
    },
    /// A number too large for the unsigned 64-bit field it is for.
    #[error("{}number out of range, expected at most {}, found {found}", at(.path), u64::MAX)]
    OutOfRange { path: String, found: String },
    /// A `minKernel` that moby's `KernelVersion.UnmarshalJSON` refuses.
    #[error("{}invalid kernel version {found}, expected {}", at(.path), KERNEL_FORMAT)]
    BadMinKernel { path: String, found: String },
    /// A key no field takes, in strict mode. `path` is the object's location.
    #[error("{}unknown key {}", at(.path), quoted(.key))]
    UnknownKey { path: String, key: String },
    /// A whole OCI config without a seccomp profile in it.
    #[error("the OCI config has no linux.seccomp object")]
    MissingSeccomp,
}

/// What a `minKernel` must be (moby `seccomp.go`, `KernelVersion.UnmarshalJSON`).
const KERNEL_FORMAT: &str =
    "a string \"<kernel>.<major>\" of two numbers from 0 to 255, not \"0.0\"";

/// Reads a profile in the format Docker reads: moby's, or, for a whole OCI
/// `config.json` (an object with an `ociVersion` or a `linux` key), the runtime-spec
/// format of its `linux.seccomp`.
///
/// # Example
/// ```
/// use profiles::model::Format;
/// use profiles::parse::{parse_profile, ParseOptions};
///
/// let json = br#"{
///     "defaultAction": "SCMP_ACT_ERRNO",
///     "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}],
///     "errno_ret": 1
/// }"#;
/// let parsed = parse_profile(json, &ParseOptions::default())?;
/// assert_eq!(parsed.format, Format::Moby);
/// assert_eq!(parsed.profile.syscalls[0].names, ["read", "write"]);
/// assert_eq!(parsed.warnings[0].to_string(), r#"unknown key "errno_ret" is ignored"#);
///
/// let err = parse_profile(json, &ParseOptions { strict: true }).unwrap_err();
/// assert_eq!(err.to_string(), r#"unknown key "errno_ret""#);
/// # Ok::<(), profiles::parse::ParseError>(())
/// ```
pub fn parse_profile(bytes: &[u8], options: &ParseOptions) -> Result<Parsed, ParseError> {
    parse(bytes, options, None)
}

/// Reads a profile in the given format. [`Format::Moby`] takes the document as moby's
/// format even if it looks like a `config.json`; [`Format::Oci`] takes a whole
/// `config.json` or a bare `linux.seccomp` object.
///
/// ```
/// use profiles::model::Format;
/// use profiles::parse::{parse_profile_as, ParseOptions};
///
/// // runc's types have no `includes`: the key is ignored, the entry always applies.
/// let json = br#"{"syscalls": [{"names": ["bpf"], "includes": {"caps": ["CAP_BPF"]}}]}"#;
/// let parsed = parse_profile_as(json, &ParseOptions::default(), Format::Oci)?;
/// assert_eq!(parsed.profile.syscalls[0].includes.caps, Vec::<String>::new());
/// # Ok::<(), profiles::parse::ParseError>(())
/// ```
pub fn parse_profile_as(
    bytes: &[u8],
    options: &ParseOptions,
    format: Format,
) -> Result<Parsed, ParseError> {
    parse(bytes, options, Some(format))
}

fn parse(
    bytes: &[u8],
    options: &ParseOptions,
    asked: Option<Format>,
) -> Result<Parsed, ParseError> {
    fast_path(bytes, options, asked).map_or_else(|| tree_path(bytes, options, asked), Ok)
}

/// The profile, when [`stream`] can decode it (well-formed UTF-8 and JSON, values of
/// their fields' types, not a whole `config.json`): it then equals [`tree_path`]'s.
fn fast_path(bytes: &[u8], options: &ParseOptions, asked: Option<Format>) -> Option<Parsed> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (raw, format, warnings) = stream::decode(text, asked, options.strict)?;
    let profile = raw.into_model(format).ok()?;
    Some(Parsed {
        profile,
        format,
        warnings,
    })
}

/// Whether the fast path, where it decodes `bytes` at all, decodes them as the tree
/// decoder does. For tests and fuzzing.
#[doc(hidden)]
pub fn fast_path_agrees(bytes: &[u8], options: &ParseOptions, asked: Option<Format>) -> bool {
    match fast_path(bytes, options, asked) {
        Some(fast) => tree_path(bytes, options, asked).as_ref() == Ok(&fast),
        None => true,
    }
}

/// Whether the fast path decodes `bytes`. For tests.
#[doc(hidden)]
pub fn takes_fast_path(bytes: &[u8], options: &ParseOptions, asked: Option<Format>) -> bool {
    fast_path(bytes, options, asked).is_some()
}

/// The document read into a JSON tree first, then decoded: every document, and every
/// error's message.
fn tree_path(
    bytes: &[u8],
    options: &ParseOptions,
    asked: Option<Format>,
) -> Result<Parsed, ParseError> {
    let strict = options.strict;
    let invalid_utf8 = if strict {
        InvalidUtf8::Reject
    } else {
        InvalidUtf8::Replace
    };
    let document = json::read(bytes, invalid_utf8)?;
    let input = input_kind(&document.value, asked);
    let mut decoder = Decoder::new(input.format(), strict);
    if let Some(json::Position { line, column }) = document.replaced_utf8 {
        decoder.warnings.push(Warning::InvalidUtf8 { line, column });
    }
    let raw = decoder.document(&document.value, input)?;
    let format = decoder.format;
    Ok(Parsed {
        profile: raw.into_model(format)?,
        format,
        warnings: decoder.warnings,
    })
}

/// What the document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Moby,
    OciProfile,
    OciConfig,
}

impl Input {
    fn format(self) -> Format {
        match self {
            Input::Moby => Format::Moby,
            Input::OciProfile | Input::OciConfig => Format::Oci,
        }
    }
}

fn input_kind(value: &Value, format: Option<Format>) -> Input {
    match format {
        Some(Format::Moby) => Input::Moby,
        _ if is_oci_config(value) => Input::OciConfig,
        Some(Format::Oci) => Input::OciProfile,
        None => Input::Moby,
    }
}

/// A whole `config.json`: neither profile format has these keys.
fn is_oci_config(value: &Value) -> bool {
    let Value::Object(members) = value else {
        return false;
    };
    members
        .iter()
        .any(|(key, _)| json::folds_to(key, "ociVersion") || json::folds_to(key, "linux"))
}

/// What puts a message at `path`: nothing at the top level.
fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

/// A string from the input for a message: quoted, escaped, and cut short when long.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 60;
    let head: String = text.chars().take(SHOWN).collect();
    if head.len() < text.len() {
        format!("{head:?}...")
    } else {
        format!("{text:?}")
    }
}

// The profile as Go holds it while decoding. Slices are `GoSlice`s, which remember the
// elements a shorter duplicate array left behind; pointers are `Option`s.

/// moby's `Seccomp`, or the runtime-spec `LinuxSeccomp`.
#[derive(Default)]
struct RawProfile {
    default_action: String,
    default_errno_ret: Option<u64>,
    architectures: GoSlice<String>,
    arch_map: GoSlice<RawArchMap>,
    flags: GoSlice<String>,
    listener_path: String,
    listener_metadata: String,
    /// moby's elements are pointers (`[]*Syscall`), so `null` makes one nil; runc's are
    /// values (`[]LinuxSyscall`), which `null` leaves as they were.
    syscalls: GoSlice<Option<RawEntry>>,
}

/// moby's `Syscall`, or the runtime-spec `LinuxSyscall`.
#[derive(Default)]
struct RawEntry {
    names: GoSlice<SyscallName>,
    name: String,
    action: String,
    errno_ret: Option<u64>,
    args: GoSlice<Arg>,
    comment: String,
    includes: Option<RawFilter>,
    excludes: Option<RawFilter>,
}

/// moby's `Architecture`.
#[derive(Default)]
struct RawArchMap {
    architecture: String,
    sub_architectures: GoSlice<String>,
}

/// moby's `Filter`.
#[derive(Default)]
struct RawFilter {
    caps: GoSlice<String>,
    arches: GoSlice<String>,
    min_kernel: Option<KernelVersion>,
}

/// runc's `Linux`, of which only `seccomp` matters here.
#[derive(Default)]
struct RawLinux {
    seccomp: Option<RawProfile>,
}

impl RawProfile {
    fn into_model(self, format: Format) -> Result<Profile, ParseError> {
        let syscalls = self.syscalls.into_vec().into_iter().enumerate();
        let syscalls = syscalls.map(|(i, entry)| match (entry, format) {
            (Some(entry), _) => Ok(entry.into_model()),
            (None, Format::Oci) => Ok(SyscallEntry::default()),
            // A nil `*Syscall` reaches moby's `setupSeccomp`, whose first look at it
            // (`call.Name`) is a nil dereference: Docker cannot run such a profile.
            (None, Format::Moby) => Err(ParseError::WrongType {
                path: format!("syscalls[{i}]"),
                expected: "an object",
                found: "null".to_owned(),
            }),
        });
        Ok(Profile {
            default_action: self.default_action,
            default_errno_ret: self.default_errno_ret,
            architectures: self.architectures.into_vec(),
            arch_map: self
                .arch_map
                .into_vec()
                .into_iter()
                .map(RawArchMap::into_model)
                .collect(),
            flags: self.flags.into_option(),
            listener_path: self.listener_path,
            listener_metadata: self.listener_metadata,
            syscalls: syscalls.collect::<Result<_, _>>()?,
        })
    }
}

impl RawEntry {
    fn into_model(self) -> SyscallEntry {
        SyscallEntry {
            names: self.names.into_vec(),
            name: self.name,
            action: self.action,
            errno_ret: self.errno_ret,
            args: self.args.into_vec(),
            comment: self.comment,
            includes: self.includes.map(RawFilter::into_model).unwrap_or_default(),
            excludes: self.excludes.map(RawFilter::into_model).unwrap_or_default(),
        }
    }
}

impl RawArchMap {
    fn into_model(self) -> ArchMapEntry {
        ArchMapEntry {
            architecture: self.architecture,
            sub_architectures: self.sub_architectures.into_vec(),
        }
    }
}

impl RawFilter {
    fn into_model(self) -> Filter {
        Filter {
            arches: self.arches.into_vec(),
            caps: self.caps.into_vec(),
            min_kernel: self.min_kernel,
        }
    }
}

// The fields of each type, by their JSON names.

#[derive(Clone, Copy)]
enum ProfileKey {
    DefaultAction,
    DefaultErrnoRet,
    Architectures,
    ArchMap,
    Flags,
    ListenerPath,
    ListenerMetadata,
    Syscalls,
}

const OCI_PROFILE_KEYS: &[(&str, ProfileKey)] = &[
    ("defaultAction", ProfileKey::DefaultAction),
    ("defaultErrnoRet", ProfileKey::DefaultErrnoRet),
    ("architectures", ProfileKey::Architectures),
    ("flags", ProfileKey::Flags),
    ("listenerPath", ProfileKey::ListenerPath),
    ("listenerMetadata", ProfileKey::ListenerMetadata),
    ("syscalls", ProfileKey::Syscalls),
];

const MOBY_PROFILE_KEYS: &[(&str, ProfileKey)] = &[
    ("defaultAction", ProfileKey::DefaultAction),
    ("defaultErrnoRet", ProfileKey::DefaultErrnoRet),
    ("architectures", ProfileKey::Architectures),
    ("archMap", ProfileKey::ArchMap),
    ("flags", ProfileKey::Flags),
    ("listenerPath", ProfileKey::ListenerPath),
    ("listenerMetadata", ProfileKey::ListenerMetadata),
    ("syscalls", ProfileKey::Syscalls),
];

#[derive(Clone, Copy)]
enum EntryKey {
    Names,
    Name,
    Action,
    ErrnoRet,
    Args,
    Comment,
    Includes,
    Excludes,
}

const OCI_ENTRY_KEYS: &[(&str, EntryKey)] = &[
    ("names", EntryKey::Names),
    ("action", EntryKey::Action),
    ("errnoRet", EntryKey::ErrnoRet),
    ("args", EntryKey::Args),
];

const MOBY_ENTRY_KEYS: &[(&str, EntryKey)] = &[
    ("names", EntryKey::Names),
    ("name", EntryKey::Name),
    ("action", EntryKey::Action),
    ("errnoRet", EntryKey::ErrnoRet),
    ("args", EntryKey::Args),
    ("comment", EntryKey::Comment),
    ("includes", EntryKey::Includes),
    ("excludes", EntryKey::Excludes),
];

#[derive(Clone, Copy)]
enum ArgKey {
    Index,
    Value,
    ValueTwo,
    Op,
}

const ARG_KEYS: &[(&str, ArgKey)] = &[
    ("index", ArgKey::Index),
    ("value", ArgKey::Value),
    ("valueTwo", ArgKey::ValueTwo),
    ("op", ArgKey::Op),
];

#[derive(Clone, Copy)]
enum ArchMapKey {
    Architecture,
    SubArchitectures,
}

const ARCH_MAP_KEYS: &[(&str, ArchMapKey)] = &[
    ("architecture", ArchMapKey::Architecture),
    ("subArchitectures", ArchMapKey::SubArchitectures),
];

#[derive(Clone, Copy)]
enum FilterKey {
    Caps,
    Arches,
    MinKernel,
}

const FILTER_KEYS: &[(&str, FilterKey)] = &[
    ("caps", FilterKey::Caps),
    ("arches", FilterKey::Arches),
    ("minKernel", FilterKey::MinKernel),
];

/// 2^64 as an `f64`, the first number an unsigned 64-bit field cannot hold. serde_json
/// reports integers from there on as floats.
const TWO_TO_THE_64: f64 = 18_446_744_073_709_551_616.0;

/// One step of a JSON location.
#[derive(Clone, Copy)]
enum Step {
    Key(&'static str),
    Index(usize),
}

/// The location `path` leads to: `syscalls[3].args[0].op`.
fn location_of(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What decoding one value into its place gives.
type Decoded = Result<(), ParseError>;

/// The fields one object has given so far, to warn once of each field given twice.
/// Every type has at most eight fields, each named by a distinct `&'static str`.
#[derive(Default)]
struct Seen {
    names: [&'static str; 8],
    len: usize,
    /// Bit `i` is set once `names[i]` has been warned of.
    warned: u8,
}

impl Seen {
    /// Records `name`; `true` the second time it is given (not the third or later).
    fn again(&mut self, name: &'static str) -> bool {
        let known = self.names.get(..self.len).unwrap_or_default();
        match known.iter().position(|&n| n == name) {
            Some(i) => {
                let bit = 1_u8 << i;
                let first_repeat = self.warned & bit == 0;
                self.warned |= bit;
                first_repeat
            }
            None => {
                if let Some(slot) = self.names.get_mut(self.len) {
                    *slot = name;
                    self.len += 1;
                }
                false
            }
        }
    }
}

/// Walks the JSON value into the raw types, keeping the location for messages.
struct Decoder {
    format: Format,
    strict: bool,
    path: Vec<Step>,
    warnings: Vec<Warning>,
}

impl Decoder {
    fn new(format: Format, strict: bool) -> Decoder {
        Decoder {
            format,
            strict,
            path: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The whole document, as `input` says to read it.
    fn document(&mut self, value: &Value, input: Input) -> Result<RawProfile, ParseError> {
        match input {
            Input::Moby | Input::OciProfile => {
                let mut raw = RawProfile::default();
                self.profile(&mut raw, value)?;
                Ok(raw)
            }
            Input::OciConfig => self.config_seccomp(value),
        }
    }

    /// The current location: `syscalls[3].args[0].op`.
    fn location(&self) -> String {
        location_of(&self.path)
    }

    /// Runs `decode` one step further into the document.
    fn within<R>(
        &mut self,
        step: Step,
        decode: impl FnOnce(&mut Self) -> Result<R, ParseError>,
    ) -> Result<R, ParseError> {
        self.path.push(step);
        let result = decode(self);
        self.path.pop();
        result
    }

    fn wrong_type(&self, expected: &'static str, found: &Value) -> ParseError {
        let path = self.location();
        ParseError::WrongType {
            path,
            expected,
            found: found.describe(),
        }
    }

    /// A Go struct value: each member decoded in order into the field its key matches.
    /// `null` leaves the struct as it was.
    fn object<K: Copy>(
        &mut self,
        value: &Value,
        keys: &[(&'static str, K)],
        mut member: impl FnMut(&mut Self, K, &Value) -> Decoded,
    ) -> Decoded {
        let members = match value {
            Value::Null => return Ok(()),
            Value::Object(members) => members,
            other => return Err(self.wrong_type("an object", other)),
        };
        let mut seen = Seen::default();
        for (key, item) in members {
            let Some((name, tag, how)) = json::match_key(key, keys) else {
                self.unknown_key(key)?;
                continue;
            };
            self.within(Step::Key(name), |d| {
                d.note_key(key, name, how, &mut seen);
                member(d, tag, item)
            })?;
        }
        Ok(())
    }

    fn unknown_key(&mut self, key: &str) -> Decoded {
        let (path, key) = (self.location(), key.to_owned());
        if self.strict {
            return Err(ParseError::UnknownKey { path, key });
        }
        self.warnings.push(Warning::UnknownKey { path, key });
        Ok(())
    }

    /// Warns of a key matched ignoring case, and of the second time a field is given.
    fn note_key(&mut self, key: &str, name: &'static str, how: KeyMatch, seen: &mut Seen) {
        if how == KeyMatch::Folded {
            let path = self.location();
            self.warnings.push(Warning::KeyCase {
                path,
                key: key.to_owned(),
            });
        }
        if seen.again(name) {
            self.warnings.push(Warning::DuplicateKey {
                path: self.location(),
            });
        }
    }

    /// A Go `string`: `null` leaves it as it was.
    fn string(&self, target: &mut String, value: &Value) -> Decoded {
        match value {
            Value::Null => Ok(()),
            Value::String(s) => {
                target.clear();
                target.push_str(s);
                Ok(())
            }
            other => Err(self.wrong_type("a string", other)),
        }
    }

    /// A Go slice: `null` makes it nil, an array is decoded element by element over it.
    fn slice<T: Default>(
        &mut self,
        target: &mut GoSlice<T>,
        value: &Value,
        mut element: impl FnMut(&mut Self, &mut T, &Value) -> Decoded,
    ) -> Decoded {
        match value {
            Value::Null => {
                target.set_nil();
                Ok(())
            }
            Value::Array(items) => target.decode_array(items, |i, slot, item| {
                self.within(Step::Index(i), |d| element(d, slot, item))
            }),
            other => Err(self.wrong_type("an array", other)),
        }
    }

    /// A Go `string` holding a syscall name: `null` leaves it as it was.
    fn syscall_name(&mut self, target: &mut SyscallName, value: &Value) -> Decoded {
        match value {
            Value::Null => Ok(()),
            Value::String(s) => {
                *target = SyscallName::new(s);
                Ok(())
            }
            other => Err(self.wrong_type("a string", other)),
        }
    }

    /// A Go `[]string`.
    fn strings(&mut self, target: &mut GoSlice<String>, value: &Value) -> Decoded {
        self.slice(target, value, |d, slot, item| d.string(slot, item))
    }

    /// A Go `uint` or `uint64`: `null` leaves it as it was.
    fn unsigned(&self, target: &mut u64, value: &Value) -> Decoded {
        if *value != Value::Null {
            *target = self.unsigned_number(value)?;
        }
        Ok(())
    }

    /// A Go `*uint`: `null` makes it nil.
    fn optional_unsigned(&self, target: &mut Option<u64>, value: &Value) -> Decoded {
        *target = match value {
            Value::Null => None,
            other => Some(self.unsigned_number(other)?),
        };
        Ok(())
    }

    /// What Go's `strconv.ParseUint(text, 10, 64)` accepts: digits only, below 2^64.
    fn unsigned_number(&self, value: &Value) -> Result<u64, ParseError> {
        const WHOLE: &str = "an unsigned integer without fraction or exponent";
        match value {
            Value::Number(Number::Unsigned(n)) => Ok(*n),
            Value::Number(number @ Number::Float(x)) if *x >= TWO_TO_THE_64 => {
                let found = number.to_string();
                Err(ParseError::OutOfRange {
                    path: self.location(),
                    found,
                })
            }
            Value::Number(Number::Float(x)) if x.is_sign_positive() => {
                Err(self.wrong_type(WHOLE, value))
            }
            other => Err(self.wrong_type("an unsigned integer", other)),
        }
    }

    /// moby's `*KernelVersion`. `null` makes it nil; anything else goes to its
    /// `UnmarshalJSON`, which Go calls after allocating the pointer. That method returns
    /// early on `""`, which leaves a fresh version at 0.0 and an existing one unchanged.
    fn min_kernel(&mut self, target: &mut Option<KernelVersion>, value: &Value) -> Decoded {
        let found = match value {
            Value::Null => {
                *target = None;
                return Ok(());
            }
            Value::String(text) if text.is_empty() => {
                if target.is_none() {
                    let path = self.location();
                    self.warnings.push(Warning::EmptyMinKernel { path });
                    *target = Some(KernelVersion {
                        kernel: 0,
                        major: 0,
                    });
                }
                return Ok(());
            }
            Value::String(text) => match parse_min_kernel(text) {
                Some(version) => {
                    *target = Some(version);
                    return Ok(());
                }
                None => quoted(text),
            },
            other => other.describe(),
        };
        Err(ParseError::BadMinKernel {
            path: self.location(),
            found,
        })
    }

    /// The top-level object of either profile format.
    fn profile(&mut self, profile: &mut RawProfile, value: &Value) -> Decoded {
        let keys = match self.format {
            Format::Moby => MOBY_PROFILE_KEYS,
            Format::Oci => OCI_PROFILE_KEYS,
        };
        self.object(value, keys, |d, key, item| match key {
            ProfileKey::DefaultAction => d.string(&mut profile.default_action, item),
            ProfileKey::DefaultErrnoRet => {
                d.optional_unsigned(&mut profile.default_errno_ret, item)
            }
            ProfileKey::Architectures => d.strings(&mut profile.architectures, item),
            ProfileKey::ArchMap => d.slice(&mut profile.arch_map, item, Self::arch_map),
            ProfileKey::Flags => d.strings(&mut profile.flags, item),
            ProfileKey::ListenerPath => d.string(&mut profile.listener_path, item),
            ProfileKey::ListenerMetadata => d.string(&mut profile.listener_metadata, item),
            ProfileKey::Syscalls => d.slice(&mut profile.syscalls, item, Self::syscall),
        })
    }

    fn arch_map(&mut self, entry: &mut RawArchMap, value: &Value) -> Decoded {
        self.object(value, ARCH_MAP_KEYS, |d, key, item| match key {
            ArchMapKey::Architecture => d.string(&mut entry.architecture, item),
            ArchMapKey::SubArchitectures => d.strings(&mut entry.sub_architectures, item),
        })
    }

    /// One element of `syscalls`.
    fn syscall(&mut self, slot: &mut Option<RawEntry>, value: &Value) -> Decoded {
        match (value, self.format) {
            (Value::Null, Format::Moby) => {
                *slot = None;
                Ok(())
            }
            (Value::Null, Format::Oci) => Ok(()),
            (other, _) => self.entry(slot.get_or_insert_with(RawEntry::default), other),
        }
    }

    fn entry(&mut self, entry: &mut RawEntry, value: &Value) -> Decoded {
        let keys = match self.format {
            Format::Moby => MOBY_ENTRY_KEYS,
            Format::Oci => OCI_ENTRY_KEYS,
        };
        self.object(value, keys, |d, key, item| match key {
            EntryKey::Names => d.slice(&mut entry.names, item, Self::syscall_name),
            EntryKey::Name => d.string(&mut entry.name, item),
            EntryKey::Action => d.string(&mut entry.action, item),
            EntryKey::ErrnoRet => d.optional_unsigned(&mut entry.errno_ret, item),
            EntryKey::Args => d.slice(&mut entry.args, item, Self::arg),
            EntryKey::Comment => d.string(&mut entry.comment, item),
            EntryKey::Includes => d.filter(&mut entry.includes, item),
            EntryKey::Excludes => d.filter(&mut entry.excludes, item),
        })
    }

    fn arg(&mut self, arg: &mut Arg, value: &Value) -> Decoded {
        self.object(value, ARG_KEYS, |d, key, item| match key {
            ArgKey::Index => d.unsigned(&mut arg.index, item),
            ArgKey::Value => d.unsigned(&mut arg.value, item),
            ArgKey::ValueTwo => d.unsigned(&mut arg.value_two, item),
            ArgKey::Op => d.string(&mut arg.op, item),
        })
    }

    /// An `includes` or `excludes` pointer: `null` makes it nil, an object is decoded
    /// into the filter already there or a new one.
    fn filter(&mut self, target: &mut Option<RawFilter>, value: &Value) -> Decoded {
        if *value == Value::Null {
            *target = None;
            return Ok(());
        }
        let filter = target.get_or_insert_with(RawFilter::default);
        self.object(value, FILTER_KEYS, |d, key, item| match key {
            FilterKey::Caps => d.strings(&mut filter.caps, item),
            FilterKey::Arches => d.strings(&mut filter.arches, item),
            FilterKey::MinKernel => d.min_kernel(&mut filter.min_kernel, item),
        })
    }

    /// The `linux.seccomp` of a whole `config.json`, decoded as runc decodes its `Spec`
    /// (`Linux` and `Seccomp` are pointers). The rest of the config is not read: runc
    /// would refuse a config with a wrong type elsewhere, say a number as `hostname`,
    /// which we accept because only the profile matters here.
    fn config_seccomp(&mut self, config: &Value) -> Result<RawProfile, ParseError> {
        let Value::Object(members) = config else {
            return Err(self.wrong_type("an object", config));
        };
        let mut linux: Option<RawLinux> = None;
        for (key, value) in members {
            if json::folds_to(key, "linux") {
                self.within(Step::Key("linux"), |d| d.linux(&mut linux, value))?;
            }
        }
        let seccomp = linux.and_then(|linux| linux.seccomp);
        seccomp.ok_or(ParseError::MissingSeccomp)
    }

    fn linux(&mut self, linux: &mut Option<RawLinux>, value: &Value) -> Decoded {
        let members = match value {
            Value::Null => {
                *linux = None;
                return Ok(());
            }
            Value::Object(members) => members,
            other => return Err(self.wrong_type("an object", other)),
        };
        let linux = linux.get_or_insert_with(RawLinux::default);
        for (key, value) in members {
            if json::folds_to(key, "seccomp") {
                self.within(Step::Key("seccomp"), |d| {
                    d.seccomp(&mut linux.seccomp, value)
                })?;
            }
        }
        Ok(())
    }

    fn seccomp(&mut self, seccomp: &mut Option<RawProfile>, value: &Value) -> Decoded {
        if *value == Value::Null {
            *seccomp = None;
            return Ok(());
        }
        self.profile(seccomp.get_or_insert_with(RawProfile::default), value)
    }
}
