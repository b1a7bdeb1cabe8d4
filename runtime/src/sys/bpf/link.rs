//! Attachments: `BPF_RAW_TRACEPOINT_OPEN`, `BPF_LINK_CREATE` (plain and for perf events), and
//! `BPF_ITER_CREATE` over an iterator link.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{attach_type, cmd, fd_u32, ptr_u64, sys_bpf_fd};
use crate::Errno;

#[repr(C)]
#[derive(Default)]
struct RawTpRaw {
    name: u64,
    prog_fd: u32,
    _pad: u32,
    cookie: u64,
}

/// `bpf(BPF_RAW_TRACEPOINT_OPEN, …)`: attaches a raw tracepoint program to tracepoint `name`, or a
/// `tp_btf`/`fentry`-style tracing program to its load-time target when `name` is `None`.
pub fn raw_tracepoint_open(prog: BorrowedFd<'_>, name: Option<&CStr>) -> Result<OwnedFd, Errno> {
    let mut raw = RawTpRaw {
        name: name.map_or(0, |n| ptr_u64(n.as_ptr())),
        prog_fd: prog.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `name` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf_fd(cmd::BPF_RAW_TRACEPOINT_OPEN, &mut raw) }
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateRaw {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    target_btf_id: u32,
    _rest: [u32; 7],
}

/// What a `BPF_LINK_CREATE` attaches to.
#[derive(Debug, Clone, Copy)]
pub enum LinkTarget<'a> {
    /// No target descriptor (`target_fd` = 0), e.g. iterators and tracing programs.
    None,
    /// `target_fd`: a cgroup, a netns, a program, …
    Fd(BorrowedFd<'a>),
    /// `target_ifindex`: a network device.
    Ifindex(u32),
    /// `target_btf_id` (with `target_fd` = the BTF or program it belongs to, if any).
    BtfId {
        /// `target_fd`.
        obj: Option<BorrowedFd<'a>>,
        /// `target_btf_id`.
        id: u32,
    },
}

/// `bpf(BPF_LINK_CREATE, …)`: attaches `prog` with `attach_type` (`enum bpf_attach_type`).
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: LinkTarget<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<OwnedFd, Errno> {
    let (target_fd, target_btf_id) = match target {
        LinkTarget::None => (0, 0),
        LinkTarget::Fd(fd) => (fd.as_raw_fd() as u32, 0),
        LinkTarget::Ifindex(i) => (i, 0),
        LinkTarget::BtfId { obj, id } => (fd_u32(obj), id),
    };
    let mut raw = LinkCreateRaw {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd,
        attach_type,
        flags,
        target_btf_id,
        ..Default::default()
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_fd(cmd::BPF_LINK_CREATE, &mut raw) }
}

/// `link_create` of `union bpf_attr` with its `perf_event` member (`bpf_cookie` at offset 16).
#[repr(C)]
#[derive(Default)]
struct LinkCreatePerfEventRaw {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    bpf_cookie: u64,
    _rest: [u32; 6],
}

/// `bpf(BPF_LINK_CREATE, …)` of attach type `BPF_PERF_EVENT`: attaches `prog` to the perf event `event`
/// (a kprobe, uprobe, tracepoint or hardware/software event) with `bpf_cookie`, which the program reads
/// with `bpf_get_attach_cookie`.
pub fn link_create_perf_event(
    prog: BorrowedFd<'_>,
    event: BorrowedFd<'_>,
    bpf_cookie: u64,
) -> Result<OwnedFd, Errno> {
    let mut raw = LinkCreatePerfEventRaw {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd: event.as_raw_fd() as u32,
        attach_type: attach_type::BPF_PERF_EVENT,
        bpf_cookie,
        ..Default::default()
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_fd(cmd::BPF_LINK_CREATE, &mut raw) }
}

/// `struct { link_fd; flags; } iter_create` of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct IterCreateRaw {
    link_fd: u32,
    flags: u32,
}

/// `bpf(BPF_ITER_CREATE, …)`: a new iterator over an iterator link; reading it runs the
/// program once per element.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut raw = IterCreateRaw {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: no pointers; BPF_ITER_CREATE returns a new descriptor.
    unsafe { sys_bpf_fd(cmd::BPF_ITER_CREATE, &mut raw) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn attr_sizes_match_uapi() {
        assert_eq!(
            size_of::<RawTpRaw>(),
            lskel_abi::attr::sizes::RAW_TRACEPOINT_OPEN
        );
        assert_eq!(
            size_of::<LinkCreateRaw>(),
            lskel_abi::attr::LINK_CREATE_SIZE
        );
        assert_eq!(
            size_of::<LinkCreatePerfEventRaw>(),
            lskel_abi::attr::LINK_CREATE_SIZE
        );
        assert_eq!(
            size_of::<IterCreateRaw>(),
            lskel_abi::attr::sizes::ITER_CREATE
        );
    }
}
