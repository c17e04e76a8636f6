//! `--merge FILE`: the rules of a profile an earlier `seclaunch record` wrote without
//! `--base`, to be allowed again. Such a profile holds only ALLOW entries with at most
//! one EQ or MASKED_EQ condition, and nothing else is taken: merging is the union of
//! what the recordings allowed, and `--base` applies to that union.

use std::path::Path;

use profiles::model::{Filter, SyscallEntry};
use profiles::parse::{parse_profile, ParseOptions};

use super::rules::{Condition, Rule, Rules};
use super::RecordError;
use crate::error::Error;

/// The rules of the recorded profile at `path`.
pub fn read(path: &Path) -> Result<Rules, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadProfile {
        path: path.to_path_buf(),
        source,
    })?;
    let parsed = parse_profile(&bytes, &ParseOptions::default()).map_err(|e| {
        Error::from(profiles::Error {
            source_name: path.display().to_string(),
            kind: Box::new(e.into()),
        })
    })?;
    let mut rules = Rules::default();
    for (i, entry) in parsed.profile.syscalls.iter().enumerate() {
        let fail = |field: &str, reason: String| RecordError::Merge {
            path: path.to_path_buf(),
            location: format!("syscalls[{i}]{field}"),
            reason,
        };
        for rule in entry_rules(entry).map_err(|(field, reason)| fail(field, reason))? {
            rules.insert(rule);
        }
    }
    Ok(rules)
}

/// The rules of one entry, or the field that `seclaunch record` never writes so and
/// why.
fn entry_rules(entry: &SyscallEntry) -> Result<Vec<Rule>, (&'static str, String)> {
    if entry.action != "SCMP_ACT_ALLOW" {
        return Err((
            ".action",
            format!("{:?} is not SCMP_ACT_ALLOW", entry.action),
        ));
    }
    if entry.includes != Filter::default() || entry.excludes != Filter::default() {
        return Err(("", "the entry has includes or excludes".to_string()));
    }
    let condition = match entry.args.as_slice() {
        [] => None,
        [arg] => Some(condition(arg).map_err(|reason| (".args[0]", reason))?),
        _ => return Err((".args", "more than one condition".to_string())),
    };
    let names = entry
        .names
        .iter()
        .map(|name| name.as_str())
        .chain(Some(entry.name.as_str()).filter(|name| !name.is_empty()));
    Ok(names
        .map(|name| Rule {
            name: name.to_string(),
            condition,
        })
        .collect())
}

fn condition(arg: &profiles::model::Arg) -> Result<Condition, String> {
    let index = u8::try_from(arg.index)
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| format!("index {} is not an argument", arg.index))?;
    match arg.op.as_str() {
        "SCMP_CMP_EQ" => Ok(Condition::Eq {
            index,
            value: arg.value,
        }),
        "SCMP_CMP_MASKED_EQ" => Ok(Condition::MaskedEq {
            index,
            mask: arg.value,
            value: arg.value_two,
        }),
        op => Err(format!("operator {op:?} is not EQ or MASKED_EQ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> Result<Vec<Rule>, (&'static str, String)> {
        let text = format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{json}]}}"#);
        let parsed = parse_profile(text.as_bytes(), &ParseOptions::default()).unwrap();
        entry_rules(&parsed.profile.syscalls[0])
    }

    #[test]
    fn recorded_entries_read_back_as_their_rules() {
        let rules = entry(
            r#"{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0,
                "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}"#,
        )
        .unwrap();
        let shown: Vec<String> = rules.iter().map(Rule::to_string).collect();
        assert_eq!(shown, ["clone(arg0 & 0x7e020000 == 0x0)"]);
        let plain = entry(r#"{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}"#);
        assert_eq!(plain.unwrap(), [Rule::named("read"), Rule::named("write")]);
    }

    #[test]
    fn entries_record_never_writes_are_refused() {
        let errno = entry(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO"}"#);
        assert_eq!(errno.unwrap_err().0, ".action");
        let caps = entry(
            r#"{"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_BPF"]}}"#,
        );
        assert!(caps.unwrap_err().1.contains("includes"));
        let op = entry(
            r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}"#,
        );
        assert_eq!(op.unwrap_err().0, ".args[0]");
    }
}
