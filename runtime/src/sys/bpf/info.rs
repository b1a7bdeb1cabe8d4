//! `BPF_OBJ_GET_INFO_BY_FD`: what the kernel tells of a program, a map or any object by its descriptor.
//!
//! The `struct bpf_*_info` layouts are read at fixed offsets from a zeroed, 8-byte aligned buffer of the
//! size this crate was written against; a newer kernel fills only that much, an older one less.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use super::{cmd, len_u32, name_from_bytes, ptr_u64, slice_ptr, sys_bpf_unit, BPF_OBJ_NAME_LEN};
use crate::sys::mem::u64s_as_bytes_mut;
use crate::Errno;

#[repr(C)]
#[derive(Default)]
struct InfoRaw {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD)` into `buf` (a `struct bpf_*_info`). Returns the length the kernel filled.
pub(super) fn obj_get_info(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut raw = InfoRaw {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: len_u32(buf.len())?,
        info: ptr_u64(buf.as_mut_ptr()),
    };
    // SAFETY: `info` points at `buf`, borrowed mutably for the call, and `info_len` is its length; the
    // pointers *inside* `buf` are checked by the callers (see `prog_info`).
    unsafe { sys_bpf_unit(cmd::BPF_OBJ_GET_INFO_BY_FD, &mut raw) }?;
    Ok(raw.info_len as usize)
}

pub(super) fn rd_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

pub(super) fn rd_u64(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn wr_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn wr_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// `sizeof(struct bpf_prog_info)` in the uapi header this crate was written against.
pub const PROG_INFO_SIZE: usize = lskel_abi::info::prog_info::SIZE;
/// `sizeof(struct bpf_map_info)` in the uapi header this crate was written against.
pub const MAP_INFO_SIZE: usize = lskel_abi::info::map_info::SIZE;

/// Offsets in `struct bpf_prog_info` (from `lskel-abi`).
pub(super) use lskel_abi::info::prog_info as prog_info_off;

/// Part of `struct bpf_prog_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    /// `type`: `enum bpf_prog_type`.
    pub prog_type: u32,
    /// `id`.
    pub id: u32,
    /// `tag`.
    pub tag: [u8; 8],
    /// `name`.
    pub name: String,
    /// `xlated_prog_insns`: the instructions after verification (empty if the kernel withholds them).
    pub xlated_insns: Vec<u8>,
    /// `map_ids`: the maps the program uses.
    pub map_ids: Vec<u32>,
    /// `btf_id`.
    pub btf_id: u32,
    /// `nr_func_info`: how many func_info records the kernel holds for it.
    pub nr_func_info: u32,
    /// `nr_line_info`: how many line_info records the kernel holds for it.
    pub nr_line_info: u32,
    /// `verified_insns`.
    pub verified_insns: u32,
    /// `attach_btf_obj_id`.
    pub attach_btf_obj_id: u32,
    /// `attach_btf_id`.
    pub attach_btf_id: u32,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD, …)` for a program, with its translated instructions and map ids.
///
/// Two calls: the first learns `xlated_prog_len` and `nr_map_ids`, the second fills buffers of those sizes.
pub fn prog_info(prog: BorrowedFd<'_>) -> Result<ProgInfo, Errno> {
    use prog_info_off as o;
    let mut words = [0u64; PROG_INFO_SIZE / 8];
    let buf = u64s_as_bytes_mut(&mut words);
    obj_get_info(prog, buf)?;
    let xlated_len = rd_u32(buf, o::XLATED_PROG_LEN);
    let nr_map_ids = rd_u32(buf, o::NR_MAP_IDS);

    let mut xlated = vec![0u8; xlated_len as usize];
    let mut map_ids = vec![0u32; nr_map_ids as usize];
    let mut words2 = [0u64; PROG_INFO_SIZE / 8];
    let buf2 = u64s_as_bytes_mut(&mut words2);
    wr_u32(buf2, o::XLATED_PROG_LEN, xlated_len);
    wr_u64(buf2, o::XLATED_PROG_INSNS, slice_ptr(&xlated));
    wr_u32(buf2, o::NR_MAP_IDS, nr_map_ids);
    wr_u64(
        buf2,
        o::MAP_IDS,
        if map_ids.is_empty() {
            0
        } else {
            ptr_u64(map_ids.as_mut_ptr())
        },
    );
    // The kernel writes at most `xlated_prog_len` bytes to `xlated` and `nr_map_ids` ids to `map_ids`:
    // the buffers above have exactly those sizes and live until after the call.
    obj_get_info(prog, buf2)?;
    let got_len = rd_u32(buf2, o::XLATED_PROG_LEN).min(xlated_len);
    xlated.truncate(got_len as usize);
    if rd_u64(buf2, o::XLATED_PROG_INSNS) == 0 {
        xlated.clear();
    }
    let got_maps = rd_u32(buf2, o::NR_MAP_IDS).min(nr_map_ids);
    map_ids.truncate(got_maps as usize);
    Ok(ProgInfo {
        prog_type: rd_u32(buf2, o::TYPE),
        id: rd_u32(buf2, o::ID),
        tag: buf2[o::TAG..o::TAG + 8].try_into().expect("8 bytes"),
        name: name_from_bytes(&buf2[o::NAME..o::NAME + BPF_OBJ_NAME_LEN]),
        xlated_insns: xlated,
        map_ids,
        btf_id: rd_u32(buf2, o::BTF_ID),
        nr_func_info: rd_u32(buf2, o::NR_FUNC_INFO),
        nr_line_info: rd_u32(buf2, o::NR_LINE_INFO),
        verified_insns: rd_u32(buf2, o::VERIFIED_INSNS),
        attach_btf_obj_id: rd_u32(buf2, o::ATTACH_BTF_OBJ_ID),
        attach_btf_id: rd_u32(buf2, o::ATTACH_BTF_ID),
    })
}

/// A program's `verified_insns` (instructions the verifier processed) with one
/// `BPF_OBJ_GET_INFO_BY_FD` that asks for no instructions or map ids.
pub fn prog_verified_insns(prog: BorrowedFd<'_>) -> Result<u32, Errno> {
    let mut words = [0u64; PROG_INFO_SIZE / 8];
    let buf = u64s_as_bytes_mut(&mut words);
    obj_get_info(prog, buf)?;
    Ok(rd_u32(buf, prog_info_off::VERIFIED_INSNS))
}

/// Part of `struct bpf_map_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    /// `type`: `enum bpf_map_type`.
    pub map_type: u32,
    /// `id`.
    pub id: u32,
    /// `key_size`.
    pub key_size: u32,
    /// `value_size`.
    pub value_size: u32,
    /// `max_entries`.
    pub max_entries: u32,
    /// `map_flags`.
    pub map_flags: u32,
    /// `name`.
    pub name: String,
    /// `btf_id`.
    pub btf_id: u32,
    /// `btf_key_type_id`.
    pub btf_key_type_id: u32,
    /// `btf_value_type_id`.
    pub btf_value_type_id: u32,
    /// `map_extra`.
    pub map_extra: u64,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD, …)` for a map. `EINVAL` when `map` is a descriptor of another kind
/// (a program's info would be read as a map's), as far as `/proc/self/fd` tells.
pub fn map_info(map: BorrowedFd<'_>) -> Result<MapInfo, Errno> {
    if crate::sys::is_bpf_map(map) == Some(false) {
        return Err(Errno::INVAL);
    }
    use lskel_abi::info::map_info as mi;
    let mut words = [0u64; MAP_INFO_SIZE / 8];
    let b = u64s_as_bytes_mut(&mut words);
    obj_get_info(map, b)?;
    Ok(MapInfo {
        map_type: rd_u32(b, mi::TYPE),
        id: rd_u32(b, mi::ID),
        key_size: rd_u32(b, mi::KEY_SIZE),
        value_size: rd_u32(b, mi::VALUE_SIZE),
        max_entries: rd_u32(b, mi::MAX_ENTRIES),
        map_flags: rd_u32(b, mi::MAP_FLAGS),
        name: name_from_bytes(&b[mi::NAME..mi::NAME + BPF_OBJ_NAME_LEN]),
        btf_id: rd_u32(b, mi::BTF_ID),
        btf_key_type_id: rd_u32(b, mi::BTF_KEY_TYPE_ID),
        btf_value_type_id: rd_u32(b, mi::BTF_VALUE_TYPE_ID),
        map_extra: rd_u64(b, mi::MAP_EXTRA),
    })
}

/// Offset of `hash` (a `__u64` pointer) in `struct bpf_map_info` (Linux 6.18 uapi).
const MAP_INFO_HASH: usize = 88;
/// Offset of `hash_size` (`__u32`) in `struct bpf_map_info`.
const MAP_INFO_HASH_SIZE: usize = 96;
const _: () = assert!(MAP_INFO_HASH_SIZE + 8 == MAP_INFO_SIZE);

/// The SHA-256 the kernel computes of a map's values (`BPF_OBJ_GET_INFO_BY_FD` with `hash`
/// and `hash_size` 32; an array hashes its `max_entries` values, each padded to 8 bytes). The
/// kernel keeps it with the map, where a signed loader reads it. `EPERM` unless the map is
/// frozen; `EINVAL` from a kernel that cannot hash maps (before 6.18) or a map type that has
/// no hash.
pub fn map_sha256(map: BorrowedFd<'_>) -> Result<[u8; 32], Errno> {
    if crate::sys::is_bpf_map(map) == Some(false) {
        return Err(Errno::INVAL);
    }
    let mut hash = [0u8; 32];
    let mut words = [0u64; MAP_INFO_SIZE / 8];
    let b = u64s_as_bytes_mut(&mut words);
    // The kernel writes exactly `hash_size` (32) bytes at `hash`: the live array above.
    wr_u64(b, MAP_INFO_HASH, ptr_u64(hash.as_mut_ptr()));
    wr_u32(b, MAP_INFO_HASH_SIZE, 32);
    obj_get_info(map, b)?;
    Ok(hash)
}

/// `id` of a BPF program, map or link, from `BPF_OBJ_GET_INFO_BY_FD`: their info records all
/// hold it at the same offset (BTF's does not).
pub fn prog_or_map_id(fd: impl AsFd) -> Result<u32, Errno> {
    let mut words = [0u64; 2];
    let b = u64s_as_bytes_mut(&mut words);
    obj_get_info(fd.as_fd(), b)?;
    Ok(rd_u32(b, lskel_abi::info::ID))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_sizes_match_uapi() {
        assert_eq!(std::mem::size_of::<InfoRaw>(), lskel_abi::attr::sizes::INFO);
    }

    #[test]
    fn map_info_refuses_a_file() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(map_info(f.as_fd()), Err(Errno::INVAL));
    }
}
