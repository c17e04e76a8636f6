//! Privileges of the launched program: NO_NEW_PRIVS always, and for a root launch the
//! capability set the profile was resolved against, so that the kernel's permission
//! checks and the filter's capability-gated rules agree, as they do under `docker run`.

use caps::{CapSet as Kind, Capability, CapsHashSet};
use profiles::caps::CapSet;

use crate::error::Error;

/// Limits the calling process to `set`: the bounding set loses every other capability,
/// so an `execve` as root cannot regain them; effective and permitted become `set` (as
/// far as the process holds it); inheritable and ambient become empty, as runc leaves
/// them for a container since the fix for CVE-2022-24769.
///
/// Only a process with `CAP_SETPCAP` can shrink its bounding set; a launch without it
/// (an ordinary user) holds no capabilities to limit, and is left alone.
pub fn limit_capabilities(set: &CapSet) -> Result<(), Error> {
    let wanted: CapsHashSet = set.iter().filter_map(|name| name.parse().ok()).collect();
    let fail = |step: &'static str| {
        move |e: caps::errors::CapsError| Error::Capabilities {
            step,
            reason: e.to_string(),
        }
    };
    let holds_setpcap = caps::has_cap(None, Kind::Effective, Capability::CAP_SETPCAP)
        .map_err(fail("reading the effective set"))?;
    if !holds_setpcap {
        return Ok(());
    }
    for cap in caps::read(None, Kind::Bounding).map_err(fail("reading the bounding set"))? {
        if !wanted.contains(&cap) {
            caps::drop(None, Kind::Bounding, cap)
                .map_err(fail("dropping from the bounding set"))?;
        }
    }
    caps::clear(None, Kind::Ambient).map_err(fail("clearing the ambient set"))?;
    caps::clear(None, Kind::Inheritable).map_err(fail("clearing the inheritable set"))?;
    let permitted = caps::read(None, Kind::Permitted).map_err(fail("reading the permitted set"))?;
    let kept: CapsHashSet = permitted.intersection(&wanted).copied().collect();
    caps::set(None, Kind::Effective, &kept).map_err(fail("setting the effective set"))?;
    caps::set(None, Kind::Permitted, &kept).map_err(fail("setting the permitted set"))?;
    Ok(())
}
