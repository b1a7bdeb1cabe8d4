//! Attaching programs: [`Link`] and one typed function per way of attaching.
//!
//! Every function takes the program's descriptor (`skel.progs().x()`), returns a [`Link`] that
//! detaches on drop, and fails with an [`Error`] that names what was not found (tracepoint,
//! function, binary, interface) or which system call refused.
//!
//! - tracing: [`tracepoint`], [`raw_tp`] ([`attach_raw_tp`]), [`tracing`] (tp_btf, fentry,
//!   fexit, fmod_ret, lsm: target given at load), [`iter`] with [`Link::iter_reader`] /
//!   [`read_iter_to_string`];
//! - probes: [`kprobe`], [`kprobe_multi`], [`ksyscall`], [`uprobe`] ([`UprobeTarget`]);
//! - networking and the rest: [`xdp`], [`tcx`], [`cgroup`], [`netfilter`], [`sk_lookup`],
//!   [`perf_event`], [`socket_filter`], [`sockmap`];
//! - [`auto`]: what a skeleton's `attach()` does for a section that says where.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sys::bpf::{self, LinkTarget};
use crate::{Error, Result};

pub mod auto;
mod link;
mod net;
mod probe;
mod trace;
mod uprobe;

pub use link::{read_iter_to_string, Link};
pub use net::{
    cgroup, ifindex, netfilter, perf_event, sk_lookup, socket_filter, sockmap, tcx, xdp,
    TcxDirection,
};
pub use probe::{
    glob_match, kprobe, kprobe_multi, ksyscall, ksyscall_function, parse_format_bit,
    KprobeMultiTarget,
};
pub use trace::{iter, raw_tp, tracepoint, tracepoint_id, tracing};
pub use uprobe::{resolve_binary, uprobe, UprobeTarget};

/// An [`Error::Attach`] with no errno.
pub(crate) fn not_found(what: String) -> Error {
    Error::Attach { what, errno: None }
}

/// An [`Error::Attach`] for a failed system call.
pub(crate) fn failed(what: String, errno: crate::Errno) -> Error {
    Error::Attach {
        what,
        errno: Some(errno),
    }
}

/// Attaches a program with `BPF_RAW_TRACEPOINT_OPEN`: a raw tracepoint program to tracepoint `name`
/// (e.g. `"sys_enter"`), or, with an empty `name`, a `tp_btf` program to the target given at load time.
pub fn attach_raw_tp(prog: BorrowedFd<'_>, name: &str) -> Result<Link> {
    let name = if name.is_empty() {
        None
    } else {
        Some(
            CString::new(name)
                .map_err(|_| Error::InvalidArgument("tracepoint name contains NUL"))?,
        )
    };
    bpf::raw_tracepoint_open(prog, name.as_deref())
        .map(Link::from_fd)
        .map_err(|e| Error::syscall("BPF_RAW_TRACEPOINT_OPEN", e))
}

/// Attaches a program with `BPF_LINK_CREATE` (`attach_type`: `enum bpf_attach_type`).
pub fn attach_link(
    prog: BorrowedFd<'_>,
    target: LinkTarget<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<Link> {
    bpf::link_create(prog, target, attach_type, flags)
        .map(Link::from_fd)
        .map_err(|e| Error::syscall("BPF_LINK_CREATE", e))
}

/// `BPF_STRUCT_OPS` (`enum bpf_attach_type`).
const BPF_STRUCT_OPS: u32 = lskel_abi::attach_type::STRUCT_OPS;

/// Registers a `.struct_ops.link` map (created with `BPF_F_LINK`) whose value is already
/// written with the kernel through a link: `bpf(BPF_LINK_CREATE)` with the map's fd in place of
/// a program's. Dropping the link unregisters it. A skeleton's `attach_<map>()` writes the
/// value (the running kernel's layout, with the program fds) and then calls this.
pub fn attach_struct_ops(map: BorrowedFd<'_>) -> Result<Link> {
    bpf::link_create(map, LinkTarget::None, BPF_STRUCT_OPS, 0)
        .map(Link::from_fd)
        .map_err(|e| Error::syscall("BPF_LINK_CREATE(struct_ops)", e))
}

/// Opens an iterator over an iterator link (`iter/...` program attached with
/// `BPF_LINK_CREATE`, attach type `BPF_TRACE_ITER`): read the returned fd to run it.
pub fn iter_create(link: &Link) -> Result<OwnedFd> {
    bpf::iter_create(link.as_fd()).map_err(|e| Error::syscall("BPF_ITER_CREATE", e))
}
