//! Objects by path and by id: `BPF_OBJ_PIN`, `BPF_OBJ_GET`, `BPF_*_GET_NEXT_ID`, `BPF_*_GET_FD_BY_ID`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{cmd, ptr_u64, sys_bpf_fd, sys_bpf_unit};
use crate::Errno;

#[repr(C)]
#[derive(Default)]
struct ObjRaw {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
    path_fd: i32,
    _pad: u32,
}

/// `bpf(BPF_OBJ_GET, …)`: opens an object pinned at `path` in a BPF file system.
pub fn obj_get(path: &CStr) -> Result<OwnedFd, Errno> {
    let mut raw = ObjRaw {
        pathname: ptr_u64(path.as_ptr()),
        ..Default::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf_fd(cmd::BPF_OBJ_GET, &mut raw) }
}

/// `bpf(BPF_OBJ_PIN, …)`: pins `obj` at `path` in a BPF file system.
pub fn obj_pin(obj: BorrowedFd<'_>, path: &CStr) -> Result<(), Errno> {
    let mut raw = ObjRaw {
        pathname: ptr_u64(path.as_ptr()),
        bpf_fd: obj.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf_unit(cmd::BPF_OBJ_PIN, &mut raw) }
}

// ---------------------------------------------------------------------------------------------------------
// BPF_*_GET_NEXT_ID, BPF_*_GET_FD_BY_ID

#[repr(C)]
#[derive(Default)]
struct IdRaw {
    id: u32,
    next_id: u32,
    open_flags: u32,
    token_fd: i32,
}

fn get_next_id(cmd: u32, start: u32) -> Result<Option<u32>, Errno> {
    let mut raw = IdRaw {
        id: start,
        ..Default::default()
    };
    // SAFETY: no pointers.
    match unsafe { sys_bpf_unit(cmd, &mut raw) } {
        Ok(()) => Ok(Some(raw.next_id)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn get_fd_by_id(cmd: u32, id: u32) -> Result<OwnedFd, Errno> {
    let mut raw = IdRaw {
        id,
        ..Default::default()
    };
    // SAFETY: no pointers; the command returns a new descriptor.
    unsafe { sys_bpf_fd(cmd, &mut raw) }
}

/// `bpf(BPF_PROG_GET_NEXT_ID, …)`: the id of the next program after `start`, `None` at the end.
pub fn prog_get_next_id(start: u32) -> Result<Option<u32>, Errno> {
    get_next_id(cmd::BPF_PROG_GET_NEXT_ID, start)
}

/// `bpf(BPF_MAP_GET_NEXT_ID, …)`.
pub fn map_get_next_id(start: u32) -> Result<Option<u32>, Errno> {
    get_next_id(cmd::BPF_MAP_GET_NEXT_ID, start)
}

/// `bpf(BPF_LINK_GET_NEXT_ID, …)`.
pub fn link_get_next_id(start: u32) -> Result<Option<u32>, Errno> {
    get_next_id(cmd::BPF_LINK_GET_NEXT_ID, start)
}

/// `bpf(BPF_BTF_GET_NEXT_ID, …)`.
pub fn btf_get_next_id(start: u32) -> Result<Option<u32>, Errno> {
    get_next_id(cmd::BPF_BTF_GET_NEXT_ID, start)
}

/// `bpf(BPF_PROG_GET_FD_BY_ID, …)`.
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    get_fd_by_id(cmd::BPF_PROG_GET_FD_BY_ID, id)
}

/// `bpf(BPF_MAP_GET_FD_BY_ID, …)`.
pub fn map_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    get_fd_by_id(cmd::BPF_MAP_GET_FD_BY_ID, id)
}

/// `bpf(BPF_LINK_GET_FD_BY_ID, …)`.
pub fn link_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    get_fd_by_id(cmd::BPF_LINK_GET_FD_BY_ID, id)
}

/// `bpf(BPF_BTF_GET_FD_BY_ID, …)`.
pub fn btf_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    get_fd_by_id(cmd::BPF_BTF_GET_FD_BY_ID, id)
}

/// All ids from a `*_get_next_id` function, in kernel order.
pub fn all_ids(next: fn(u32) -> Result<Option<u32>, Errno>) -> Result<Vec<u32>, Errno> {
    let mut ids = Vec::new();
    let mut cur = 0;
    while let Some(id) = next(cur)? {
        ids.push(id);
        cur = id;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn attr_sizes_match_uapi() {
        assert_eq!(size_of::<ObjRaw>(), lskel_abi::attr::sizes::OBJ);
        assert_eq!(size_of::<IdRaw>(), lskel_abi::attr::sizes::GET_ID);
    }
}
