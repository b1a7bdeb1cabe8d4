//! The single place where a raw integer becomes an [`OwnedFd`].
//!
//! # Safety
//!
//! [`ret_owned_fd`] is `unsafe`: its caller promises the integer is a file descriptor that was just returned
//! by the kernel to this process and that nothing else owns.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::Errno;

/// Turns the return value of a system call that creates a file descriptor into an [`OwnedFd`].
///
/// A negative value means failure: the thread's `errno` is returned.
///
/// # Safety
///
/// `ret` must be the direct return value of a system call that, on success, returns a new file descriptor
/// owned by nobody else (so wrapping it in an `OwnedFd` that closes it on drop is sound).
pub(crate) unsafe fn ret_owned_fd(ret: i64) -> Result<OwnedFd, Errno> {
    if ret < 0 {
        return Err(Errno::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| Errno::BADF)?;
    // SAFETY: the caller guarantees `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Moves `fd` above the standard descriptors 0, 1 and 2, as libbpf's `ensure_good_fd` does: a BPF object
/// that landed on a closed stdin/stdout/stderr would otherwise receive whatever the process (or a child
/// it spawns) writes to or reads from that stream. A descriptor already above 2 is returned as is; a low
/// one is duplicated (`F_DUPFD_CLOEXEC`, lowest free number >= 3) and the low one closed. If the
/// duplication fails, the low descriptor is returned unchanged (the object stays reachable).
pub(crate) fn above_stdio(fd: OwnedFd) -> OwnedFd {
    if fd.as_raw_fd() > 2 {
        return fd;
    }
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` reads no memory; `fd` is a live descriptor we own, and on success
    // it returns a new descriptor that nothing else owns.
    match unsafe {
        ret_owned_fd(i64::from(libc::fcntl(
            fd.as_raw_fd(),
            libc::F_DUPFD_CLOEXEC,
            3,
        )))
    } {
        // The low descriptor closes as `fd` drops here.
        Ok(high) => high,
        Err(_) => fd,
    }
}

/// What `/proc/self/fd/N` names a BPF map descriptor: the anonymous inode `bpf_map_new_fd` creates.
const BPF_MAP_LINK: &str = "anon_inode:bpf-map";

/// Whether `fd` is a BPF map descriptor, from the name of its anonymous inode (`/proc/self/fd/N`
/// reads `anon_inode:bpf-map` for maps, `anon_inode:bpf-prog` for programs, and so on). `None` when
/// that cannot be told (no `/proc`).
pub(crate) fn is_bpf_map(fd: BorrowedFd<'_>) -> Option<bool> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    Some(link.as_os_str() == BPF_MAP_LINK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_file_is_not_a_bpf_map() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(is_bpf_map(f.as_fd()), Some(false));
    }
}
