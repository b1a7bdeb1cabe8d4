//! The loader ctx block: the memory handed to the loader program as its `ctx` by
//! `BPF_PROG_TEST_RUN` (`ctx_size_in` = the header's `sz`), copied back after the run, which
//! is how the loader returns the descriptors it created. Native-endian, every part 8-byte
//! aligned (the kernel refuses a misaligned ctx access, so a u64 must never follow an odd
//! number of u32s):
//!
//! ```text
//! 0                    Header              struct lskel_ctx_header (libbpf's skel_internal.h)
//! 24 + 48*i            MapDesc, map i      libbpf's 16-byte bpf_map_desc, then the settings a
//!                                          user may change before load (`set` says which)
//! prog_fd(n_maps, j)   ProgDesc, prog j    struct lskel_prog_desc
//! status (8-aligned)   Status              failed_step, possible_cpus, reserved
//! target(k)            AttachTarget        one per program whose section names no target
//! ```
//!
//! These structs are lskel's, not the kernel's; `tests/uapi.rs` checks them against the same
//! declarations in C.

use core::mem::{align_of, offset_of, size_of};

/// `struct lskel_ctx_header`: the header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The size of the whole block.
    pub sz: u32,
    /// [`SKEL_KERNEL`] or 0.
    pub flags: u32,
    /// Log level of the loader's inner BTF and program loads.
    pub log_level: u32,
    /// Size of the log buffer.
    pub log_size: u32,
    /// User pointer to the log buffer.
    pub log_buf: u64,
}

/// A map descriptor: libbpf's `struct bpf_map_desc`, then the settings a user may change
/// before load.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapDesc {
    /// Out: the map's fd; in with [`set::REUSE`]: a map to use instead of creating one.
    pub map_fd: i32,
    /// 0: the object's.
    pub max_entries: u32,
    /// User pointer to the initial contents (0: the object's bytes).
    pub initial_value: u64,
    /// [`set`] bits: which of the settings below are given.
    pub set: u32,
    /// Key size.
    pub key_size: u32,
    /// Value size.
    pub value_size: u32,
    /// Map flags.
    pub map_flags: u32,
    /// NUMA node.
    pub numa_node: u32,
    /// Inner map template of a map-in-map.
    pub inner_map_fd: i32,
    /// `map_extra`.
    pub map_extra: u64,
}

/// `struct lskel_prog_desc`: a program descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgDesc {
    /// Out: the program's fd; in: [`PROG_SKIP`] to leave it unloaded.
    pub prog_fd: i32,
}

/// The status trailer after the program descriptors.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Out: the 1-based number of the loader step that failed (0: none).
    pub failed_step: u32,
    /// In: the possible-CPU count (the size of a PERF_EVENT_ARRAY declared without
    /// max_entries).
    pub possible_cpus: u32,
    /// Zero.
    pub reserved: u64,
}

/// An attach-target entry, for a program whose section names no target.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttachTarget {
    /// User pointer to the NUL-terminated BTF name.
    pub name: u64,
    /// Length of the name with its NUL.
    pub name_sz: u32,
    /// `freplace`: the program to extend.
    pub attach_prog_fd: u32,
    /// `freplace`: the replaced function's BTF id in that program's BTF.
    pub attach_btf_id: u32,
    /// Zero.
    pub reserved: u32,
}

c_values! { usize;
    /// Size of the header.
    "sizeof(struct lskel_ctx_header)" => HEADER_SIZE = size_of::<Header>();
    "offsetof(struct lskel_ctx_header, sz)" => SZ = offset_of!(Header, sz);
    "offsetof(struct lskel_ctx_header, flags)" => FLAGS = offset_of!(Header, flags);
    "offsetof(struct lskel_ctx_header, log_level)" => LOG_LEVEL = offset_of!(Header, log_level);
    "offsetof(struct lskel_ctx_header, log_size)" => LOG_SIZE = offset_of!(Header, log_size);
    "offsetof(struct lskel_ctx_header, log_buf)" => LOG_BUF = offset_of!(Header, log_buf);
    /// Size of a map descriptor.
    "sizeof(struct lskel_map_desc)" => MAP_DESC_SIZE = size_of::<MapDesc>();
    /// Size of a program descriptor.
    "sizeof(struct lskel_prog_desc)" => PROG_DESC_SIZE = size_of::<ProgDesc>();
    /// Size of the status trailer.
    "sizeof(struct lskel_status)" => STATUS_SIZE = size_of::<Status>();
    /// Alignment of the status trailer (and so of everything after the program descriptors).
    "_Alignof(struct lskel_status)" => STATUS_ALIGN = align_of::<Status>();
    /// Offset of `failed_step` in the status trailer.
    "offsetof(struct lskel_status, failed_step)" => STATUS_FAILED_STEP = offset_of!(Status, failed_step);
    /// Offset of `possible_cpus` in the status trailer.
    "offsetof(struct lskel_status, possible_cpus)" => STATUS_POSSIBLE_CPUS = offset_of!(Status, possible_cpus);
    /// Size of an attach-target entry.
    "sizeof(struct lskel_attach_target)" => TARGET_SIZE = size_of::<AttachTarget>();
    /// Offset of `name` in an attach-target entry.
    "offsetof(struct lskel_attach_target, name)" => TARGET_NAME = offset_of!(AttachTarget, name);
    /// Offset of `name_sz` in an attach-target entry.
    "offsetof(struct lskel_attach_target, name_sz)" => TARGET_NAME_SZ = offset_of!(AttachTarget, name_sz);
    /// Offset of `attach_prog_fd` in an attach-target entry.
    "offsetof(struct lskel_attach_target, attach_prog_fd)" => TARGET_PROG_FD = offset_of!(AttachTarget, attach_prog_fd);
    /// Offset of `attach_btf_id` in an attach-target entry.
    "offsetof(struct lskel_attach_target, attach_btf_id)" => TARGET_BTF_ID = offset_of!(AttachTarget, attach_btf_id);
}

/// Offsets inside a map descriptor.
pub mod map {
    use super::MapDesc;
    use core::mem::offset_of;

    c_values! { usize;
        "offsetof(struct lskel_map_desc, map_fd)" => FD = offset_of!(MapDesc, map_fd);
        "offsetof(struct lskel_map_desc, max_entries)" => MAX_ENTRIES = offset_of!(MapDesc, max_entries);
        "offsetof(struct lskel_map_desc, initial_value)" => INITIAL_VALUE = offset_of!(MapDesc, initial_value);
        "offsetof(struct lskel_map_desc, set)" => SET = offset_of!(MapDesc, set);
        "offsetof(struct lskel_map_desc, key_size)" => KEY_SIZE = offset_of!(MapDesc, key_size);
        "offsetof(struct lskel_map_desc, value_size)" => VALUE_SIZE = offset_of!(MapDesc, value_size);
        "offsetof(struct lskel_map_desc, map_flags)" => MAP_FLAGS = offset_of!(MapDesc, map_flags);
        "offsetof(struct lskel_map_desc, numa_node)" => NUMA_NODE = offset_of!(MapDesc, numa_node);
        "offsetof(struct lskel_map_desc, inner_map_fd)" => INNER_MAP_FD = offset_of!(MapDesc, inner_map_fd);
        "offsetof(struct lskel_map_desc, map_extra)" => MAP_EXTRA = offset_of!(MapDesc, map_extra);
    }
}

/// Offset of `prog_fd` in a program descriptor.
pub const PROG_FD_AT: usize = offset_of!(ProgDesc, prog_fd);

/// Bits of a map descriptor's `set` word: which of the optional settings the user gave.
pub mod set {
    /// `key_size` is set.
    pub const KEY_SIZE: u32 = 1 << 0;
    /// `value_size` is set.
    pub const VALUE_SIZE: u32 = 1 << 1;
    /// `map_flags` is set.
    pub const MAP_FLAGS: u32 = 1 << 2;
    /// `numa_node` is set.
    pub const NUMA_NODE: u32 = 1 << 3;
    /// `map_extra` is set.
    pub const MAP_EXTRA: u32 = 1 << 4;
    /// `inner_map_fd` is set.
    pub const INNER_MAP: u32 = 1 << 5;
    /// Reuse: `map_fd` holds an open map to use instead of creating one. The loader owns that
    /// fd from the start of the run: it closes it on failure and hands it back in `map_fd` on
    /// success, as it does a map it created. The map is used as it is (a data map is neither
    /// written nor frozen).
    pub const REUSE: u32 = 1 << 6;
}

/// `BPF_SKEL_KERNEL` (header `flags` bit, libbpf's `skel_internal.h`): the skeleton runs
/// inside the kernel, so the loader reads initial values with `probe_read_kernel` rather than
/// `copy_from_user`. lskel (user space only) never sets it.
pub const SKEL_KERNEL: u32 = 1;

/// A program's `prog_fd` preset to this by the runtime: do not load it (autoload off); it
/// stays -1, reported absent.
pub const PROG_SKIP: i32 = -1;

/// What a signed loader returns, before it reads or writes a byte of its blob map, when the
/// map's SHA-256 (which the kernel computed when user space asked for it after freezing the
/// map) is not the one written in the loader's own, signed instructions: `-EBADMSG`. No step
/// of a loader reports a failure as a bare return value (a failed step also writes its number
/// into the ctx area), so the runtime tells this one apart by the value alone.
pub const HASH_MISMATCH: i32 = -crate::errno::EBADMSG;

/// The largest ctx the kernel accepts for a `BPF_PROG_TYPE_SYSCALL` test run (`U16_MAX`).
pub const MAX_SIZE: usize = u16::MAX as usize;

/// Offset of map `i`'s descriptor.
pub const fn map_desc(i: usize) -> usize {
    HEADER_SIZE + MAP_DESC_SIZE * i
}
/// Offset of map `i`'s `map_fd`.
pub const fn map_fd(i: usize) -> usize {
    map_desc(i) + map::FD
}
/// Offset of map `i`'s `max_entries`.
pub const fn map_max_entries(i: usize) -> usize {
    map_desc(i) + map::MAX_ENTRIES
}
/// Offset of map `i`'s `initial_value`.
pub const fn map_initial_value(i: usize) -> usize {
    map_desc(i) + map::INITIAL_VALUE
}
/// Offset of program `j`'s `prog_fd`, after `n_maps` map descriptors.
pub const fn prog_fd(n_maps: usize, j: usize) -> usize {
    map_desc(n_maps) + PROG_DESC_SIZE * j + PROG_FD_AT
}
/// Offset of the status trailer after the program descriptors, aligned so that the u64
/// fields after it are aligned whatever the program count.
pub const fn status(n_maps: usize, n_progs: usize) -> usize {
    prog_fd(n_maps, n_progs).next_multiple_of(STATUS_ALIGN)
}
/// Offset of `failed_step` in the status trailer.
pub const fn failed_step(n_maps: usize, n_progs: usize) -> usize {
    status(n_maps, n_progs) + STATUS_FAILED_STEP
}
/// Offset of `possible_cpus` in the status trailer.
pub const fn possible_cpus(n_maps: usize, n_progs: usize) -> usize {
    status(n_maps, n_progs) + STATUS_POSSIBLE_CPUS
}
/// Size of the ctx block without attach targets (the status trailer included).
pub const fn size(n_maps: usize, n_progs: usize) -> usize {
    status(n_maps, n_progs) + STATUS_SIZE
}
/// Offset of attach-target entry `k`.
pub const fn target(n_maps: usize, n_progs: usize, k: usize) -> usize {
    size(n_maps, n_progs) + TARGET_SIZE * k
}
/// Size of the ctx block with `n_targets` attach-target entries.
pub const fn size_with_targets(n_maps: usize, n_progs: usize, n_targets: usize) -> usize {
    target(n_maps, n_progs, n_targets)
}

// The layout as it has been since the loader ABI began: a change here changes every loader.
const _: () = {
    assert!(HEADER_SIZE == 24);
    assert!(MAP_DESC_SIZE == 48);
    assert!(PROG_DESC_SIZE == 4);
    assert!(STATUS_SIZE == 16);
    assert!(STATUS_ALIGN == 8);
    assert!(TARGET_SIZE == 24);
    assert!(map::MAP_EXTRA + 8 == MAP_DESC_SIZE);
    assert!(MAP_DESC_SIZE % 8 == 0 && TARGET_SIZE % 8 == 0);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_8_aligned_whatever_the_counts() {
        for n_maps in 0..3 {
            for n_progs in 0..5 {
                assert_eq!(status(n_maps, n_progs) % 8, 0);
                for k in 0..3 {
                    assert_eq!(target(n_maps, n_progs, k) % 8, 0);
                }
                assert_eq!(size_with_targets(n_maps, n_progs, 3) % 8, 0);
            }
        }
        // One program: the status trailer starts after 4 bytes of padding.
        assert_eq!(status(1, 1), 24 + 48 + 8);
        assert_eq!(size(0, 0), 24 + 16);
        assert_eq!(map_desc(2), 120);
        assert_eq!(prog_fd(2, 1), 24 + 96 + 4);
        // Five programs: 20 bytes, padded to 24.
        assert_eq!(status(3, 5), 24 + 144 + 24);
        assert_eq!(size(3, 5), 24 + 144 + 24 + 16);
    }
}
