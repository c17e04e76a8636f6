//! What the report prints: one line the first time a (syscall, ABI, decision) is seen,
//! and at exit how the program ended and a table of every denied syscall.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;

use profiles::action::Action;

use super::decode::{abi_text, syscall_name};
use crate::errno::action_text;

/// Where report lines go.
pub enum Sink {
    Stderr,
    File(File),
    /// Nowhere: record mode supervises without a report.
    Discard,
}

impl Sink {
    /// Writes one line. A report that cannot be written must not stop the supervisor,
    /// which the program depends on, so failures are dropped.
    fn line(&mut self, text: &str) {
        let line = format!("seclaunch: {text}\n");
        let _ = match self {
            Sink::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
            Sink::File(file) => file.write_all(line.as_bytes()),
            Sink::Discard => Ok(()),
        };
    }
}

/// One denied call.
#[derive(Clone, Debug)]
pub struct Denial {
    /// `seccomp_data.arch`.
    pub arch: u32,
    /// `seccomp_data.nr`.
    pub nr: u32,
    /// The call as shown: with its arguments when they are known.
    pub call: String,
    /// The decision, as the filter returned it.
    pub ret: u32,
    /// The thread (for a notification) or process (for an audit record).
    pub pid: u32,
    /// Said after the decision, such as what TRACE came to without a tracer.
    pub note: Option<&'static str>,
}

/// A row of the summary.
struct Row {
    syscall: String,
    abi: String,
    decision: String,
    count: u64,
    first_pid: u32,
}

/// Every denial seen so far.
pub struct Ledger {
    sink: Sink,
    rows: Vec<Row>,
    index: HashMap<(u32, u32, u32), usize>,
    /// Set once the summary is out: later events are counted nowhere.
    closed: bool,
}

impl Ledger {
    pub fn new(sink: Sink) -> Ledger {
        Ledger {
            sink,
            rows: Vec::new(),
            index: HashMap::new(),
            closed: false,
        }
    }

    /// Counts a denial, and reports it if it is the first of its kind.
    pub fn record(&mut self, denial: &Denial) {
        if self.closed {
            return;
        }
        let key = (denial.arch, denial.nr, denial.ret);
        if let Some(&row) = self.index.get(&key) {
            self.rows[row].count += 1;
            return;
        }
        let decision = decision_text(denial.ret, denial.note);
        let abi = abi_text(denial.arch, denial.nr);
        self.sink.line(&format!(
            "denied: {} {abi} pid {} -> {decision}",
            denial.call, denial.pid
        ));
        self.index.insert(key, self.rows.len());
        self.rows.push(Row {
            syscall: syscall_name(denial.arch, denial.nr),
            abi,
            decision,
            count: 1,
            first_pid: denial.pid,
        });
    }

    /// A line that is not a denial: how the program ended, a channel that failed.
    pub fn note(&mut self, text: &str) {
        if !self.closed {
            self.sink.line(text);
        }
    }

    /// The summary table; nothing is reported after it.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        for line in summary(&self.rows) {
            self.sink.line(&line);
        }
        self.closed = true;
    }
}

/// `ERRNO(1) EPERM`, and what a decision the program never sees as such came to.
fn decision_text(ret: u32, note: Option<&str>) -> String {
    let text = action_text(Action::from_ret(ret));
    match note {
        Some(note) => format!("{text} ({note})"),
        None => text,
    }
}

/// The summary's lines: a count, then one row per denied syscall in the order first
/// seen, in aligned columns.
fn summary(rows: &[Row]) -> Vec<String> {
    if rows.is_empty() {
        return vec!["summary: no syscall was denied".to_string()];
    }
    let calls: u64 = rows.iter().map(|row| row.count).sum();
    let mut table = vec![[
        "syscall".to_string(),
        "abi".to_string(),
        "decision".to_string(),
        "count".to_string(),
        "first pid".to_string(),
    ]];
    for row in rows {
        table.push([
            row.syscall.clone(),
            row.abi.clone(),
            row.decision.clone(),
            row.count.to_string(),
            row.first_pid.to_string(),
        ]);
    }
    let width = |col: usize| table.iter().map(|r| r[col].len()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3), width(4)];
    let plural = |n: u64, one: &str, many: &str| if n == 1 { one } else { many }.to_string();
    let mut out = vec![format!(
        "summary: {} {} denied, {calls} {}",
        rows.len(),
        plural(rows.len() as u64, "syscall", "syscalls"),
        plural(calls, "call", "calls"),
    )];
    for r in &table {
        out.push(format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek};

    use profiles::action::ret;
    use profiles::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};

    use super::*;

    fn denial(nr: u32, arch: u32, ret: u32, pid: u32) -> Denial {
        Denial {
            arch,
            nr,
            call: format!("call{nr}()"),
            ret,
            pid,
            note: None,
        }
    }

    fn text_of(ledger: Ledger) -> String {
        let Sink::File(mut file) = ledger.sink else {
            panic!("not a file")
        };
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        text
    }

    fn temp_file(name: &str) -> File {
        let path =
            std::env::temp_dir().join(format!("seclaunch-ledger-{}-{name}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn each_kind_is_reported_once_and_counted() {
        let mut ledger = Ledger::new(Sink::File(temp_file("once")));
        let x86_64 = AUDIT_ARCH_X86_64;
        ledger.record(&denial(272, x86_64, ret::ERRNO | 1, 10));
        ledger.record(&denial(272, x86_64, ret::ERRNO | 1, 11));
        ledger.record(&denial(272, x86_64, ret::ERRNO | 38, 12));
        ledger.record(&denial(310, AUDIT_ARCH_I386, ret::ERRNO | 1, 13));
        ledger.note("exit: status 0");
        ledger.close();
        ledger.record(&denial(1, x86_64, ret::ERRNO | 1, 14));
        let want = "\
seclaunch: denied: call272() x86_64 pid 10 -> ERRNO(1) EPERM
seclaunch: denied: call272() x86_64 pid 12 -> ERRNO(38) ENOSYS
seclaunch: denied: call310() i386 pid 13 -> ERRNO(1) EPERM
seclaunch: exit: status 0
seclaunch: summary: 3 syscalls denied, 4 calls
seclaunch:   syscall  abi     decision          count  first pid
seclaunch:   unshare  x86_64  ERRNO(1) EPERM        2         10
seclaunch:   unshare  x86_64  ERRNO(38) ENOSYS      1         12
seclaunch:   unshare  i386    ERRNO(1) EPERM        1         13
";
        assert_eq!(text_of(ledger), want);
    }

    #[test]
    fn an_empty_report_says_so() {
        let mut ledger = Ledger::new(Sink::File(temp_file("empty")));
        ledger.close();
        assert_eq!(
            text_of(ledger),
            "seclaunch: summary: no syscall was denied\n"
        );
    }

    #[test]
    fn notes_follow_the_decision() {
        assert_eq!(
            decision_text(ret::TRACE | 1, Some("ENOSYS: no tracer")),
            "TRACE(1) (ENOSYS: no tracer)"
        );
        assert_eq!(decision_text(ret::KILL_PROCESS, None), "KILL_PROCESS");
    }
}
