//! Capability sets, as `docker run --cap-add/--cap-drop` computes them.
//!
//! moby evaluates a profile's `includes.caps`/`excludes.caps` against the container's
//! bounding set: Docker's 14 defaults adjusted by `--cap-add`/`--cap-drop`
//! (`daemon/pkg/oci/caps`). seclaunch makes that set an explicit input.

use std::collections::BTreeSet;
use std::fmt;

/// Every capability the kernel defines, in number order (`include/uapi/linux/capability.h`).
pub const ALL: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capabilities `docker run` grants by default.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A capability name that is not a Linux capability.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {0:?}")]
pub struct UnknownCapability(pub String);

/// A set of capabilities, by their `CAP_*` names.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CapSet(BTreeSet<&'static str>);

impl CapSet {
    /// Docker's 14 default capabilities.
    pub fn docker_default() -> CapSet {
        CapSet(DOCKER_DEFAULT.iter().copied().collect())
    }

    /// Every capability.
    pub fn all() -> CapSet {
        CapSet(ALL.iter().copied().collect())
    }

    /// No capability.
    pub fn empty() -> CapSet {
        CapSet::default()
    }

    /// Whether the set holds `name`, compared exactly as moby compares profile strings.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// The names in the set, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }

    /// Applies `--cap-add` and `--cap-drop` the way `docker run` does
    /// (`TweakCapabilities`): names are upper-cased and get a `CAP_` prefix when they
    /// lack one; `ALL` in the adds starts from every capability and then drops, `ALL` in
    /// the drops starts from nothing and then adds; otherwise drops come before adds.
    pub fn tweak<S: AsRef<str>>(
        &self,
        adds: &[S],
        drops: &[S],
    ) -> Result<CapSet, UnknownCapability> {
        let adds = normalize(adds)?;
        let drops = normalize(drops)?;
        let has_all = |list: &[Option<&'static str>]| list.iter().any(Option::is_none);
        let named = |list: &[Option<&'static str>]| -> Vec<&'static str> {
            list.iter().flatten().copied().collect()
        };
        let mut set = if has_all(&adds) {
            CapSet::all()
        } else if has_all(&drops) {
            CapSet::empty()
        } else {
            self.clone()
        };
        if has_all(&adds) || !has_all(&drops) {
            for cap in named(&drops) {
                set.0.remove(cap);
            }
        }
        if !has_all(&adds) {
            set.0.extend(named(&adds));
        }
        Ok(set)
    }
}

/// `None` stands for `ALL`.
fn normalize<S: AsRef<str>>(names: &[S]) -> Result<Vec<Option<&'static str>>, UnknownCapability> {
    names.iter().map(|n| parse_name(n.as_ref())).collect()
}

fn parse_name(name: &str) -> Result<Option<&'static str>, UnknownCapability> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(None);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    ALL.iter()
        .find(|c| **c == full)
        .map(|c| Some(*c))
        .ok_or(UnknownCapability(full))
}

impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_has_fourteen_caps() {
        assert_eq!(CapSet::docker_default().iter().count(), 14);
    }

    #[test]
    fn cap_add_accepts_names_without_prefix_in_any_case() {
        let set = CapSet::docker_default()
            .tweak(&["sys_admin"], &[] as &[&str])
            .unwrap();
        assert!(set.contains("CAP_SYS_ADMIN"));
        assert_eq!(set.iter().count(), 15);
    }

    #[test]
    fn drop_all_then_add_keeps_only_the_adds() {
        let set = CapSet::docker_default()
            .tweak(&["CAP_KILL"], &["all"])
            .unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec!["CAP_KILL"]);
    }

    #[test]
    fn add_all_then_drop_removes_from_everything() {
        let set = CapSet::docker_default()
            .tweak(&["ALL"], &["SYS_ADMIN"])
            .unwrap();
        assert_eq!(set.iter().count(), ALL.len() - 1);
        assert!(!set.contains("CAP_SYS_ADMIN"));
    }

    #[test]
    fn drop_comes_before_add() {
        let set = CapSet::docker_default()
            .tweak(&["KILL"], &["KILL"])
            .unwrap();
        assert!(set.contains("CAP_KILL"));
    }

    #[test]
    fn unknown_capability_is_an_error() {
        let err = CapSet::docker_default()
            .tweak(&["SYS_WIZARD"], &[] as &[&str])
            .unwrap_err();
        assert_eq!(err.to_string(), "unknown capability \"CAP_SYS_WIZARD\"");
    }
}
