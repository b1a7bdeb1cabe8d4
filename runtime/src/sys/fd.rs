//! The single place where a raw integer becomes an [`OwnedFd`].
//!
//! # Safety
//!
//! [`ret_owned_fd`] is `unsafe`: its caller promises the integer is a file descriptor that was just returned
//! by the kernel to this process and that nothing else owns.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

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
