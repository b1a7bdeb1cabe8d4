//! `perf_event_open(2)` for uprobe events of the uprobe PMU.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::OwnedFd;

use super::ret_owned_fd;
use crate::Errno;

/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: u64 = 8;
/// `PERF_UPROBE_REF_CTR_OFFSET_SHIFT`: where the semaphore offset goes in `config`.
const PERF_UPROBE_REF_CTR_OFFSET_SHIFT: u32 = 32;
/// The `size` we declare for `struct perf_event_attr` (`PERF_ATTR_SIZE_VER7`).
const ATTR_SIZE: u32 = 128;

/// The first 128 bytes of `struct perf_event_attr`, as 16 words: `type`/`size` in word 0, `config` in 1,
/// `sample_period` in 2, `config1` (for the uprobe PMU: the path) in 7, `config2` (the offset) in 8.
#[repr(C)]
struct PerfEventAttrRaw([u64; 16]);

/// Where and how a uprobe perf event is opened.
#[derive(Debug, Clone, Copy)]
pub struct UprobeEvent<'a> {
    /// The uprobe PMU's type (`/sys/bus/event_source/devices/uprobe/type`).
    pub pmu_type: u32,
    /// The file to probe.
    pub path: &'a CStr,
    /// The file offset of the probed instruction.
    pub offset: u64,
    /// The file offset of a reference counter (USDT semaphore) the kernel increments while the probe is
    /// installed, 0 for none. Must fit in 32 bits.
    pub ref_ctr_offset: u32,
    /// A return probe (`config` bit 0).
    pub retprobe: bool,
    /// `Some(pid)`: only that process; `None`: every process.
    pub pid: Option<i32>,
}

/// `perf_event_open` of a uprobe event. With no pid the event is opened on CPU 0 (as libbpf does); a BPF
/// program attached to it runs wherever the probe is hit.
pub fn uprobe_open(ev: &UprobeEvent<'_>) -> Result<OwnedFd, Errno> {
    let mut attr = PerfEventAttrRaw([0; 16]);
    attr.0[0] = u64::from(ev.pmu_type) | (u64::from(ATTR_SIZE) << 32);
    attr.0[1] =
        u64::from(ev.retprobe) | (u64::from(ev.ref_ctr_offset) << PERF_UPROBE_REF_CTR_OFFSET_SHIFT);
    attr.0[7] = ev.path.as_ptr() as usize as u64;
    attr.0[8] = ev.offset;
    let (pid, cpu) = match ev.pid {
        Some(p) => (p, -1),
        None => (-1, 0),
    };
    // SAFETY: `attr` is a valid 128-byte `perf_event_attr` whose only pointer (`config1`) is the
    // NUL-terminated `path`, borrowed for the duration of the call; no group fd.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttrRaw,
            pid as libc::c_long,
            cpu as libc::c_long,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC as libc::c_long,
        )
    };
    // SAFETY: perf_event_open returns a new descriptor nobody else owns, or -1.
    unsafe { ret_owned_fd(ret) }
}
