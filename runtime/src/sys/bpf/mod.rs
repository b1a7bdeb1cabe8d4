//! `bpf(2)` wrappers, one module per command family: maps (create, element operations,
//! freeze), programs (load, bind a map), test runs, links (raw tracepoints, `BPF_LINK_CREATE`,
//! iterators), objects (pin, get, ids), and object info. This module holds the system call itself and
//! the helpers that fill attribute fields; every public item is re-exported here, so callers name
//! `sys::bpf::X` whatever family `X` belongs to.
//!
//! Each command has a private `#[repr(C)]` attribute struct laid out like its part of `union bpf_attr`
//! (`include/uapi/linux/bpf.h`), with every padding byte an explicit, zeroed field: the kernel refuses
//! non-zero bytes past the fields it knows. Public wrappers take slices, `BorrowedFd`s and `CStr`s and
//! fill the pointer fields from them.
//!
//! # Safety
//!
//! `bpf(2)` reads and writes user memory through the pointers stored in the attribute. Every wrapper builds
//! those pointers from Rust references that outlive the call and sizes them from the same references, so
//! the kernel never reaches outside a live borrow; where the kernel's access size comes from the map itself
//! (element operations), the function is `unsafe` and states what the caller must guarantee, and
//! [`SizedMap`] offers the checked, safe form. New descriptors become `OwnedFd`s only through
//! `ret_owned_fd`.
//!
//! # References
//!
//! - [bpf(2)](https://man7.org/linux/man-pages/man2/bpf.2.html)
//! - [BPF syscall docs](https://docs.kernel.org/userspace-api/ebpf/syscall.html)
#![allow(unsafe_code)]

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::ret_owned_fd;
use crate::Errno;

mod consts;
mod info;
mod link;
mod loader_fds;
mod map;
mod obj;
mod prog;
mod stats;
mod test_run;

pub use consts::{attach_type, cmd, flags, map_type, prog_type, BPF_OBJ_NAME_LEN};
pub use info::{
    map_info, map_sha256, prog_info, prog_or_map_id, prog_verified_insns, MapInfo, ProgInfo,
    MAP_INFO_SIZE, PROG_INFO_SIZE,
};
pub use link::{iter_create, link_create, link_create_perf_event, raw_tracepoint_open, LinkTarget};
pub(crate) use loader_fds::take_loader_fds;
pub(crate) use map::{array_of_one_value, OneValueArray};
pub use map::{
    map_create, map_delete_elem, map_freeze, map_get_next_key, map_lookup_elem, map_update_elem,
    MapCreateAttr,
};
pub(super) use map::{BatchRaw, ElemRaw};
pub use obj::{
    all_ids, btf_get_fd_by_id, btf_get_next_id, link_get_fd_by_id, link_get_next_id,
    map_get_fd_by_id, map_get_next_id, obj_get, obj_pin, prog_get_fd_by_id, prog_get_next_id,
};
pub use prog::{prog_bind_map, prog_load, ProgLoadAttr};
pub use stats::{enable_stats, prog_stats, ProgStats, BPF_STATS_RUN_TIME};
pub use test_run::{prog_test_run, TestRunAttr, TestRunOutput};
// The checked element operations live beside the typed ones; their old path stays.
pub use super::sized_map::{SizedMap, MAX_ELEM_SIZE, MAX_PERCPU_VALUE_SIZE};

/// Issues `bpf(cmd, attr, sizeof(*attr))`.
///
/// # Safety
///
/// Every pointer stored in `attr` must be valid for the reads and writes command `cmd` does through it.
pub(super) unsafe fn sys_bpf<T>(cmd: u32, attr: &mut T) -> i64 {
    // SAFETY: `attr` is a live, exclusively borrowed struct of exactly `size_of::<T>()` bytes; the validity
    // of the pointers inside it is the caller's promise.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T,
            size_of::<T>() as libc::c_long,
        )
    }
}

/// [`sys_bpf`] for commands that return `0` on success.
///
/// # Safety
///
/// As [`sys_bpf`].
pub(super) unsafe fn sys_bpf_unit<T>(cmd: u32, attr: &mut T) -> Result<(), Errno> {
    // SAFETY: forwarded from the caller.
    let ret = unsafe { sys_bpf(cmd, attr) };
    if ret < 0 {
        Err(Errno::last_os_error())
    } else {
        Ok(())
    }
}

/// [`sys_bpf`] for commands that return a new file descriptor.
///
/// # Safety
///
/// As [`sys_bpf`], and `cmd` must be a command that returns a new file descriptor on success.
unsafe fn sys_bpf_fd<T>(cmd: u32, attr: &mut T) -> Result<OwnedFd, Errno> {
    // SAFETY: forwarded from the caller.
    let ret = unsafe { sys_bpf(cmd, attr) };
    // SAFETY: `cmd` returns a fresh descriptor on success (caller's promise).
    unsafe { ret_owned_fd(ret) }
}

fn ptr_u64<T>(p: *const T) -> u64 {
    p as usize as u64
}

fn slice_ptr(s: &[u8]) -> u64 {
    if s.is_empty() {
        0
    } else {
        ptr_u64(s.as_ptr())
    }
}

fn fd_u32(fd: Option<BorrowedFd<'_>>) -> u32 {
    fd.map_or(0, |fd| fd.as_raw_fd() as u32)
}

fn len_u32(len: usize) -> Result<u32, Errno> {
    u32::try_from(len).map_err(|_| Errno::TOOBIG)
}

/// Copies `name` into a NUL-terminated object name, truncated to 15 bytes.
pub fn obj_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    let n = name.len().min(BPF_OBJ_NAME_LEN - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

fn name_from_bytes(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obj_name_truncates_and_terminates() {
        let n = obj_name("a_very_long_name_indeed");
        assert_eq!(&n[..15], b"a_very_long_nam");
        assert_eq!(n[15], 0);
        assert_eq!(name_from_bytes(&obj_name("x")), "x");
    }
}
