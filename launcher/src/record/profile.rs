//! The profile record mode writes, in Docker's format: a deny-by-default profile for
//! the native family with one ALLOW entry per group of rules, or a base profile with
//! such entries appended. Values are [`profiles::json::Value`]s, which keep a base's
//! members in the order it wrote them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use profiles::arch::Abi;
use profiles::json::{Number, Value};

use super::rules::{Condition, Rule, Rules};

/// The minimal profile: denied with EPERM unless a rule allows it, as Docker's default
/// denies, on the native ABI and the others of its family (its `archMap` entry).
pub fn minimal(native: Abi, entries: Vec<Value<'static>>) -> Value<'static> {
    let family = native.family();
    let main = family[0];
    let subs = family[1..]
        .iter()
        .map(|abi| string(abi.arch().scmp_name()))
        .collect();
    let arch_map = object(vec![
        ("architecture", string(main.arch().scmp_name())),
        ("subArchitectures", Value::Array(subs)),
    ]);
    object(vec![
        ("defaultAction", string("SCMP_ACT_ERRNO")),
        ("defaultErrnoRet", number(1)),
        ("archMap", Value::Array(vec![arch_map])),
        ("syscalls", Value::Array(entries)),
    ])
}

/// ALLOW entries for `rules`: one for the names allowed outright, then one per
/// condition, naming every syscall allowed under it.
pub fn entries(rules: &Rules, comment: &str) -> Vec<Value<'static>> {
    let mut outright = Vec::new();
    let mut by_condition: BTreeMap<Condition, Vec<&str>> = BTreeMap::new();
    for rule in rules.iter() {
        match rule.condition {
            None => outright.push(rule.name.as_str()),
            Some(condition) => by_condition.entry(condition).or_default().push(&rule.name),
        }
    }
    let mut out = Vec::new();
    if !outright.is_empty() {
        out.push(entry(&outright, None, comment));
    }
    for (condition, names) in by_condition {
        out.push(entry(&names, Some(condition), comment));
    }
    out
}

fn entry(names: &[&str], condition: Option<Condition>, comment: &str) -> Value<'static> {
    let names = names.iter().map(|name| string(name)).collect();
    let mut members = vec![
        ("comment", string(comment)),
        ("names", Value::Array(names)),
        ("action", string("SCMP_ACT_ALLOW")),
    ];
    if let Some(condition) = condition {
        members.push(("args", Value::Array(vec![arg(condition)])));
    }
    object(members)
}

/// One `args` element. libseccomp's MASKED_EQ takes the mask as `value` and the
/// masked value as `valueTwo`, as Docker's `clone` rule writes them.
fn arg(condition: Condition) -> Value<'static> {
    let (index, value, value_two, op) = match condition {
        Condition::Eq { index, value } => (index, value, 0, "SCMP_CMP_EQ"),
        Condition::MaskedEq { index, mask, value } => (index, mask, value, "SCMP_CMP_MASKED_EQ"),
    };
    object(vec![
        ("index", number(u64::from(index))),
        ("value", number(value)),
        ("valueTwo", number(value_two)),
        ("op", string(op)),
    ])
}

/// `base` with `added` appended to its `syscalls`: the last member of that name, which
/// is the one Go's decoder leaves in force; one is made when there is none, or it is
/// `null`. `None` when the document is not an object or `syscalls` is not an array.
pub fn with_added(base: Value<'static>, added: Vec<Value<'static>>) -> Option<Value<'static>> {
    let Value::Object(mut members) = base else {
        return None;
    };
    let last = members.iter().rposition(|(key, _)| key == "syscalls");
    match last.map(|i| &mut members[i].1) {
        Some(Value::Array(entries)) => entries.extend(added),
        Some(value @ Value::Null) => *value = Value::Array(added),
        Some(_) => return None,
        None => members.push((Cow::Borrowed("syscalls"), Value::Array(added))),
    }
    Some(Value::Object(members))
}

/// The names of `rules`, as the summary lists them.
pub fn rule_list(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(Rule::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn object(members: Vec<(&'static str, Value<'static>)>) -> Value<'static> {
    Value::Object(
        members
            .into_iter()
            .map(|(key, value)| (Cow::Borrowed(key), value))
            .collect(),
    )
}

fn string(text: &str) -> Value<'static> {
    Value::String(Cow::Owned(text.to_string()))
}

fn number(n: u64) -> Value<'static> {
    Value::Number(Number::Unsigned(n))
}

/// The document as text, indented by two spaces as Docker's default is; arrays of
/// scalars stay on one line.
pub fn to_text(value: &Value<'_>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value<'_>, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.iter().all(is_scalar) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Array(items) => {
            write_block(out, depth, '[', ']', items, |out, item| {
                write_value(out, item, depth + 1)
            });
        }
        Value::Object(members) => {
            write_block(out, depth, '{', '}', members, |out, (key, value)| {
                write_string(out, key);
                out.push_str(": ");
                write_value(out, value, depth + 1);
            });
        }
    }
}

fn write_block<T>(
    out: &mut String,
    depth: usize,
    open: char,
    close: char,
    items: &[T],
    mut write: impl FnMut(&mut String, &T),
) {
    if items.is_empty() {
        out.push(open);
        out.push(close);
        return;
    }
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i > 0 { ",\n" } else { "\n" });
        out.push_str(&"  ".repeat(depth + 1));
        write(out, item);
    }
    out.push('\n');
    out.push_str(&"  ".repeat(depth));
    out.push(close);
}

fn is_scalar(value: &Value<'_>) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// A JSON string: `"` and `\` escaped, control characters as `\u00XX`.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use profiles::json::{read, InvalidUtf8};

    use super::*;

    fn rules() -> Rules {
        [
            Rule::named("read"),
            Rule::named("write"),
            Rule {
                name: "personality".to_string(),
                condition: Some(Condition::Eq {
                    index: 0,
                    value: 0xffff_ffff,
                }),
            },
            Rule {
                name: "clone".to_string(),
                condition: Some(Condition::MaskedEq {
                    index: 0,
                    mask: 0x7E02_0000,
                    value: 0,
                }),
            },
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn the_written_text_reads_back_as_the_same_document() {
        let value = minimal(Abi::X86_64, entries(&rules(), "a \"quoted\"\tcomment"));
        let text = to_text(&value);
        let back = read(text.as_bytes(), InvalidUtf8::Reject).expect("valid JSON");
        assert_eq!(back.value, value);
        assert!(text.contains(r#""names": ["read", "write"]"#), "{text}");
    }

    #[test]
    fn each_condition_gets_its_own_entry() {
        let entries = entries(&rules(), "c");
        assert_eq!(entries.len(), 3);
        let text = to_text(&Value::Array(entries));
        assert!(text.contains(r#""value": 2114060288"#), "{text}");
        assert!(text.contains(r#""op": "SCMP_CMP_MASKED_EQ""#), "{text}");
    }

    #[test]
    fn added_entries_go_after_the_last_syscalls_member() {
        let base = read(
            br#"{"syscalls": [], "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"]}]}"#,
            InvalidUtf8::Reject,
        )
        .unwrap()
        .value
        .into_owned();
        let added = with_added(base, entries(&rules(), "c")).expect("an object");
        let Value::Object(members) = &added else {
            panic!("not an object")
        };
        assert_eq!(members[0].1, Value::Array(vec![]));
        let Value::Array(last) = &members[2].1 else {
            panic!("not an array")
        };
        assert_eq!(last.len(), 4);
        let empty = read(br#"{"syscalls": null}"#, InvalidUtf8::Reject).unwrap();
        assert!(with_added(empty.value.into_owned(), vec![]).is_some());
        let wrong = read(br#"{"syscalls": 3}"#, InvalidUtf8::Reject).unwrap();
        assert!(with_added(wrong.value.into_owned(), vec![]).is_none());
    }
}
