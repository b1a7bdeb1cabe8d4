//! Kernel numbers the emulator needs, all from `lskel-abi`: error codes and the BPF ABI.

/// Error codes (`errno.h`, and the kernel-internal `ENOTSUPP`).
pub use lskel_abi::errno::{
    E2BIG, EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EFAULT, EINTR, EINVAL, EIO, EMFILE, ENOENT,
    ENOMEM, ENOSPC, ENOTSUPP, EOPNOTSUPP, EPERM, EPROTO, ERANGE,
};

/// BTF kinds (`BTF_KIND_*`).
pub use lskel_abi::btf::kind;

/// Helper ids (`enum bpf_func_id`).
pub use lskel_abi::helper;

/// Map types (`enum bpf_map_type`).
pub use lskel_abi::map_type;

/// Program types (`enum bpf_prog_type`).
pub use lskel_abi::prog_type;

/// `enum bpf_attach_type`.
pub use lskel_abi::attach_type;

/// `bpf_attr` field offsets of the commands the mock kernel implements.
pub mod attr {
    pub use lskel_abi::attr::{btf_load, map_create, map_elem, map_freeze, prog_load};
}

/// The loader ctx layout, from `lskel-abi` (whose `tests/uapi.rs` checks it against C
/// declarations, the emulator's independent view), with the per-map offsets the mock
/// kernel reads.
pub mod ctx {
    use lskel_abi::ctx::{map, map_desc};
    pub use lskel_abi::ctx::{
        map_initial_value, map_max_entries, prog_fd, size, status, FLAGS, HEADER_SIZE, LOG_BUF,
        LOG_LEVEL, LOG_SIZE, MAP_DESC_SIZE, PROG_DESC_SIZE, SZ,
    };

    /// Bit of a map's `set` word: `map_fd` holds a map to reuse instead of creating one
    /// (the loader owns it from the start of the run).
    pub const SET_REUSE: u32 = lskel_abi::ctx::set::REUSE;
    /// Offset of map `i`'s `map_fd`.
    pub fn map_fd(i: usize) -> usize {
        lskel_abi::ctx::map_fd(i)
    }
    /// Offset of map `i`'s `set` word (which settings are given).
    pub fn map_set(i: usize) -> usize {
        map_desc(i) + map::SET
    }
    /// Offset of map `i`'s `key_size`.
    pub fn map_key_size(i: usize) -> usize {
        map_desc(i) + map::KEY_SIZE
    }
    /// Offset of map `i`'s `value_size`.
    pub fn map_value_size(i: usize) -> usize {
        map_desc(i) + map::VALUE_SIZE
    }
    /// Offset of map `i`'s `map_flags`.
    pub fn map_flags(i: usize) -> usize {
        map_desc(i) + map::MAP_FLAGS
    }
    /// Offset of map `i`'s `numa_node`.
    pub fn map_numa_node(i: usize) -> usize {
        map_desc(i) + map::NUMA_NODE
    }
    /// Offset of map `i`'s `inner_map_fd`.
    pub fn map_inner_map_fd(i: usize) -> usize {
        map_desc(i) + map::INNER_MAP_FD
    }
    /// Offset of map `i`'s `map_extra`.
    pub fn map_extra(i: usize) -> usize {
        map_desc(i) + map::MAP_EXTRA
    }
}
