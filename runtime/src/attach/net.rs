//! Networking and other fd-targeted attachments: xdp, tcx, cgroup, netfilter, sk_lookup,
//! perf events the user opened, socket filters, sockmap/sockhash programs.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::trace::attach_perf;
use super::{failed, not_found, Link};
use crate::sys::perf_attach::{self, LinkTail};
use crate::{Errno, Result};

/// `enum bpf_attach_type` values of this module.
const BPF_SK_LOOKUP: u32 = lskel_abi::attach_type::SK_LOOKUP;
const BPF_XDP: u32 = lskel_abi::attach_type::XDP;
const BPF_NETFILTER: u32 = lskel_abi::attach_type::NETFILTER;
const BPF_TCX_INGRESS: u32 = lskel_abi::attach_type::TCX_INGRESS;
const BPF_TCX_EGRESS: u32 = lskel_abi::attach_type::TCX_EGRESS;

/// The index of network interface `name` in the calling thread's network namespace
/// (`if_nametoindex`).
pub fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| not_found(format!("interface {name:?}: bad name")))?;
    perf_attach::if_nametoindex(&c).ok_or_else(|| not_found(format!("interface {name} not found")))
}

fn link(
    prog: BorrowedFd<'_>,
    target: u32,
    ty: u32,
    flags: u32,
    tail: LinkTail,
    what: impl FnOnce() -> String,
) -> Result<Link> {
    perf_attach::link_create(prog, target, ty, flags, tail)
        .map(Link::from_fd)
        .map_err(|e| {
            let mut w = what();
            if e == Errno::NODEV {
                w.push_str(": no such interface");
            }
            failed(w, e)
        })
}

/// Attaches an XDP program to interface `ifindex` with a link (`BPF_XDP`); `flags` are
/// `XDP_FLAGS_*` (0: the driver's mode if it has one, else generic; `XDP_FLAGS_SKB_MODE` = 2,
/// `XDP_FLAGS_DRV_MODE` = 4).
pub fn xdp(prog: BorrowedFd<'_>, ifindex: u32, flags: u32) -> Result<Link> {
    link(prog, ifindex, BPF_XDP, flags, LinkTail::None, || {
        format!("xdp on interface index {ifindex}")
    })
}

/// The direction of a tcx attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcxDirection {
    /// `BPF_TCX_INGRESS`.
    Ingress,
    /// `BPF_TCX_EGRESS`.
    Egress,
}

/// Attaches a `tc`/`tcx` (SCHED_CLS) program to interface `ifindex` with a tcx link (Linux
/// 6.6+), appended after the programs already there. A classic `SEC("tc")` program attaches
/// this way as well.
pub fn tcx(prog: BorrowedFd<'_>, ifindex: u32, dir: TcxDirection) -> Result<Link> {
    let ty = match dir {
        TcxDirection::Ingress => BPF_TCX_INGRESS,
        TcxDirection::Egress => BPF_TCX_EGRESS,
    };
    link(prog, ifindex, ty, 0, LinkTail::None, || {
        format!("tcx {dir:?} on interface index {ifindex}")
    })
}

/// Attaches a cgroup program to the cgroup (v2 directory) `cgroup` with a link;
/// `attach_type` is its `enum bpf_attach_type` (`BPF_CGROUP_INET_INGRESS` = 0, ...).
pub fn cgroup(prog: BorrowedFd<'_>, cgroup: BorrowedFd<'_>, attach_type: u32) -> Result<Link> {
    link(
        prog,
        cgroup.as_raw_fd() as u32,
        attach_type,
        0,
        LinkTail::None,
        || format!("cgroup attach type {attach_type}"),
    )
}

/// Attaches a netfilter program to hook `hooknum` (`NF_INET_LOCAL_IN` = 1, ...) of protocol
/// family `pf` (`NFPROTO_IPV4` = 2, `NFPROTO_IPV6` = 10) at `priority`; `flags`:
/// `BPF_F_NETFILTER_IP_DEFRAG` (1) or 0.
pub fn netfilter(
    prog: BorrowedFd<'_>,
    pf: u32,
    hooknum: u32,
    priority: i32,
    flags: u32,
) -> Result<Link> {
    let tail = LinkTail::Netfilter {
        pf,
        hooknum,
        priority,
        flags,
    };
    link(prog, 0, BPF_NETFILTER, 0, tail, || {
        format!("netfilter pf {pf} hook {hooknum} priority {priority}")
    })
}

/// Attaches an `sk_lookup` program to the network namespace `netns` (an fd of
/// `/proc/<pid>/ns/net` or `/run/netns/<name>`).
pub fn sk_lookup(prog: BorrowedFd<'_>, netns: BorrowedFd<'_>) -> Result<Link> {
    link(
        prog,
        netns.as_raw_fd() as u32,
        BPF_SK_LOOKUP,
        0,
        LinkTail::None,
        || "sk_lookup on a network namespace".into(),
    )
}

/// Attaches a program (`perf_event`, kprobe, tracepoint, ...) to a perf event `event` the caller
/// opened: a `BPF_PERF_EVENT` link, or `PERF_EVENT_IOC_SET_BPF` if the kernel refuses one. The
/// link keeps a duplicate of `event`.
pub fn perf_event(prog: BorrowedFd<'_>, event: BorrowedFd<'_>) -> Result<Link> {
    let perf = perf_attach::dup(event).map_err(|e| failed("perf event: dup".into(), e))?;
    attach_perf(prog, perf, "perf event")
}

/// Attaches a socket filter program to socket `sock` (`SO_ATTACH_BPF`). The link keeps a
/// duplicate of the socket and detaches (`SO_DETACH_BPF`) when dropped; the socket stays open
/// as long as the link does.
pub fn socket_filter(prog: BorrowedFd<'_>, sock: BorrowedFd<'_>) -> Result<Link> {
    perf_attach::socket_attach_bpf(sock, prog)
        .map_err(|e| failed("socket filter: setsockopt(SO_ATTACH_BPF)".into(), e))?;
    let sock = perf_attach::dup(sock).map_err(|e| {
        let _ = perf_attach::socket_detach_bpf(sock);
        failed("socket filter: dup".into(), e)
    })?;
    Ok(Link::socket(sock))
}

/// Attaches an `sk_skb`/`sk_msg` program to a sockmap or sockhash `map` (`BPF_PROG_ATTACH`
/// with `attach_type`: `BPF_SK_SKB_STREAM_PARSER` = 4, `_VERDICT` = 5, `BPF_SK_MSG_VERDICT`
/// = 7, `BPF_SK_SKB_VERDICT` = 38). The link keeps duplicates of the map and the program and
/// detaches (`BPF_PROG_DETACH`) when dropped.
pub fn sockmap(prog: BorrowedFd<'_>, map: BorrowedFd<'_>, attach_type: u32) -> Result<Link> {
    let what = || format!("sockmap attach type {attach_type}");
    perf_attach::prog_attach(map, prog, attach_type)
        .map_err(|e| failed(format!("{}: BPF_PROG_ATTACH", what()), e))?;
    let dups = perf_attach::dup(map).and_then(|m| Ok((m, perf_attach::dup(prog)?)));
    match dups {
        Ok((m, p)) => Ok(Link::prog_attach(m, p, attach_type)),
        Err(e) => {
            let _ = perf_attach::prog_detach(map, prog, attach_type);
            Err(failed(format!("{}: dup", what()), e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interface_is_named() {
        let e = ifindex("nope_if0").unwrap_err();
        assert!(
            e.to_string().contains("interface nope_if0 not found"),
            "{e}"
        );
        assert_eq!(ifindex("lo").unwrap(), 1);
    }

    #[test]
    fn attach_ids() {
        assert_eq!((BPF_TCX_INGRESS, BPF_TCX_EGRESS, BPF_XDP), (46, 47, 37));
    }
}
