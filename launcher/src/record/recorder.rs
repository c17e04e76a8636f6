//! The listener's side of record mode: each call the program makes is written down
//! with the argument values its rule keeps, then let run.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::{Arc, Mutex};

use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::interp::SeccompData;
use profiles::syscalls;

use super::rules::{self, Condition, Rule, Rules};
use crate::report::{abi_of, Answer, Handler, Notification};

/// One kind of call seen: its ABI, its number and what its rule keeps of the arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Kind {
    abi: Abi,
    nr: u32,
    detail: Option<Condition>,
}

/// Every kind of call the program made.
#[derive(Debug, Default)]
pub struct Recording {
    /// Each kind with the first call of it, which `--base` decides.
    calls: HashMap<Kind, SeccompData>,
    /// Calls of numbers their ABI does not name, which no profile can name either.
    pub unnamed: BTreeSet<(Abi, u32)>,
    /// Why the listener stopped, if it did before the program ended.
    pub failure: Option<String>,
}

impl Recording {
    /// Writes one call down.
    fn add(&mut self, data: &SeccompData) {
        let Some(abi) = abi_of(data.arch, data.nr) else {
            return;
        };
        let Some(name) = syscalls::name(abi, data.nr) else {
            self.unnamed.insert((abi, data.nr & !X32_SYSCALL_BIT));
            return;
        };
        let kind = Kind {
            abi,
            nr: data.nr,
            detail: rules::detail(abi, name, &data.args),
        };
        self.calls.entry(kind).or_insert(*data);
    }

    /// The rules that allow every call seen.
    pub fn rules(&self) -> Rules {
        self.calls().map(|(rule, _)| rule).collect()
    }

    /// Each kind of call's rule, with the first call of the kind.
    pub fn calls(&self) -> impl Iterator<Item = (Rule, SeccompData)> + '_ {
        self.calls.iter().filter_map(|(kind, data)| {
            let name = syscalls::name(kind.abi, kind.nr)?;
            Some((rules::rule_of(kind.abi, name, kind.detail), *data))
        })
    }
}

/// Record mode's [`Handler`]: every call runs; the program's are written down first.
pub struct Recorder {
    pub recording: Arc<Mutex<Recording>>,
}

impl Handler for Recorder {
    fn answer(&mut self, notification: &Notification, own_call: bool) -> Answer {
        // The launcher's calls before execve, execve included, are not the program's.
        if !own_call {
            if let Ok(mut recording) = self.recording.lock() {
                recording.add(&notification.data);
            }
        }
        Answer::Continue
    }

    fn failed(&mut self, err: &io::Error) {
        if let Ok(mut recording) = self.recording.lock() {
            recording.failure = Some(err.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use profiles::interp::SeccompData;

    use super::*;

    fn notification(abi: Abi, name: &str, args: [u64; 6]) -> Notification {
        let nr = syscalls::number(abi, name).expect("a syscall of the ABI");
        Notification {
            id: 1,
            tid: 7,
            data: SeccompData::new(abi, nr, args),
        }
    }

    #[test]
    fn the_programs_calls_are_recorded_and_the_launchers_are_not() {
        let recording = Arc::new(Mutex::new(Recording::default()));
        let mut recorder = Recorder {
            recording: Arc::clone(&recording),
        };
        let calls = [
            (notification(Abi::X86_64, "read", [0; 6]), true),
            (notification(Abi::X86_64, "execve", [0; 6]), true),
            (notification(Abi::X86_64, "getpid", [0; 6]), false),
            (notification(Abi::X86_64, "getpid", [1; 6]), false),
            (
                notification(Abi::X86, "socketcall", [1, 0, 0, 0, 0, 0]),
                false,
            ),
            (
                notification(Abi::X86_64, "personality", [8, 0, 0, 0, 0, 0]),
                false,
            ),
        ];
        for (call, own) in &calls {
            assert_eq!(recorder.answer(call, *own), Answer::Continue);
        }
        let unnamed = Notification {
            data: SeccompData::new(Abi::X86_64, 1000, [0; 6]),
            ..calls[0].0
        };
        recorder.answer(&unnamed, false);
        let recording = recording.lock().unwrap();
        let rules: Vec<String> = recording.rules().iter().map(Rule::to_string).collect();
        assert_eq!(rules, ["getpid", "personality(arg0 == 0x8)", "socket"]);
        assert_eq!(
            recording.unnamed.iter().collect::<Vec<_>>(),
            [&(Abi::X86_64, 1000)]
        );
    }
}
