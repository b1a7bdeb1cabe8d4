//! Thin wrappers over the system calls lskel needs: `bpf(2)`, `mmap(2)`, `epoll(7)`.
//!
//! These are the only modules of the crate that contain `unsafe` code; each states its own safety argument.
//! Wrappers take file descriptors as [`BorrowedFd`](std::os::fd::BorrowedFd) and return new ones as
//! [`OwnedFd`](std::os::fd::OwnedFd), so ownership is visible in the signature. Errors are bare
//! [`Errno`](crate::Errno)s; the safe layers above add context.

pub mod bpf;
pub mod bpf_map;
pub mod epoll;
mod fd;
pub mod mem;
pub mod mmap;
pub mod perf;
pub mod perf_attach;
pub mod perf_ring;
pub(crate) mod signal;
mod sized_map;
pub mod trusted;
pub mod uname;

pub(crate) use fd::{above_stdio, is_bpf_map, ret_owned_fd};
