//! Errno names, so that a decision prints as `ERRNO(38) ENOSYS`.

use profiles::action::Action;

/// Pairs each errno constant with its name; the values come from `libc`, so they are the
/// target's own.
macro_rules! errno_table {
    ($($name:ident),* $(,)?) => {
        [$((libc::$name, stringify!($name))),*]
    };
}

/// The errno values of `<asm-generic/errno-base.h>` and `<asm-generic/errno.h>`, without
/// the aliases (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`): the first name is the one shown.
#[rustfmt::skip]
const NAMES: &[(i32, &str)] = &errno_table![
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN,
    ENOMEM, EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR,
    EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE,
    EDOM, ERANGE, EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM,
    ECHRNG, EL2NSYNC, EL3HLT, EL3RST, ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR,
    EXFULL, ENOANO, EBADRQC, EBADSLT, EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET,
    ENOPKG, EREMOTE, ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG,
    EOVERFLOW, ENOTUNIQ, EBADFD, EREMCHG, ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX, ELIBEXEC,
    EILSEQ, ERESTART, ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE,
    ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT,
    EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET,
    ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS,
    ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY, EINPROGRESS, ESTALE,
    EUCLEAN, ENOTNAM, ENAVAIL, EISNAM, EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE,
    ECANCELED, ENOKEY, EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EOWNERDEAD,
    ENOTRECOVERABLE, ERFKILL, EHWPOISON,
];

/// The symbolic name of an errno value, if it has one.
pub fn name(errno: u16) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(value, _)| *value == i32::from(errno))
        .map(|(_, name)| *name)
}

/// A decision as seclaunch prints it: the action, and for an errno its name.
pub fn action_text(action: Action) -> String {
    match action {
        Action::Errno(errno) => match name(errno) {
            Some(name) => format!("{action} {name}"),
            None => action.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_decisions_carry_their_name() {
        assert_eq!(action_text(Action::Errno(38)), "ERRNO(38) ENOSYS");
        assert_eq!(action_text(Action::Errno(1)), "ERRNO(1) EPERM");
        assert_eq!(action_text(Action::Errno(199)), "ERRNO(199)");
        assert_eq!(action_text(Action::KillThread), "KILL_THREAD");
    }

    #[test]
    fn every_errno_has_one_name() {
        let mut values: Vec<i32> = NAMES.iter().map(|(value, _)| *value).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), NAMES.len());
    }
}
