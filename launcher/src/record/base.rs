//! `--base PROFILE`: which recorded calls the base profile denies, decided by the base's
//! own compiled filter in [`profiles::interp`], as the kernel would decide them.

use profiles::action::Action;
use profiles::arch::Abi;
use profiles::bpf::sock_filter;
use profiles::interp::{self, SeccompData};
use profiles::json::{self, InvalidUtf8, Value};
use profiles::{syscalls, Options, DEFAULT_PROFILE};

use super::rules::{Rule, Rules};
use super::RecordError;
use crate::error::Error;
use crate::profile_source::ProfileSource;

/// A base profile: its document as written, and its filter under the launch's options.
pub struct Base {
    pub name: String,
    pub document: Value<'static>,
    program: Vec<sock_filter>,
}

/// What the base lacks.
#[derive(Debug, Default)]
pub struct Missing {
    /// The rules to add.
    pub added: Rules,
    /// `clone3`, when the base answers it with ENOSYS and it is not added: glibc (2.34
    /// and later) and musl take ENOSYS to mean an older kernel and fall back to
    /// `clone`, whose flags the base can check, where allowing `clone3` would allow any
    /// namespace flag, which no filter can read in `clone3`'s memory.
    pub left_to_enosys: Vec<Rule>,
}

impl Base {
    /// Reads and builds `source` under `options`.
    pub fn load(source: &ProfileSource, options: &Options) -> Result<Base, Error> {
        let name = source.name();
        let bytes = match source {
            ProfileSource::Default => DEFAULT_PROFILE.as_bytes().to_vec(),
            ProfileSource::Unconfined => Vec::new(),
            ProfileSource::File(path) => {
                std::fs::read(path).map_err(|source| Error::ReadProfile {
                    path: path.clone(),
                    source,
                })?
            }
        };
        let unconfined = || Error::Unconfined {
            profile: name.clone(),
            action: "add the recorded calls to",
        };
        if *source == ProfileSource::Unconfined {
            return Err(unconfined());
        }
        let built = profiles::build(&bytes, &name, options)?;
        let (_, compiled) = built.filter.ok_or_else(unconfined)?;
        interp::validate(&compiled.program).map_err(RecordError::BaseFilter)?;
        // The build read the same bytes, so reading them again succeeds.
        let document = json::read(&bytes, InvalidUtf8::Replace)
            .map_err(|e| RecordError::BaseDocument {
                name: name.clone(),
                reason: e.to_string(),
            })?
            .value
            .into_owned();
        if let Value::Object(members) = &document {
            if members.iter().any(|(key, _)| key == "linux") {
                return Err(RecordError::BaseDocument {
                    name,
                    reason: "a whole config.json: give its linux.seccomp object alone".to_string(),
                }
                .into());
            }
        }
        Ok(Base {
            name,
            document,
            program: compiled.program,
        })
    }

    /// The rules of the calls the base denies: each recorded call decided with the
    /// arguments of its first occurrence, and each rule without a call (merged, or the
    /// launch's) with the values of its condition and zeros elsewhere, on every ABI of
    /// `native`'s family that has the syscall.
    pub fn missing(
        &self,
        native: Abi,
        calls: impl Iterator<Item = (Rule, SeccompData)>,
        rules: &Rules,
    ) -> Missing {
        let mut missing = Missing::default();
        let mut add = |rule: Rule, decisions: Vec<Action>| {
            if decisions
                .iter()
                .all(|d| matches!(d, Action::Allow | Action::Log))
            {
                return;
            }
            let enosys = Action::Errno(libc::ENOSYS as u16);
            if rule.name == "clone3" && decisions.iter().all(|d| *d == enosys) {
                if !missing.left_to_enosys.contains(&rule) {
                    missing.left_to_enosys.push(rule);
                }
                return;
            }
            missing.added.insert(rule);
        };
        for (rule, data) in calls {
            let decision = self.decide(&data);
            add(rule, vec![decision]);
        }
        for rule in rules.iter() {
            let decisions = self
                .examples(native, rule)
                .map(|d| self.decide(&d))
                .collect();
            add(rule.clone(), decisions);
        }
        missing
    }

    fn examples<'r>(&self, native: Abi, rule: &'r Rule) -> impl Iterator<Item = SeccompData> + 'r {
        let mut args = [0u64; 6];
        if let Some(condition) = rule.condition {
            let (index, value) = condition.example();
            args[index] = value;
        }
        native.family().iter().filter_map(move |abi| {
            let nr = syscalls::number(*abi, &rule.name)?;
            Some(SeccompData::new(*abi, nr, args))
        })
    }

    fn decide(&self, data: &SeccompData) -> Action {
        Action::from_ret(interp::run_unchecked(&self.program, data).ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::rules::{Condition, NAMESPACE_FLAGS};

    fn default_base() -> Base {
        Base::load(&ProfileSource::Default, &Options::for_this_host()).expect("builds")
    }

    #[test]
    fn the_default_lacks_what_it_denies_and_keeps_clone3_at_enosys() {
        let namespaces = Rule {
            name: "clone".to_string(),
            condition: Some(Condition::MaskedEq {
                index: 0,
                mask: NAMESPACE_FLAGS,
                value: 0x1000_0000,
            }),
        };
        let threads = Rule {
            name: "clone".to_string(),
            condition: Some(Condition::MaskedEq {
                index: 0,
                mask: NAMESPACE_FLAGS,
                value: 0,
            }),
        };
        let rules: Rules = [
            Rule::named("read"),
            Rule::named("reboot"),
            Rule::named("clone3"),
            namespaces.clone(),
            threads,
        ]
        .into_iter()
        .collect();
        let missing = default_base().missing(Abi::X86_64, std::iter::empty(), &rules);
        let added: Vec<&Rule> = missing.added.iter().collect();
        assert_eq!(added, [&namespaces, &Rule::named("reboot")]);
        assert_eq!(missing.left_to_enosys, [Rule::named("clone3")]);
    }

    #[test]
    fn a_recorded_call_is_decided_with_its_own_arguments() {
        let nr = syscalls::number(Abi::X86_64, "personality").unwrap();
        let allowed = SeccompData::new(Abi::X86_64, nr, [0xffff_ffff, 0, 0, 0, 0, 0]);
        let denied = SeccompData::new(Abi::X86_64, nr, [0x40_0000, 0, 0, 0, 0, 0]);
        let rule = |value| Rule {
            name: "personality".to_string(),
            condition: Some(Condition::Eq { index: 0, value }),
        };
        let calls = vec![(rule(0xffff_ffff), allowed), (rule(0x40_0000), denied)];
        let missing = default_base().missing(Abi::X86_64, calls.into_iter(), &Rules::default());
        assert_eq!(missing.added.iter().collect::<Vec<_>>(), [&rule(0x40_0000)]);
    }
}
