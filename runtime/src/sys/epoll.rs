//! A minimal `epoll(7)` wrapper, for waiting on ring buffer maps.
//!
//! # Safety
//!
//! The epoll descriptor is created through `ret_owned_fd`. `epoll_ctl` gets a pointer
//! to a live `epoll_event`; `epoll_wait` gets a pointer to a buffer together with its exact length, so the
//! kernel writes only inside it.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::ret_owned_fd;
use crate::Errno;

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> Result<Self, Errno> {
        // SAFETY: no pointers; returns a new descriptor on success.
        let fd = unsafe { ret_owned_fd(libc::epoll_create1(libc::EPOLL_CLOEXEC) as i64) }?;
        Ok(Epoll { fd })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD, fd, {EPOLLIN, data})`.
    pub fn add(&self, fd: BorrowedFd<'_>, data: u64) -> Result<(), Errno> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: data,
        };
        // SAFETY: `ev` is a live epoll_event for the duration of the call.
        let r = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if r < 0 {
            Err(Errno::last_os_error())
        } else {
            Ok(())
        }
    }

    /// `epoll_wait`: waits up to `timeout` (`None`: forever) and returns the `data` of each ready
    /// descriptor. `EINTR` is returned as an error; wrap in [`retry_on_intr`](crate::retry_on_intr).
    pub fn wait(&self, timeout: Option<Duration>, max: usize) -> Result<Vec<u64>, Errno> {
        let timeout_ms = match timeout {
            None => -1,
            Some(d) => i32::try_from(d.as_millis()).unwrap_or(i32::MAX),
        };
        let max = max.clamp(1, 1024);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; max];
        // SAFETY: `events` holds exactly `max` entries and outlives the call.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                max as libc::c_int,
                timeout_ms,
            )
        };
        if n < 0 {
            return Err(Errno::last_os_error());
        }
        Ok(events[..n as usize].iter().map(|e| e.u64).collect())
    }
}

impl std::os::fd::AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.fd)
    }
}
