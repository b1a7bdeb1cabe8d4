//! Tracepoints (perf and raw), BTF tracing programs and iterators.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{attach_raw_tp, failed, not_found, Link};
use crate::sys::bpf::{self, attach_type, LinkTarget};
use crate::sys::perf_attach::{self, PerfScope, PERF_TYPE_TRACEPOINT};
use crate::{Error, Result};

/// Where tracefs is looked for, in order.
const TRACEFS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The id of tracepoint `category:name` (tracefs `events/<category>/<name>/id`, under
/// `/sys/kernel/tracing` then `/sys/kernel/debug/tracing`).
pub fn tracepoint_id(category: &str, name: &str) -> Result<u64> {
    if category.is_empty() || name.is_empty() || category.contains('/') || name.contains('/') {
        return Err(not_found(format!(
            "tracepoint {category}/{name}: category and name must be non-empty and have no `/`"
        )));
    }
    for root in TRACEFS {
        let path = format!("{root}/events/{category}/{name}/id");
        if let Ok(s) = std::fs::read_to_string(&path) {
            return s.trim().parse().map_err(|_| {
                not_found(format!("tracepoint {category}/{name}: {path} holds {s:?}"))
            });
        }
    }
    Err(not_found(format!(
        "tracepoint {category}/{name} not found (no events/{category}/{name}/id under {} or {})",
        TRACEFS[0], TRACEFS[1]
    )))
}

/// Attaches `prog` to the perf event `perf` (which the returned link owns): `BPF_LINK_CREATE`
/// of type `BPF_PERF_EVENT`, or, if the kernel refuses that, `PERF_EVENT_IOC_SET_BPF` and
/// `PERF_EVENT_IOC_ENABLE`.
pub(crate) fn attach_perf(prog: BorrowedFd<'_>, perf: OwnedFd, what: &str) -> Result<Link> {
    match bpf::link_create_perf_event(prog, perf.as_fd(), 0) {
        Ok(link) => Ok(Link::perf_link(link, perf)),
        Err(link_err) => match perf_attach::perf_set_bpf(perf.as_fd(), prog) {
            Ok(()) => Ok(Link::perf_ioctl(perf)),
            Err(e) => Err(failed(
                format!("{what}: BPF_LINK_CREATE(BPF_PERF_EVENT) failed ({link_err}), and PERF_EVENT_IOC_SET_BPF"),
                e,
            )),
        },
    }
}

/// Attaches a `tracepoint/<category>/<name>` (`tp/...`) program: opens the tracepoint's perf
/// event (`PERF_TYPE_TRACEPOINT`, every process, CPU 0) and links the program to it.
pub fn tracepoint(prog: BorrowedFd<'_>, category: &str, name: &str) -> Result<Link> {
    let id = tracepoint_id(category, name)?;
    let attr = perf_attach::perf_attr(PERF_TYPE_TRACEPOINT, id, 0, 0);
    let perf = perf_attach::perf_event_open(&attr, PerfScope { pid: None, cpu: 0 })
        .map_err(|e| failed(format!("tracepoint {category}/{name}: perf_event_open"), e))?;
    attach_perf(prog, perf, &format!("tracepoint {category}/{name}"))
}

/// Attaches a raw tracepoint program to tracepoint `name` (`sys_enter`). Same as
/// [`attach_raw_tp`], with an error naming the tracepoint.
pub fn raw_tp(prog: BorrowedFd<'_>, name: &str) -> Result<Link> {
    if name.is_empty() {
        return Err(Error::InvalidArgument("raw tracepoint name is empty"));
    }
    attach_raw_tp(prog, name).map_err(|e| match e.errno() {
        Some(errno) => failed(format!("raw tracepoint {name}"), errno),
        None => e,
    })
}

/// Attaches a BTF tracing program (`tp_btf`, `fentry`, `fexit`, `fmod_ret`, `lsm`, with their
/// `.s` forms) to the target it was loaded for (`BPF_RAW_TRACEPOINT_OPEN` without a name).
pub fn tracing(prog: BorrowedFd<'_>) -> Result<Link> {
    bpf::raw_tracepoint_open(prog, None)
        .map(Link::from_fd)
        .map_err(|e| failed("tracing program (target given at load)".into(), e))
}

/// Attaches an `iter/...` program (`BPF_LINK_CREATE`, `BPF_TRACE_ITER`). Run it with
/// [`Link::iter_reader`] or [`read_iter_to_string`](super::read_iter_to_string), as many times
/// as wanted.
pub fn iter(prog: BorrowedFd<'_>) -> Result<Link> {
    bpf::link_create(prog, LinkTarget::None, attach_type::BPF_TRACE_ITER, 0)
        .map(Link::from_fd)
        .map_err(|e| failed("iterator".into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tracepoint_is_named() {
        let e = tracepoint_id("no_such_category", "no_such_tp").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("no_such_category/no_such_tp"), "{s}");
        assert!(tracepoint_id("a/b", "c").is_err());
    }
}
