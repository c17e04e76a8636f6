//! The program's environment, built by the rules of Rust's `Command`, which the full
//! launcher execs through: every `KEY=value` entry of the launcher's environment (the
//! key is what comes before the first `=` after the first byte; an entry without one is
//! dropped), then the variables the launch sets, replacing entries of the same key; one
//! entry per key, the last one set; sorted by key.

/// The most entries a fast launch passes on; a larger environment is the full
/// launcher's.
pub const MAX_ENV: usize = 512;

/// An entry: its string (NUL-terminated in memory, the NUL not included) and the
/// length of its key.
#[derive(Clone, Copy)]
struct Var<'a> {
    text: &'a [u8],
    key: usize,
}

impl<'a> Var<'a> {
    fn of(text: &'a [u8]) -> Option<Var<'a>> {
        let key = text.iter().skip(1).position(|b| *b == b'=')? + 1;
        Some(Var { text, key })
    }

    fn key(&self) -> &[u8] {
        &self.text[..self.key]
    }
}

/// The environment under construction.
pub struct Env<'a> {
    vars: [Var<'a>; MAX_ENV],
    len: usize,
}

impl<'a> Env<'a> {
    /// The entries of `inherited` (`KEY=value` strings), in order; `None` if there are
    /// more than [`MAX_ENV`].
    pub fn new(inherited: impl Iterator<Item = &'a [u8]>) -> Option<Env<'a>> {
        let mut env = Env {
            vars: [Var { text: b"", key: 0 }; MAX_ENV],
            len: 0,
        };
        for text in inherited {
            if let Some(var) = Var::of(text) {
                env.push(var)?;
            }
        }
        Some(env)
    }

    fn push(&mut self, var: Var<'a>) -> Option<()> {
        *self.vars.get_mut(self.len)? = var;
        self.len += 1;
        Some(())
    }

    /// Sets a variable from its `KEY=value` string, which must be followed by a NUL in
    /// memory (as the kernel's strings and [`crate::text::Text`]'s are).
    pub fn set(&mut self, text: &'a [u8]) -> Option<()> {
        let var = Var::of(text)?;
        self.remove(var.key());
        self.push(var)
    }

    /// Removes every entry of `key`.
    pub fn remove(&mut self, key: &[u8]) {
        let mut kept = 0;
        for at in 0..self.len {
            if self.vars[at].key() != key {
                self.vars[kept] = self.vars[at];
                kept += 1;
            }
        }
        self.len = kept;
    }

    /// The entries as `Command` passes them: sorted by key, one per key (the last).
    /// `out` receives their string pointers and a null; it must hold one more than
    /// the entries. Returns the number of entries.
    pub fn finish(&mut self, out: &mut [*const u8]) -> Option<usize> {
        let vars = &mut self.vars[..self.len];
        // Stable, so that of two entries with one key the later stays later.
        insertion_sort(vars);
        let mut count = 0;
        for at in 0..vars.len() {
            let last_of_key = vars
                .get(at + 1)
                .is_none_or(|next| next.key() != vars[at].key());
            if last_of_key {
                *out.get_mut(count)? = vars[at].text.as_ptr();
                count += 1;
            }
        }
        *out.get_mut(count)? = core::ptr::null();
        Some(count)
    }
}

/// A stable sort by key without an allocator; environments are small.
fn insertion_sort(vars: &mut [Var<'_>]) {
    for at in 1..vars.len() {
        let mut to = at;
        while to > 0 && vars[to - 1].key() > vars[to].key() {
            vars.swap(to - 1, to);
            to -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(env: &mut Env<'static>) -> Vec<&'static str> {
        let mut out = [core::ptr::null(); MAX_ENV + 1];
        let count = env.finish(&mut out).unwrap();
        let vars = &env.vars[..env.len];
        (0..count)
            .map(|i| {
                let var = vars.iter().find(|v| v.text.as_ptr() == out[i]).unwrap();
                std::str::from_utf8(var.text).unwrap()
            })
            .collect()
    }

    #[test]
    fn sorted_one_per_key_the_last_and_only_entries_with_a_key() {
        let inherited: [&'static [u8]; 6] = [b"B=1", b"A=1", b"NOEQUALS", b"A=2", b"=X=1", b""];
        let mut env = Env::new(inherited.into_iter()).unwrap();
        assert_eq!(texts(&mut env), ["=X=1", "A=2", "B=1"]);
    }

    #[test]
    fn set_replaces_every_entry_of_its_key() {
        let inherited: [&'static [u8]; 3] = [b"LD_PRELOAD=a", b"PATH=/bin", b"LD_PRELOAD=b"];
        let mut env = Env::new(inherited.into_iter()).unwrap();
        env.set(b"LD_PRELOAD=a:shim").unwrap();
        env.set(b"SECLAUNCH_HANDOFF=3:24:1").unwrap();
        assert_eq!(
            texts(&mut env),
            ["LD_PRELOAD=a:shim", "PATH=/bin", "SECLAUNCH_HANDOFF=3:24:1"]
        );
    }
}
