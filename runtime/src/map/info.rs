//! [`map_info`], [`prog_info`] and [`enable_stats`].

use std::os::fd::{BorrowedFd, OwnedFd};

pub use crate::sys::bpf::MapInfo;
use crate::sys::bpf_map;
use crate::{Error, Result};

/// The kernel's description of map `fd` (`BPF_OBJ_GET_INFO_BY_FD`): id, name, type, key and value
/// sizes, `max_entries`, flags, BTF ids. `EINVAL` when `fd` is not a map.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfo> {
    crate::sys::bpf::map_info(fd).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))
}

/// What the kernel tells of a loaded program.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgInfo {
    /// `id`.
    pub id: u32,
    /// `name` (at most 15 bytes).
    pub name: String,
    /// `type`: `enum bpf_prog_type` ([`sys::bpf::prog_type`](crate::sys::bpf::prog_type)).
    pub prog_type: u32,
    /// `tag`: the hash of the program's instructions.
    pub tag: [u8; 8],
    /// Nanoseconds spent in the program while statistics were on ([`enable_stats`]).
    pub run_time_ns: u64,
    /// Runs counted while statistics were on.
    pub run_cnt: u64,
    /// Runs skipped because the program was already running on that CPU.
    pub recursion_misses: u64,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
}

/// The kernel's description of program `fd`, with its run-time statistics. `EINVAL` when `fd` is
/// not a program.
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<ProgInfo> {
    let s =
        bpf_map::prog_stats(fd).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(prog)", e))?;
    Ok(ProgInfo {
        id: s.id,
        name: s.name,
        prog_type: s.prog_type,
        tag: s.tag,
        run_time_ns: s.run_time_ns,
        run_cnt: s.run_cnt,
        recursion_misses: s.recursion_misses,
        verified_insns: s.verified_insns,
    })
}

/// Turns on the kernel's run-time statistics of every program (`BPF_ENABLE_STATS`,
/// `BPF_STATS_RUN_TIME`) for as long as the returned descriptor is open: [`prog_info`] then
/// counts `run_cnt` and `run_time_ns`. Statistics cost a little time per run; they are also on
/// while `kernel.bpf_stats_enabled` is set.
pub fn enable_stats() -> Result<OwnedFd> {
    bpf_map::enable_stats(bpf_map::BPF_STATS_RUN_TIME)
        .map_err(|e| Error::syscall("BPF_ENABLE_STATS", e))
}
