//! `bpf(2)` wrappers.
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

use std::ffi::CStr;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::ret_owned_fd;
use crate::Errno;

/// `BPF_OBJ_NAME_LEN`: object names hold at most 15 bytes plus a NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;

/// `enum bpf_cmd` values used by this crate.
#[allow(missing_docs)]
pub mod cmd {
    pub const BPF_MAP_CREATE: u32 = 0;
    pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
    pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
    pub const BPF_MAP_DELETE_ELEM: u32 = 3;
    pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
    pub const BPF_PROG_LOAD: u32 = 5;
    pub const BPF_OBJ_PIN: u32 = 6;
    pub const BPF_OBJ_GET: u32 = 7;
    pub const BPF_PROG_TEST_RUN: u32 = 10;
    pub const BPF_PROG_GET_NEXT_ID: u32 = 11;
    pub const BPF_MAP_GET_NEXT_ID: u32 = 12;
    pub const BPF_PROG_GET_FD_BY_ID: u32 = 13;
    pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
    pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
    pub const BPF_RAW_TRACEPOINT_OPEN: u32 = 17;
    pub const BPF_BTF_GET_FD_BY_ID: u32 = 19;
    pub const BPF_MAP_FREEZE: u32 = 22;
    pub const BPF_BTF_GET_NEXT_ID: u32 = 23;
    pub const BPF_LINK_CREATE: u32 = 28;
    pub const BPF_LINK_GET_FD_BY_ID: u32 = 30;
    pub const BPF_LINK_GET_NEXT_ID: u32 = 31;
    pub const BPF_ITER_CREATE: u32 = 33;
    pub const BPF_PROG_BIND_MAP: u32 = 35;
}

/// `enum bpf_map_type` values used by this crate and its tests.
#[allow(missing_docs)]
pub mod map_type {
    pub const BPF_MAP_TYPE_HASH: u32 = 1;
    pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
    pub const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
    pub const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
    pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
    pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
    pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
    pub const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;

    /// Whether lookups of this map type return one value per possible CPU.
    pub fn is_percpu(t: u32) -> bool {
        matches!(
            t,
            BPF_MAP_TYPE_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_ARRAY
                | BPF_MAP_TYPE_LRU_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
        )
    }
}

/// `enum bpf_prog_type` values used by this crate and its tests.
#[allow(missing_docs)]
pub mod prog_type {
    pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
    pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
    pub const BPF_PROG_TYPE_TRACING: u32 = 26;
    pub const BPF_PROG_TYPE_SYSCALL: u32 = 31;
}

/// Flag values (`BPF_F_*`, `BPF_ANY`, …) used by this crate.
#[allow(missing_docs)]
pub mod flags {
    /// `BPF_ANY`: create or update an element.
    pub const BPF_ANY: u64 = 0;
    /// `BPF_NOEXIST`: create only.
    pub const BPF_NOEXIST: u64 = 1;
    /// `BPF_EXIST`: update only.
    pub const BPF_EXIST: u64 = 2;
    /// `BPF_F_LOCK`
    pub const BPF_F_LOCK: u64 = 4;
    /// `BPF_F_RDONLY` (map_flags): read-only for the syscall side.
    pub const BPF_F_RDONLY: u32 = 1 << 3;
    /// `BPF_F_WRONLY` (map_flags)
    pub const BPF_F_WRONLY: u32 = 1 << 4;
    /// `BPF_F_RDONLY_PROG` (map_flags): read-only for programs.
    pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
    /// `BPF_F_WRONLY_PROG` (map_flags)
    pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
    /// `BPF_F_MMAPABLE` (map_flags): the array can be `mmap`ed.
    pub const BPF_F_MMAPABLE: u32 = 1 << 10;
    /// `BPF_F_SLEEPABLE` (prog_flags)
    pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
}

/// `enum bpf_attach_type` values used by this crate.
#[allow(missing_docs)]
pub mod attach_type {
    pub const BPF_TRACE_RAW_TP: u32 = 23;
    pub const BPF_TRACE_FENTRY: u32 = 24;
    pub const BPF_TRACE_ITER: u32 = 28;
    pub const BPF_PERF_EVENT: u32 = 41;
}

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

// ---------------------------------------------------------------------------------------------------------
// BPF_MAP_CREATE

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

// ---------------------------------------------------------------------------------------------------------
// BPF_MAP_*_ELEM, BPF_MAP_FREEZE

#[repr(C)]
#[derive(Default)]
struct ElemRaw {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `bpf(BPF_MAP_LOOKUP_ELEM, …)`: copies the value stored under `key` into `value`.
///
/// # Safety
///
/// `key` must be at least the map's `key_size` bytes and `value` at least its value size (for per-CPU maps:
/// `round_up(value_size, 8) * possible CPUs`): the kernel accesses that many bytes. [`SizedMap`] checks this.
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

/// `struct { link_fd; flags; } iter_create` of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct IterCreateRaw {
    link_fd: u32,
    flags: u32,
}

/// `bpf(BPF_ITER_CREATE, …)`: a new iterator over an iterator link; reading it runs the
/// program once per element.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut raw = IterCreateRaw {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: no pointers; BPF_ITER_CREATE returns a new descriptor.
    unsafe { sys_bpf_fd(cmd::BPF_ITER_CREATE, &mut raw) }
}

/// `struct { prog_fd; map_fd; flags; } prog_bind_map` of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgBindMapRaw {
    prog_fd: u32,
    map_fd: u32,
    flags: u32,
}

/// `bpf(BPF_PROG_BIND_MAP, …)`: keeps `map` alive as long as `prog`, and lists it in the
/// program's `map_ids`, even if no instruction refers to it.
pub fn prog_bind_map(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut raw = ProgBindMapRaw {
        prog_fd: prog.as_raw_fd() as u32,
        map_fd: map.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_unit(cmd::BPF_PROG_BIND_MAP, &mut raw) }
}

/// A map descriptor together with its key and value sizes, queried from the kernel, so element operations
/// can check buffer lengths and be safe.
#[derive(Debug, Clone, Copy)]
pub struct SizedMap<'fd> {
    fd: BorrowedFd<'fd>,
    map_type: u32,
    key_size: usize,
    value_size: usize,
    lookup_size: usize,
}

impl<'fd> SizedMap<'fd> {
    /// Queries the map's info (`BPF_OBJ_GET_INFO_BY_FD`) and, for per-CPU maps, the number of possible CPUs.
    ///
    /// Refuses a descriptor that is not a map (`BPF_OBJ_GET_INFO_BY_FD` would describe a program or
    /// link, whose bytes then read as nonsense sizes), and sizes no kernel map can have: a key or
    /// value larger than [`MAX_ELEM_SIZE`], a per-CPU value larger than [`MAX_PERCPU_VALUE_SIZE`].
    pub fn new(fd: BorrowedFd<'fd>) -> crate::Result<Self> {
        if super::is_bpf_map(fd) == Some(false) {
            return Err(crate::Error::InvalidArgument("not a BPF map descriptor"));
        }
        let info =
            map_info(fd).map_err(|e| crate::Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        Self::from_info(fd, &info)
    }

    fn from_info(fd: BorrowedFd<'fd>, info: &MapInfo) -> crate::Result<Self> {
        let too_big = crate::Error::InvalidArgument(
            "map key or value size larger than any kernel map allows (not a map?)",
        );
        let value_size = info.value_size as usize;
        if info.key_size as usize > MAX_ELEM_SIZE || value_size > MAX_ELEM_SIZE {
            return Err(too_big);
        }
        let lookup_size = if map_type::is_percpu(info.map_type) {
            let stride = value_size.next_multiple_of(8);
            if stride > MAX_PERCPU_VALUE_SIZE {
                return Err(too_big);
            }
            stride
                .checked_mul(crate::map::possible_cpus()?)
                .ok_or(too_big)?
        } else {
            value_size
        };
        Ok(SizedMap {
            fd,
            map_type: info.map_type,
            key_size: info.key_size as usize,
            value_size,
            lookup_size,
        })
    }

    /// A map whose type and sizes the caller knows, with no system call.
    ///
    /// # Safety
    ///
    /// `map_type`, `key_size` and `value_size` must be those of the map behind `fd`, and
    /// `lookup_size` at least the bytes the kernel copies for one element (see
    /// [`lookup_size`](Self::lookup_size)).
    pub(crate) unsafe fn from_parts(
        fd: BorrowedFd<'fd>,
        map_type: u32,
        key_size: usize,
        value_size: usize,
        lookup_size: usize,
    ) -> Self {
        SizedMap {
            fd,
            map_type,
            key_size,
            value_size,
            lookup_size,
        }
    }

    /// The map descriptor.
    pub fn fd(&self) -> BorrowedFd<'fd> {
        self.fd
    }

    /// `map_type`.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// `key_size`.
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// `value_size` (of one CPU's value for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// Bytes a lookup or update transfers: `value_size`, or `round_up(value_size, 8) * possible CPUs` for
    /// per-CPU maps.
    pub fn lookup_size(&self) -> usize {
        self.lookup_size
    }

    fn check(what: &'static str, expected: usize, actual: usize) -> crate::Result<()> {
        if expected == actual {
            Ok(())
        } else {
            Err(crate::Error::BufferSize {
                what,
                expected,
                actual,
            })
        }
    }

    /// Checked [`map_lookup_elem`]: `Ok(false)` when the key is absent (`ENOENT`).
    pub fn lookup(&self, key: &[u8], value: &mut [u8], flags: u64) -> crate::Result<bool> {
        Self::check("key", self.key_size, key.len())?;
        Self::check("value", self.lookup_size, value.len())?;
        // SAFETY: both lengths were checked against the sizes the kernel uses.
        match unsafe { map_lookup_elem(self.fd, key, value, flags) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_LOOKUP_ELEM", e)),
        }
    }

    /// Checked [`map_update_elem`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> crate::Result<()> {
        Self::check("key", self.key_size, key.len())?;
        Self::check("value", self.lookup_size, value.len())?;
        // SAFETY: both lengths were checked against the sizes the kernel uses.
        unsafe { map_update_elem(self.fd, key, value, flags) }
            .map_err(|e| crate::Error::syscall("BPF_MAP_UPDATE_ELEM", e))
    }

    /// Checked [`map_delete_elem`]: `Ok(false)` when the key was absent.
    pub fn delete(&self, key: &[u8]) -> crate::Result<bool> {
        Self::check("key", self.key_size, key.len())?;
        // SAFETY: the key length was checked.
        match unsafe { map_delete_elem(self.fd, key) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_DELETE_ELEM", e)),
        }
    }

    /// Checked [`map_get_next_key`]: `Ok(false)` after the last key.
    pub fn next_key(&self, key: Option<&[u8]>, next_key: &mut [u8]) -> crate::Result<bool> {
        if let Some(key) = key {
            Self::check("key", self.key_size, key.len())?;
        }
        Self::check("next_key", self.key_size, next_key.len())?;
        // SAFETY: both lengths were checked.
        match unsafe { map_get_next_key(self.fd, key, next_key) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_GET_NEXT_KEY", e)),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// BPF_PROG_LOAD

#[repr(C)]
#[derive(Default)]
struct ProgLoadRaw {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_btf_obj_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    log_true_size: u32,
    prog_token_fd: i32,
    fd_array_cnt: u32,
    signature: u64,
    signature_size: u32,
    keyring_id: i32,
}

/// Arguments of `BPF_PROG_LOAD`. `Default` gives an empty program of type 0.
#[derive(Debug, Default)]
pub struct ProgLoadAttr<'a> {
    /// `prog_type`: one of `enum bpf_prog_type`.
    pub prog_type: u32,
    /// Raw `struct bpf_insn` bytes; the length must be a multiple of 8.
    pub insns: &'a [u8],
    /// `license`.
    pub license: Option<&'a CStr>,
    /// `log_level` (0: no log; 1: verbose on failure; 2: full; 4: stats).
    pub log_level: u32,
    /// `log_buf` / `log_size`: the verifier log buffer.
    pub log_buf: Option<&'a mut [u8]>,
    /// `kern_version` (unused by modern kernels).
    pub kern_version: u32,
    /// `prog_flags` (`BPF_F_SLEEPABLE`, …).
    pub prog_flags: u32,
    /// `prog_name`, truncated to 15 bytes.
    pub name: &'a str,
    /// `prog_ifindex` (device offload).
    pub prog_ifindex: u32,
    /// `expected_attach_type`.
    pub expected_attach_type: u32,
    /// `prog_btf_fd`: the object's BTF.
    pub prog_btf_fd: Option<BorrowedFd<'a>>,
    /// `func_info` records (`func_info_cnt` = len / `func_info_rec_size`).
    pub func_info: &'a [u8],
    /// `func_info_rec_size`.
    pub func_info_rec_size: u32,
    /// `line_info` records.
    pub line_info: &'a [u8],
    /// `line_info_rec_size`.
    pub line_info_rec_size: u32,
    /// `attach_btf_id`.
    pub attach_btf_id: u32,
    /// `attach_btf_obj_fd` / `attach_prog_fd` (a union in the kernel).
    pub attach_fd: Option<BorrowedFd<'a>>,
    /// `core_relos` records.
    pub core_relos: &'a [u8],
    /// `core_relo_rec_size`.
    pub core_relo_rec_size: u32,
    /// `fd_array` (empty: NULL). Raw descriptor numbers; the kernel checks each one it uses.
    pub fd_array: &'a [RawFd],
    /// `fd_array_cnt`: bind the first `fd_array_cnt` maps of `fd_array` (0: only those referenced).
    pub fd_array_cnt: u32,
    /// `signature` (empty: unsigned).
    pub signature: &'a [u8],
    /// `keyring_id`.
    pub keyring_id: i32,
    /// Output: `log_true_size`, the log length the kernel needed, NUL included.
    pub log_true_size: u32,
}

fn rec_cnt(bytes: &[u8], rec_size: u32) -> Result<u32, Errno> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if rec_size == 0 || bytes.len() % rec_size as usize != 0 {
        return Err(Errno::INVAL);
    }
    len_u32(bytes.len() / rec_size as usize)
}

/// `bpf(BPF_PROG_LOAD, …)`: verifies and loads a program. Sets `attr.log_true_size`.
///
/// # References
///
/// - [bpf(2)](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn prog_load(attr: &mut ProgLoadAttr<'_>) -> Result<OwnedFd, Errno> {
    if attr.insns.len() % 8 != 0 || (attr.fd_array_cnt as usize) > attr.fd_array.len() {
        return Err(Errno::INVAL);
    }
    let (log_buf, log_size) = match attr.log_buf.as_deref_mut() {
        Some(buf) if !buf.is_empty() => (ptr_u64(buf.as_mut_ptr()), len_u32(buf.len())?),
        _ => (0, 0),
    };
    let mut raw = ProgLoadRaw {
        prog_type: attr.prog_type,
        insn_cnt: len_u32(attr.insns.len() / 8)?,
        insns: slice_ptr(attr.insns),
        license: attr.license.map_or(0, |l| ptr_u64(l.as_ptr())),
        log_level: attr.log_level,
        log_size,
        log_buf,
        kern_version: attr.kern_version,
        prog_flags: attr.prog_flags,
        prog_name: obj_name(attr.name),
        prog_ifindex: attr.prog_ifindex,
        expected_attach_type: attr.expected_attach_type,
        prog_btf_fd: fd_u32(attr.prog_btf_fd),
        func_info_rec_size: attr.func_info_rec_size,
        func_info: slice_ptr(attr.func_info),
        func_info_cnt: rec_cnt(attr.func_info, attr.func_info_rec_size)?,
        line_info_rec_size: attr.line_info_rec_size,
        line_info: slice_ptr(attr.line_info),
        line_info_cnt: rec_cnt(attr.line_info, attr.line_info_rec_size)?,
        attach_btf_id: attr.attach_btf_id,
        attach_btf_obj_fd: fd_u32(attr.attach_fd),
        core_relo_cnt: rec_cnt(attr.core_relos, attr.core_relo_rec_size)?,
        fd_array: if attr.fd_array.is_empty() {
            0
        } else {
            ptr_u64(attr.fd_array.as_ptr())
        },
        core_relos: slice_ptr(attr.core_relos),
        core_relo_rec_size: attr.core_relo_rec_size,
        log_true_size: 0,
        prog_token_fd: 0,
        fd_array_cnt: attr.fd_array_cnt,
        signature: slice_ptr(attr.signature),
        signature_size: len_u32(attr.signature.len())?,
        keyring_id: attr.keyring_id,
    };
    if raw.log_level != 0 && raw.log_buf == 0 {
        return Err(Errno::INVAL);
    }
    // SAFETY: every pointer comes from a slice or CStr borrowed for this call, with its count/size field
    // derived from the same slice (insns: len/8 records of 8 bytes; info records: len/rec_size; the log
    // buffer, the only one written: its length). `fd_array` is only read, at the indices the program
    // names; an index past the slice makes the kernel read (never write) other memory of this process or
    // fail with EFAULT, which cannot break Rust's invariants.
    let res = unsafe { sys_bpf_fd(cmd::BPF_PROG_LOAD, &mut raw) };
    attr.log_true_size = raw.log_true_size;
    res
}

// ---------------------------------------------------------------------------------------------------------
// BPF_PROG_TEST_RUN

#[repr(C)]
#[derive(Default)]
struct TestRunRaw {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Arguments of `BPF_PROG_TEST_RUN`.
#[derive(Debug, Default)]
pub struct TestRunAttr<'a> {
    /// `data_in` / `data_size_in`.
    pub data_in: &'a [u8],
    /// `data_out` / `data_size_out`.
    pub data_out: Option<&'a mut [u8]>,
    /// `ctx_in` / `ctx_size_in`. Mutable: for `BPF_PROG_TYPE_SYSCALL` the kernel copies the context
    /// back into this buffer after the run.
    pub ctx_in: Option<&'a mut [u8]>,
    /// `ctx_out` / `ctx_size_out`.
    pub ctx_out: Option<&'a mut [u8]>,
    /// `repeat`.
    pub repeat: u32,
    /// `flags`.
    pub flags: u32,
    /// `cpu`.
    pub cpu: u32,
    /// `batch_size`.
    pub batch_size: u32,
}

/// What `BPF_PROG_TEST_RUN` reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRunOutput {
    /// `retval`: the program's return value (`r0`, truncated to 32 bits).
    pub retval: u32,
    /// `duration` in ns (average per repetition).
    pub duration: u32,
    /// `data_size_out`.
    pub data_size_out: u32,
    /// `ctx_size_out`.
    pub ctx_size_out: u32,
}

/// `bpf(BPF_PROG_TEST_RUN, …)`: runs a program once (or `repeat` times) on the given input.
pub fn prog_test_run(prog: BorrowedFd<'_>, attr: TestRunAttr<'_>) -> Result<TestRunOutput, Errno> {
    fn out(buf: &mut Option<&mut [u8]>) -> Result<(u64, u32), Errno> {
        match buf.as_deref_mut() {
            Some(b) if !b.is_empty() => Ok((ptr_u64(b.as_mut_ptr()), len_u32(b.len())?)),
            _ => Ok((0, 0)),
        }
    }
    let mut attr = attr;
    let (data_out, data_size_out) = out(&mut attr.data_out)?;
    let (ctx_in, ctx_size_in) = out(&mut attr.ctx_in)?;
    let (ctx_out, ctx_size_out) = out(&mut attr.ctx_out)?;
    let mut raw = TestRunRaw {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: len_u32(attr.data_in.len())?,
        data_in: slice_ptr(attr.data_in),
        data_size_out,
        data_out,
        repeat: attr.repeat,
        ctx_size_in,
        ctx_in,
        ctx_size_out,
        ctx_out,
        flags: attr.flags,
        cpu: attr.cpu,
        batch_size: attr.batch_size,
        ..Default::default()
    };
    // SAFETY: each pointer comes from a slice borrowed (mutably, where the kernel writes) for this call,
    // with its size field taken from the same slice.
    unsafe { sys_bpf_unit(cmd::BPF_PROG_TEST_RUN, &mut raw) }?;
    Ok(TestRunOutput {
        retval: raw.retval,
        duration: raw.duration,
        data_size_out: raw.data_size_out,
        ctx_size_out: raw.ctx_size_out,
    })
}

// ---------------------------------------------------------------------------------------------------------
// BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_CREATE

#[repr(C)]
#[derive(Default)]
struct RawTpRaw {
    name: u64,
    prog_fd: u32,
    _pad: u32,
    cookie: u64,
}

/// `bpf(BPF_RAW_TRACEPOINT_OPEN, …)`: attaches a raw tracepoint program to tracepoint `name`, or a
/// `tp_btf`/`fentry`-style tracing program to its load-time target when `name` is `None`.
pub fn raw_tracepoint_open(prog: BorrowedFd<'_>, name: Option<&CStr>) -> Result<OwnedFd, Errno> {
    let mut raw = RawTpRaw {
        name: name.map_or(0, |n| ptr_u64(n.as_ptr())),
        prog_fd: prog.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `name` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf_fd(cmd::BPF_RAW_TRACEPOINT_OPEN, &mut raw) }
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateRaw {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    target_btf_id: u32,
    _rest: [u32; 7],
}

/// What a `BPF_LINK_CREATE` attaches to.
#[derive(Debug, Clone, Copy)]
pub enum LinkTarget<'a> {
    /// No target descriptor (`target_fd` = 0), e.g. iterators and tracing programs.
    None,
    /// `target_fd`: a cgroup, a netns, a program, …
    Fd(BorrowedFd<'a>),
    /// `target_ifindex`: a network device.
    Ifindex(u32),
    /// `target_btf_id` (with `target_fd` = the BTF or program it belongs to, if any).
    BtfId {
        /// `target_fd`.
        obj: Option<BorrowedFd<'a>>,
        /// `target_btf_id`.
        id: u32,
    },
}

/// `bpf(BPF_LINK_CREATE, …)`: attaches `prog` with `attach_type` (`enum bpf_attach_type`).
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: LinkTarget<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<OwnedFd, Errno> {
    let (target_fd, target_btf_id) = match target {
        LinkTarget::None => (0, 0),
        LinkTarget::Fd(fd) => (fd.as_raw_fd() as u32, 0),
        LinkTarget::Ifindex(i) => (i, 0),
        LinkTarget::BtfId { obj, id } => (fd_u32(obj), id),
    };
    let mut raw = LinkCreateRaw {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd,
        attach_type,
        flags,
        target_btf_id,
        ..Default::default()
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_fd(cmd::BPF_LINK_CREATE, &mut raw) }
}

/// `link_create` of `union bpf_attr` with its `perf_event` member (`bpf_cookie` at offset 16).
#[repr(C)]
#[derive(Default)]
struct LinkCreatePerfEventRaw {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    bpf_cookie: u64,
    _rest: [u32; 6],
}

/// `bpf(BPF_LINK_CREATE, …)` of attach type `BPF_PERF_EVENT`: attaches `prog` to the perf event `event`
/// (a kprobe, uprobe, tracepoint or hardware/software event) with `bpf_cookie`, which the program reads
/// with `bpf_get_attach_cookie`.
pub fn link_create_perf_event(
    prog: BorrowedFd<'_>,
    event: BorrowedFd<'_>,
    bpf_cookie: u64,
) -> Result<OwnedFd, Errno> {
    let mut raw = LinkCreatePerfEventRaw {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd: event.as_raw_fd() as u32,
        attach_type: attach_type::BPF_PERF_EVENT,
        bpf_cookie,
        ..Default::default()
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_fd(cmd::BPF_LINK_CREATE, &mut raw) }
}

// ---------------------------------------------------------------------------------------------------------
// BPF_OBJ_PIN, BPF_OBJ_GET

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

// ---------------------------------------------------------------------------------------------------------
// BPF_OBJ_GET_INFO_BY_FD

#[repr(C)]
#[derive(Default)]
struct InfoRaw {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD)` into `buf` (a `struct bpf_*_info`). Returns the length the kernel filled.
fn obj_get_info(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
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

fn rd_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn rd_u64(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn wr_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn wr_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// `sizeof(struct bpf_prog_info)` in the uapi header this crate was written against.
pub const PROG_INFO_SIZE: usize = 232;
/// `sizeof(struct bpf_map_info)` in the uapi header this crate was written against.
pub const MAP_INFO_SIZE: usize = 104;

mod prog_info_off {
    pub const TYPE: usize = 0;
    pub const ID: usize = 4;
    pub const TAG: usize = 8;
    pub const XLATED_PROG_LEN: usize = 20;
    pub const XLATED_PROG_INSNS: usize = 32;
    pub const NR_MAP_IDS: usize = 52;
    pub const MAP_IDS: usize = 56;
    pub const NAME: usize = 64;
    pub const BTF_ID: usize = 128;
    pub const VERIFIED_INSNS: usize = 216;
    pub const ATTACH_BTF_OBJ_ID: usize = 220;
    pub const ATTACH_BTF_ID: usize = 224;
}

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
    let buf = super::mem::u64s_as_bytes_mut(&mut words);
    obj_get_info(prog, buf)?;
    let xlated_len = rd_u32(buf, o::XLATED_PROG_LEN);
    let nr_map_ids = rd_u32(buf, o::NR_MAP_IDS);

    let mut xlated = vec![0u8; xlated_len as usize];
    let mut map_ids = vec![0u32; nr_map_ids as usize];
    let mut words2 = [0u64; PROG_INFO_SIZE / 8];
    let buf2 = super::mem::u64s_as_bytes_mut(&mut words2);
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
        verified_insns: rd_u32(buf2, o::VERIFIED_INSNS),
        attach_btf_obj_id: rd_u32(buf2, o::ATTACH_BTF_OBJ_ID),
        attach_btf_id: rd_u32(buf2, o::ATTACH_BTF_ID),
    })
}

/// The largest key or value size [`SizedMap`] accepts: the kernel refuses map elements that user
/// space could not copy (larger than `KMALLOC_MAX_SIZE`, 4 MiB with 4 KiB pages), so this bound,
/// with room to spare for other page sizes, only catches sizes read from something that is not a map.
pub const MAX_ELEM_SIZE: usize = 64 << 20;

/// The largest per-CPU value (rounded up to 8) a per-CPU map can have: `PCPU_MIN_UNIT_SIZE`.
pub const MAX_PERCPU_VALUE_SIZE: usize = 32 << 10;

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
    if super::is_bpf_map(map) == Some(false) {
        return Err(Errno::INVAL);
    }
    let mut words = [0u64; MAP_INFO_SIZE / 8];
    let b = super::mem::u64s_as_bytes_mut(&mut words);
    obj_get_info(map, b)?;
    Ok(MapInfo {
        map_type: rd_u32(b, 0),
        id: rd_u32(b, 4),
        key_size: rd_u32(b, 8),
        value_size: rd_u32(b, 12),
        max_entries: rd_u32(b, 16),
        map_flags: rd_u32(b, 20),
        name: name_from_bytes(&b[24..24 + BPF_OBJ_NAME_LEN]),
        btf_id: rd_u32(b, 64),
        btf_key_type_id: rd_u32(b, 68),
        btf_value_type_id: rd_u32(b, 72),
        map_extra: rd_u64(b, 80),
    })
}

/// `id` of any BPF object (program, map, link or BTF), from `BPF_OBJ_GET_INFO_BY_FD`: in every
/// `struct bpf_*_info` except BTF's the id is the second `u32`.
pub fn prog_or_map_id(fd: impl AsFd) -> Result<u32, Errno> {
    let mut words = [0u64; 2];
    let b = super::mem::u64s_as_bytes_mut(&mut words);
    obj_get_info(fd.as_fd(), b)?;
    Ok(rd_u32(b, 4))
}

// ---------------------------------------------------------------------------------------------------------
// Taking ownership of the descriptors a loader program returned

/// Takes ownership of the descriptors the loader program left in a ctx after a successful run: each slot
/// holding a value `> 0` becomes an `OwnedFd`, each other slot `None`. A number found in two slots is taken
/// once (the later slot gets `None`) so it cannot be closed twice.
///
/// A descriptor that landed on 1 or 2 (closed stdout/stderr) is moved above 2 (as libbpf's
/// `ensure_good_fd` does). None can be 0, which the ctx reads as "no descriptor": the loader map and
/// program, created before the loader runs and held through the run, take the lowest free numbers
/// first, so only the descriptors of those two may be low (unless another thread closes descriptor 0
/// during the load), and they are closed when the load ends.
///
/// Only for [`bpf_load_and_run`](crate::bpf_load_and_run), right after the loader returned success.
pub(crate) fn take_loader_fds(
    ctx: &crate::abi::LoaderCtx,
) -> (Vec<Option<OwnedFd>>, Vec<Option<OwnedFd>>) {
    let mut seen = std::collections::HashSet::new();
    let mut take = |raw: i32| -> Option<OwnedFd> {
        if raw <= 0 || !seen.insert(raw) {
            return None;
        }
        // SAFETY: the loader contract (design.md): on success the loader program stores into the ctx the
        // descriptors it created in this process with `bpf_sys_bpf` and did not close; nothing else owns
        // them, and the duplicate check above makes each number owned once.
        unsafe { ret_owned_fd(i64::from(raw)) }
            .ok()
            .map(super::above_stdio)
    };
    let maps = (0..ctx.n_maps()).map(|i| take(ctx.map_fd(i))).collect();
    let progs = (0..ctx.n_progs()).map(|j| take(ctx.prog_fd(j))).collect();
    (maps, progs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_sizes_match_uapi() {
        // offsetofend() of the last field used, rounded up to 8, checked with gcc against bpf.h.
        assert_eq!(size_of::<MapCreateRaw>(), 96);
        assert_eq!(std::mem::offset_of!(MapCreateRaw, map_extra), 64);
        assert_eq!(std::mem::offset_of!(MapCreateRaw, excl_prog_hash_size), 88);
        assert_eq!(size_of::<ElemRaw>(), 32);
        assert_eq!(size_of::<ProgLoadRaw>(), 168);
        assert_eq!(std::mem::offset_of!(ProgLoadRaw, fd_array), 120);
        assert_eq!(std::mem::offset_of!(ProgLoadRaw, core_relo_rec_size), 136);
        assert_eq!(std::mem::offset_of!(ProgLoadRaw, log_true_size), 140);
        assert_eq!(std::mem::offset_of!(ProgLoadRaw, keyring_id), 164);
        assert_eq!(size_of::<TestRunRaw>(), 80);
        assert_eq!(std::mem::offset_of!(TestRunRaw, ctx_in), 48);
        assert_eq!(std::mem::offset_of!(TestRunRaw, batch_size), 72);
        assert_eq!(size_of::<RawTpRaw>(), 24);
        assert_eq!(size_of::<LinkCreateRaw>(), 48);
        assert_eq!(size_of::<LinkCreatePerfEventRaw>(), 48);
        assert_eq!(size_of::<ObjRaw>(), 24);
        assert_eq!(size_of::<IdRaw>(), 16);
        assert_eq!(size_of::<InfoRaw>(), 16);
    }

    fn info(map_type: u32, key_size: u32, value_size: u32) -> MapInfo {
        MapInfo {
            map_type,
            id: 1,
            key_size,
            value_size,
            max_entries: 1,
            map_flags: 0,
            name: String::new(),
            btf_id: 0,
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            map_extra: 0,
        }
    }

    #[test]
    fn sized_map_refuses_sizes_no_map_has() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let fd = f.as_fd();
        let array = map_type::BPF_MAP_TYPE_ARRAY;
        let percpu = map_type::BPF_MAP_TYPE_PERCPU_ARRAY;
        // What a program's info reads as: the tag's bytes as key and value sizes.
        assert!(SizedMap::from_info(fd, &info(array, 0x1234_5678, 0xe400_0000)).is_err());
        assert!(SizedMap::from_info(fd, &info(array, 4, MAX_ELEM_SIZE as u32 + 1)).is_err());
        assert!(SizedMap::from_info(fd, &info(array, MAX_ELEM_SIZE as u32 + 1, 4)).is_err());
        assert!(SizedMap::from_info(fd, &info(percpu, 4, 32 << 10 | 1)).is_err());
        let m = SizedMap::from_info(fd, &info(array, 4, 1 << 20)).unwrap();
        assert_eq!((m.key_size(), m.lookup_size()), (4, 1 << 20));
        assert!(SizedMap::from_info(fd, &info(percpu, 4, 32 << 10)).is_ok());
    }

    #[test]
    fn map_info_refuses_a_file() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(map_info(f.as_fd()), Err(Errno::INVAL));
        assert!(matches!(
            SizedMap::new(f.as_fd()),
            Err(crate::Error::InvalidArgument(_))
        ));
    }

    /// Set in the child of [`loader_fds_are_kept_above_stdio`]: the file it writes its verdict to.
    const STDIO_CHILD: &str = "LSKEL_STDIO_CHILD_OUT";

    /// Child side: closes stdout and stderr, hands `take_loader_fds` descriptors that landed on
    /// them, and says what it got back.
    fn stdio_child() -> String {
        use std::os::fd::IntoRawFd;
        for fd in [1, 2] {
            // SAFETY: this child process runs this test alone, and nothing in it uses descriptors 1 and 2
            // after this but std's stdout/stderr, which take EBADF as success. (Rust's runtime reopens
            // closed standard descriptors at start-up, so the parent cannot hand them over closed.)
            unsafe { libc::close(fd) };
        }
        let mut held = Vec::new();
        let mut low = Vec::new();
        let mut high = None;
        for _ in 0..8 {
            let f = match std::fs::File::open("/dev/null") {
                Ok(f) => f,
                Err(e) => return format!("open /dev/null: {e}"),
            };
            match f.as_raw_fd() {
                // 0 means "no descriptor" in a ctx; keep it occupied.
                0 => held.push(f),
                1 | 2 => low.push(f.into_raw_fd()),
                _ if high.is_none() => high = Some(f.into_raw_fd()),
                _ => held.push(f),
            }
        }
        if low.len() != 2 {
            return format!("the child did not get descriptors 1 and 2 (got {low:?})");
        }
        let high = high.expect("a descriptor above 2");
        let mut ctx = crate::abi::LoaderCtx::new(2, 1);
        let slots = [
            crate::abi::map_desc_off(0) + crate::abi::MAP_DESC_FD_OFF,
            crate::abi::map_desc_off(1) + crate::abi::MAP_DESC_FD_OFF,
            crate::abi::prog_desc_off(2, 0) + crate::abi::PROG_DESC_FD_OFF,
        ];
        for (off, fd) in slots.into_iter().zip([low[0], high, low[1]]) {
            ctx.as_bytes_mut()[off..off + 4].copy_from_slice(&fd.to_ne_bytes());
        }
        let (maps, progs) = take_loader_fds(&ctx);
        let got: Vec<RawFd> = maps
            .iter()
            .chain(&progs)
            .map(|f| f.as_ref().map_or(-1, |f| f.as_raw_fd()))
            .collect();
        if got.iter().any(|&fd| fd <= 2) || got[1] != high {
            return format!(
                "take_loader_fds returned {got:?} for {:?}",
                [low[0], high, low[1]]
            );
        }
        // The low numbers were closed, not leaked.
        for fd in &low {
            if std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok() {
                return format!("descriptor {fd} was left open");
            }
        }
        "ok".into()
    }

    #[test]
    fn loader_fds_are_kept_above_stdio() {
        if let Some(out) = std::env::var_os(STDIO_CHILD) {
            std::fs::write(out, stdio_child()).unwrap();
            return;
        }
        let out = std::env::temp_dir().join(format!("lskel-stdio-{}", std::process::id()));
        let _ = std::fs::remove_file(&out);
        // Only this test of this binary, which closes its stdout and stderr.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sys::bpf::tests::loader_fds_are_kept_above_stdio",
                "--test-threads=1",
            ])
            .env(STDIO_CHILD, &out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let verdict = std::fs::read_to_string(&out);
        let _ = std::fs::remove_file(&out);
        assert!(status.success(), "child exited with {status}");
        assert_eq!(verdict.unwrap().as_str(), "ok");
    }

    #[test]
    fn obj_name_truncates_and_terminates() {
        let n = obj_name("a_very_long_name_indeed");
        assert_eq!(&n[..15], b"a_very_long_nam");
        assert_eq!(n[15], 0);
        assert_eq!(name_from_bytes(&obj_name("x")), "x");
    }
}
