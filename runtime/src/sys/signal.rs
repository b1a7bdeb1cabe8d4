//! Holding back asynchronous signals on the calling thread while the kernel verifies programs.
//!
//! The verifier gives up with `EAGAIN` as soon as a signal is pending for the loading thread,
//! so a process with a profiling timer or a handler installed without `SA_RESTART` cannot load
//! a large program at all when signals come faster than verification ends. A signal that is
//! blocked does not count as pending for the verifier; it is delivered as soon as the mask is
//! restored, so holding signals back only delays them by the length of the load.
//!
//! # Safety
//!
//! `pthread_sigmask` reads the new mask and writes the old one into the `sigset_t`s given,
//! both of which live on the stack (or in the guard) for the whole call and are initialized
//! by `sigfillset`/`sigdelset` or by the call itself. It changes only the calling thread's
//! mask; the guard is `!Send`, so the mask is restored on the same thread.
//!
//! # References
//!
//! - [pthread_sigmask(3)](https://man7.org/linux/man-pages/man3/pthread_sigmask.3.html)
#![allow(unsafe_code)]

use std::marker::PhantomData;

/// Signals raised by the faulting instruction itself: blocking them would turn a crash into
/// undefined behaviour, so they are never held back.
const SYNCHRONOUS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
];

/// Blocks every asynchronous signal on this thread until dropped, then restores the mask.
pub(crate) struct HoldSignals {
    old: libc::sigset_t,
    /// The mask belongs to this thread.
    _not_send: PhantomData<*const ()>,
}

impl HoldSignals {
    /// Holds back asynchronous signals; on failure (which the call cannot do with valid
    /// arguments) nothing is held and loads fall back to retrying.
    pub(crate) fn new() -> Option<HoldSignals> {
        // SAFETY: see the module docs: both sets are initialized before use and outlive the calls.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            for sig in SYNCHRONOUS {
                libc::sigdelset(&mut all, sig);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            if libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old) != 0 {
                return None;
            }
            Some(HoldSignals {
                old,
                _not_send: PhantomData,
            })
        }
    }
}

impl Drop for HoldSignals {
    fn drop(&mut self) {
        // SAFETY: `old` is the mask this thread had when the guard was made.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}
