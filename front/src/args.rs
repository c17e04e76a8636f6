//! The command lines the fast start takes on itself: the embedded default profile, no
//! option but `--mode` and `--profile default`, then the program. Every other command
//! line is the full launcher's, which reads it with its complete parser.

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Preload,
    Exec,
}

/// A launch of the embedded default profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub mode: Mode,
    /// The index in `argv` of the program's name; its arguments follow it.
    pub program: usize,
}

/// Reads `argv` (`arg(0)` being the launcher's own name); `None` for anything the
/// full launcher must read.
pub fn parse<'a>(arg: impl Fn(usize) -> Option<&'a [u8]>) -> Option<Request> {
    let mut mode = None;
    let mut profile = false;
    let mut at = 1;
    loop {
        let word = arg(at)?;
        // The full launcher refuses an option given twice.
        let value = match word {
            b"--" => {
                at += 1;
                break;
            }
            b"--mode" | b"--profile" | b"-p" => {
                at += 1;
                arg(at)?
            }
            _ => match (
                word.strip_prefix(b"--mode="),
                word.strip_prefix(b"--profile="),
            ) {
                (Some(value), _) | (_, Some(value)) => value,
                _ => break,
            },
        };
        if word.starts_with(b"--mode") {
            if mode.is_some() {
                return None;
            }
            mode = Some(mode_named(value)?);
        } else if profile || value != b"default" {
            return None;
        } else {
            profile = true;
        }
        at += 1;
    }
    let name = arg(at)?;
    // A name the full launcher reads as a command or an option, or one no program
    // has: its parser and its messages decide.
    if name.is_empty() || name.starts_with(b"-") || is_command(name) {
        return None;
    }
    Some(Request {
        mode: mode.unwrap_or(Mode::Auto),
        program: at,
    })
}

fn mode_named(value: &[u8]) -> Option<Mode> {
    match value {
        b"auto" => Some(Mode::Auto),
        b"preload" => Some(Mode::Preload),
        b"exec" => Some(Mode::Exec),
        _ => None,
    }
}

/// The full launcher's commands, and the `help` its parser adds.
fn is_command(word: &[u8]) -> bool {
    matches!(
        word,
        b"check" | b"compile" | b"explain" | b"record" | b"completions" | b"help"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(words: &[&str]) -> Option<Request> {
        parse(|i| words.get(i).map(|w| w.as_bytes()))
    }

    #[test]
    fn a_program_alone_or_after_the_options_it_takes() {
        let auto = |program| {
            Some(Request {
                mode: Mode::Auto,
                program,
            })
        };
        assert_eq!(parsed(&["seclaunch", "/bin/true"]), auto(1));
        assert_eq!(parsed(&["seclaunch", "--", "ls", "-l"]), auto(2));
        assert_eq!(parsed(&["seclaunch", "-p", "default", "ls"]), auto(3));
        assert_eq!(parsed(&["seclaunch", "--profile=default", "ls"]), auto(2));
        let exec = Some(Request {
            mode: Mode::Exec,
            program: 3,
        });
        assert_eq!(
            parsed(&["seclaunch", "--mode", "exec", "ls", "--mode"]),
            exec
        );
        assert_eq!(
            parsed(&["seclaunch", "--mode=preload", "ls"]).map(|r| r.mode),
            Some(Mode::Preload)
        );
    }

    #[test]
    fn everything_else_is_the_full_launchers() {
        for words in [
            &["seclaunch"][..],
            &["seclaunch", "-v", "ls"],
            &["seclaunch", "--dry-run", "ls"],
            &["seclaunch", "-p", "my.json", "ls"],
            &["seclaunch", "-p", "unconfined", "ls"],
            &["seclaunch", "--profile"],
            &["seclaunch", "--mode", "fast", "ls"],
            &["seclaunch", "--mode", "exec", "--mode", "exec", "ls"],
            &["seclaunch", "-p", "default", "-p", "default", "ls"],
            &["seclaunch", "--cap-add", "SYS_ADMIN", "ls"],
            &["seclaunch", "--report", "ls"],
            &["seclaunch", "check", "p.json"],
            &["seclaunch", "help"],
            &["seclaunch", "--", "-x"],
            &["seclaunch", "--", ""],
            &["seclaunch", "--"],
            &["seclaunch", "--help"],
            &["seclaunch", "-V"],
        ] {
            assert_eq!(parsed(words), None, "{words:?}");
        }
    }
}
