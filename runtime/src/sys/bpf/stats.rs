//! Run-time statistics of programs: `BPF_ENABLE_STATS`, and the counters `BPF_OBJ_GET_INFO_BY_FD` reports.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::info::{obj_get_info, prog_info_off as off, rd_u32, rd_u64, PROG_INFO_SIZE};
use super::{cmd, name_from_bytes, sys_bpf_fd, BPF_OBJ_NAME_LEN};
use crate::sys::mem::u64s_as_bytes_mut;
use crate::Errno;

/// `BPF_STATS_RUN_TIME` of `enum bpf_stats_type`.
pub const BPF_STATS_RUN_TIME: u32 = lskel_abi::stats_type::RUN_TIME;

/// What `BPF_OBJ_GET_INFO_BY_FD` tells of a program, statistics included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgStats {
    /// `type`: `enum bpf_prog_type`.
    pub prog_type: u32,
    /// `id`.
    pub id: u32,
    /// `tag`.
    pub tag: [u8; 8],
    /// `name`.
    pub name: String,
    /// `run_time_ns`: total time in the program while statistics were enabled.
    pub run_time_ns: u64,
    /// `run_cnt`: runs counted while statistics were enabled.
    pub run_cnt: u64,
    /// `recursion_misses`.
    pub recursion_misses: u64,
    /// `verified_insns`.
    pub verified_insns: u32,
}

/// Whether `/proc/self/fd` names `fd` a BPF program (`None`: cannot tell).
fn is_bpf_prog(fd: BorrowedFd<'_>) -> Option<bool> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    Some(link.as_os_str() == "anon_inode:bpf-prog")
}

/// `BPF_OBJ_GET_INFO_BY_FD` of a program: its identity and statistics. `EINVAL` for a
/// descriptor that is not a program.
pub fn prog_stats(prog: BorrowedFd<'_>) -> Result<ProgStats, Errno> {
    if is_bpf_prog(prog) == Some(false) {
        return Err(Errno::INVAL);
    }
    // All the pointer fields of the info stay zero, so the kernel writes nothing but the info.
    let mut words = [0u64; PROG_INFO_SIZE / 8];
    let b = u64s_as_bytes_mut(&mut words);
    obj_get_info(prog, b)?;
    Ok(ProgStats {
        prog_type: rd_u32(b, off::TYPE),
        id: rd_u32(b, off::ID),
        tag: b[off::TAG..off::TAG + 8].try_into().expect("8 bytes"),
        name: name_from_bytes(&b[off::NAME..off::NAME + BPF_OBJ_NAME_LEN]),
        run_time_ns: rd_u64(b, off::RUN_TIME_NS),
        run_cnt: rd_u64(b, off::RUN_CNT),
        recursion_misses: rd_u64(b, off::RECURSION_MISSES),
        verified_insns: rd_u32(b, off::VERIFIED_INSNS),
    })
}

/// `bpf(BPF_ENABLE_STATS, { type })`: the kernel counts run time and runs of every program while
/// the returned descriptor is open.
pub fn enable_stats(stats_type: u32) -> Result<OwnedFd, Errno> {
    #[repr(C)]
    struct EnableStatsRaw {
        stats_type: u32,
    }
    let mut raw = EnableStatsRaw { stats_type };
    // SAFETY: no pointers; BPF_ENABLE_STATS returns a new descriptor on success.
    unsafe { sys_bpf_fd(cmd::BPF_ENABLE_STATS, &mut raw) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prog_stats_refuses_a_file() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(prog_stats(std::os::fd::AsFd::as_fd(&f)), Err(Errno::INVAL));
    }
}
