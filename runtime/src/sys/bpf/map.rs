//! Map commands on raw bytes: `BPF_MAP_CREATE`, `BPF_MAP_*_ELEM`, `BPF_MAP_FREEZE`, and the attribute
//! layouts the typed and batch operations of [`sys::bpf_map`](crate::sys::bpf_map) fill.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::BPF_OBJ_NAME_LEN;
use super::{cmd, fd_u32, len_u32, obj_name, ptr_u64, slice_ptr, sys_bpf_fd, sys_bpf_unit};
use crate::Errno;

#[repr(C)]
#[derive(Default)]
struct MapCreateRaw {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; BPF_OBJ_NAME_LEN],
    map_ifindex: u32,
    btf_fd: u32,
    btf_key_type_id: u32,
    btf_value_type_id: u32,
    btf_vmlinux_value_type_id: u32,
    map_extra: u64,
    value_type_btf_obj_fd: i32,
    map_token_fd: i32,
    excl_prog_hash: u64,
    excl_prog_hash_size: u32,
    _pad: u32,
}

/// Arguments of `BPF_MAP_CREATE`. `Default` gives zeros, no name and no BTF.
#[derive(Debug, Default, Clone)]
pub struct MapCreateAttr<'a> {
    /// `map_type`: one of `enum bpf_map_type`.
    pub map_type: u32,
    /// `key_size` in bytes.
    pub key_size: u32,
    /// `value_size` in bytes.
    pub value_size: u32,
    /// `max_entries`.
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_*`).
    pub map_flags: u32,
    /// `inner_map_fd`: template map for map-in-map types.
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// `numa_node` (used with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// `map_name`, truncated to 15 bytes.
    pub name: &'a str,
    /// `map_ifindex` (device offload).
    pub map_ifindex: u32,
    /// `btf_fd`: the object's BTF.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// `btf_key_type_id`.
    pub btf_key_type_id: u32,
    /// `btf_value_type_id`.
    pub btf_value_type_id: u32,
    /// `btf_vmlinux_value_type_id` (struct_ops).
    pub btf_vmlinux_value_type_id: u32,
    /// `map_extra`: per-type extra (bloom filter hashes, arena address, …).
    pub map_extra: u64,
    /// `value_type_btf_obj_fd`: module BTF of `btf_vmlinux_value_type_id`.
    pub value_type_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// `excl_prog_hash`: SHA-256 of the only program allowed to use the map (empty: none).
    pub excl_prog_hash: &'a [u8],
}

/// `bpf(BPF_MAP_CREATE, …)`: creates a map.
///
/// # References
///
/// - [bpf(2)](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn map_create(attr: &MapCreateAttr<'_>) -> Result<OwnedFd, Errno> {
    let mut raw = MapCreateRaw {
        map_type: attr.map_type,
        key_size: attr.key_size,
        value_size: attr.value_size,
        max_entries: attr.max_entries,
        map_flags: attr.map_flags,
        inner_map_fd: fd_u32(attr.inner_map_fd),
        numa_node: attr.numa_node,
        map_name: obj_name(attr.name),
        map_ifindex: attr.map_ifindex,
        btf_fd: fd_u32(attr.btf_fd),
        btf_key_type_id: attr.btf_key_type_id,
        btf_value_type_id: attr.btf_value_type_id,
        btf_vmlinux_value_type_id: attr.btf_vmlinux_value_type_id,
        map_extra: attr.map_extra,
        value_type_btf_obj_fd: attr.value_type_btf_obj_fd.map_or(0, |fd| fd.as_raw_fd()),
        map_token_fd: 0,
        excl_prog_hash: slice_ptr(attr.excl_prog_hash),
        excl_prog_hash_size: len_u32(attr.excl_prog_hash.len())?,
        _pad: 0,
    };
    // SAFETY: the only pointer is `excl_prog_hash`, read for `excl_prog_hash_size` bytes from a live slice.
    unsafe { sys_bpf_fd(cmd::BPF_MAP_CREATE, &mut raw) }
}

/// The element member of `union bpf_attr` (`map_fd`, `key`, `value` or `next_key`, `flags`), shared by
/// every element command, `BPF_MAP_FREEZE` and the typed operations of `sys::bpf_map`.
#[repr(C)]
#[derive(Default)]
pub(in crate::sys) struct ElemRaw {
    pub(in crate::sys) map_fd: u32,
    pub(in crate::sys) _pad: u32,
    pub(in crate::sys) key: u64,
    pub(in crate::sys) value: u64,
    pub(in crate::sys) flags: u64,
}

/// The `batch` member of `union bpf_attr`, for the `BPF_MAP_*_BATCH` commands of `sys::bpf_map`.
#[repr(C)]
#[derive(Default)]
pub(in crate::sys) struct BatchRaw {
    pub(in crate::sys) in_batch: u64,
    pub(in crate::sys) out_batch: u64,
    pub(in crate::sys) keys: u64,
    pub(in crate::sys) values: u64,
    pub(in crate::sys) count: u32,
    pub(in crate::sys) map_fd: u32,
    pub(in crate::sys) elem_flags: u64,
    pub(in crate::sys) flags: u64,
}

/// `bpf(BPF_MAP_LOOKUP_ELEM, …)`: copies the value stored under `key` into `value`.
///
/// # Safety
///
/// `key` must be at least the map's `key_size` bytes and `value` at least its value size (for per-CPU maps:
/// `round_up(value_size, 8) * possible CPUs`): the kernel accesses that many bytes. [`SizedMap`](super::SizedMap) checks this.
pub unsafe fn map_lookup_elem(
    map: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<(), Errno> {
    let mut raw = ElemRaw {
        map_fd: map.as_raw_fd() as u32,
        key: slice_ptr(key),
        value: ptr_u64(value.as_mut_ptr()),
        flags,
        ..Default::default()
    };
    // SAFETY: the caller guarantees the slices are as large as the kernel's accesses.
    unsafe { sys_bpf_unit(cmd::BPF_MAP_LOOKUP_ELEM, &mut raw) }
}

/// `bpf(BPF_MAP_UPDATE_ELEM, …)`: stores `value` under `key` (`flags`: `BPF_ANY`, `BPF_NOEXIST`, …).
///
/// # Safety
///
/// As [`map_lookup_elem`]: both slices at least the sizes the kernel reads.
pub unsafe fn map_update_elem(
    map: BorrowedFd<'_>,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<(), Errno> {
    let mut raw = ElemRaw {
        map_fd: map.as_raw_fd() as u32,
        key: slice_ptr(key),
        value: slice_ptr(value),
        flags,
        ..Default::default()
    };
    // SAFETY: the caller guarantees the slices are as large as the kernel's reads.
    unsafe { sys_bpf_unit(cmd::BPF_MAP_UPDATE_ELEM, &mut raw) }
}

/// `bpf(BPF_MAP_DELETE_ELEM, …)`.
///
/// # Safety
///
/// `key` at least the map's `key_size` bytes.
pub unsafe fn map_delete_elem(map: BorrowedFd<'_>, key: &[u8]) -> Result<(), Errno> {
    let mut raw = ElemRaw {
        map_fd: map.as_raw_fd() as u32,
        key: slice_ptr(key),
        ..Default::default()
    };
    // SAFETY: the caller guarantees the key is as large as the kernel's read.
    unsafe { sys_bpf_unit(cmd::BPF_MAP_DELETE_ELEM, &mut raw) }
}

/// `bpf(BPF_MAP_GET_NEXT_KEY, …)`: the key after `key` (the first key when `None`) into `next_key`.
///
/// # Safety
///
/// `key` and `next_key` at least the map's `key_size` bytes.
pub unsafe fn map_get_next_key(
    map: BorrowedFd<'_>,
    key: Option<&[u8]>,
    next_key: &mut [u8],
) -> Result<(), Errno> {
    let mut raw = ElemRaw {
        map_fd: map.as_raw_fd() as u32,
        key: key.map_or(0, slice_ptr),
        value: ptr_u64(next_key.as_mut_ptr()),
        ..Default::default()
    };
    // SAFETY: the caller guarantees both buffers are as large as the kernel's accesses.
    unsafe { sys_bpf_unit(cmd::BPF_MAP_GET_NEXT_KEY, &mut raw) }
}

/// `bpf(BPF_MAP_FREEZE, …)`: makes the map read-only for the syscall side.
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut raw = ElemRaw {
        map_fd: map.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_unit(cmd::BPF_MAP_FREEZE, &mut raw) }
}

/// A one-entry `BPF_MAP_TYPE_ARRAY` with 4-byte keys, made by [`array_of_one_value`]: the
/// loader's blob map. It remembers the value size it was created with, so writing a value again
/// ([`rewrite`](Self::rewrite)) needs no `BPF_OBJ_GET_INFO_BY_FD` (what
/// [`SizedMap`](super::SizedMap) would ask) and can check the length itself.
#[derive(Debug)]
pub(crate) struct OneValueArray {
    fd: OwnedFd,
    value_size: usize,
}

impl OneValueArray {
    /// The map's descriptor.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The size of the map's one value, in bytes.
    pub(crate) fn value_size(&self) -> usize {
        self.value_size
    }

    /// Writes `value` over the map's one value (key 0). EINVAL, and no system call, when
    /// `value` is not exactly the map's value size.
    pub(crate) fn rewrite(&self, value: &[u8]) -> Result<(), Errno> {
        if value.len() != self.value_size {
            return Err(Errno::INVAL);
        }
        // SAFETY: the map was created by `array_of_one_value` with 4-byte keys and
        // `self.value_size`-byte values, not per-CPU, and `value` has exactly that length: the
        // kernel reads exactly the bytes of the two live slices.
        unsafe { map_update_elem(self.fd.as_fd(), &0u32.to_ne_bytes(), value, 0) }
    }

    /// Reads the map's one value (key 0) into `out`. EINVAL, and no system call, when `out`
    /// is not exactly the map's value size; like [`rewrite`](Self::rewrite), it needs no
    /// `BPF_OBJ_GET_INFO_BY_FD`.
    pub(crate) fn read(&self, out: &mut [u8]) -> Result<(), Errno> {
        if out.len() != self.value_size {
            return Err(Errno::INVAL);
        }
        // SAFETY: the map was created by `array_of_one_value` with 4-byte keys and
        // `self.value_size`-byte values, not per-CPU, and `out` has exactly that length: the
        // kernel writes exactly the bytes of `out` and reads those of the key.
        unsafe { map_lookup_elem(self.fd.as_fd(), &0u32.to_ne_bytes(), out, 0) }
    }
}

/// Creates a one-entry `BPF_MAP_TYPE_ARRAY` named `name` whose value is `value` (key 0): the
/// loader's blob map. The map is not frozen: see [`map_freeze`] and the caller.
/// `excl_prog_hash`: empty, or the SHA-256 of the only program that may use the map.
///
/// Errors: the failed command and its errno.
pub(crate) fn array_of_one_value(
    name: &str,
    value: &[u8],
    excl_prog_hash: &[u8],
) -> Result<OneValueArray, (&'static str, Errno)> {
    let value_size = u32::try_from(value.len()).map_err(|_| ("BPF_MAP_CREATE", Errno::TOOBIG))?;
    let fd = map_create(&MapCreateAttr {
        map_type: super::map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size,
        max_entries: 1,
        name,
        excl_prog_hash,
        ..Default::default()
    })
    .map_err(|e| ("BPF_MAP_CREATE", e))?;
    let map = OneValueArray {
        fd,
        value_size: value.len(),
    };
    map.rewrite(value).map_err(|e| ("BPF_MAP_UPDATE_ELEM", e))?;
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_sizes_match_uapi() {
        // offsetofend() of the last field used, rounded up to 8, checked with gcc against bpf.h.
        use lskel_abi::attr::{map_create, sizes};
        assert_eq!(size_of::<MapCreateRaw>(), sizes::MAP_CREATE);
        assert_eq!(offset_of!(MapCreateRaw, map_extra), map_create::MAP_EXTRA);
        assert_eq!(
            offset_of!(MapCreateRaw, excl_prog_hash_size),
            map_create::EXCL_PROG_HASH_SIZE
        );
        assert_eq!(size_of::<ElemRaw>(), lskel_abi::attr::map_elem::SIZE);
        use lskel_abi::attr::batch;
        assert_eq!(size_of::<BatchRaw>(), sizes::BATCH);
        assert_eq!(offset_of!(BatchRaw, in_batch), batch::IN_BATCH);
        assert_eq!(offset_of!(BatchRaw, out_batch), batch::OUT_BATCH);
        assert_eq!(offset_of!(BatchRaw, keys), batch::KEYS);
        assert_eq!(offset_of!(BatchRaw, values), batch::VALUES);
        assert_eq!(offset_of!(BatchRaw, count), batch::COUNT);
        assert_eq!(offset_of!(BatchRaw, map_fd), batch::MAP_FD);
        assert_eq!(offset_of!(BatchRaw, elem_flags), batch::ELEM_FLAGS);
        assert_eq!(offset_of!(BatchRaw, flags), batch::FLAGS);
    }
}
