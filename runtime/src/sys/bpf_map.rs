//! `bpf(2)` wrappers for typed map access, batches and statistics: element operations on
//! plain-old-data keys and values, `BPF_MAP_LOOKUP_AND_DELETE_ELEM`, the `BPF_MAP_*_BATCH`
//! commands, `BPF_OBJ_GET_INFO_BY_FD` of programs with their run-time statistics, and
//! `BPF_ENABLE_STATS`.
//!
//! # Safety
//!
//! Every element operation here goes through a [`SizedMap`], whose sizes describe the map, and
//! checks that the Rust key type has exactly `key_size` bytes and the value type exactly
//! `value_size` bytes before a pointer reaches the kernel. Keys and values the kernel reads are
//! passed by address, never viewed as bytes in Rust (a `Pod` type may have padding bytes);
//! what the kernel writes lands in zeroed `u64` buffers of the length it writes, and values are
//! read out of them with `read_unaligned` (every byte pattern is a valid `Pod`).
#![allow(unsafe_code)]

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::bpf::{cmd, map_type, SizedMap, MAX_ELEM_SIZE, MAX_PERCPU_VALUE_SIZE};
use crate::{Errno, Error, Pod, Result};

/// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`.
pub const BPF_MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
/// `BPF_MAP_LOOKUP_BATCH`.
pub const BPF_MAP_LOOKUP_BATCH: u32 = 24;
/// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`.
pub const BPF_MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
/// `BPF_MAP_UPDATE_BATCH`.
pub const BPF_MAP_UPDATE_BATCH: u32 = 26;
/// `BPF_MAP_DELETE_BATCH`.
pub const BPF_MAP_DELETE_BATCH: u32 = 27;
/// `BPF_ENABLE_STATS`.
pub const BPF_ENABLE_STATS: u32 = 32;
/// `BPF_STATS_RUN_TIME` of `enum bpf_stats_type`.
pub const BPF_STATS_RUN_TIME: u32 = 0;

// `bpf(2)` itself: the wrappers of `sys::bpf`, one copy for the whole crate.
use super::bpf::{sys_bpf, sys_bpf_unit};

/// The type, key and value sizes of a map, checked against what any kernel map can have, with
/// the number of bytes one lookup transfers. Built from sizes known without asking the kernel
/// (a generated skeleton knows them at load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapShape {
    map_type: u32,
    key_size: usize,
    value_size: usize,
    lookup_size: usize,
}

impl MapShape {
    /// Checks the sizes (as [`SizedMap::new`] does) and, for per-CPU map types, reads the number of
    /// possible CPUs ([`possible_cpus`](crate::possible_cpus), cached after its first read).
    pub fn new(map_type: u32, key_size: u32, value_size: u32) -> Result<MapShape> {
        let too_big =
            Error::InvalidArgument("map key or value size larger than any kernel map allows");
        let (key_size, value_size) = (key_size as usize, value_size as usize);
        if key_size > MAX_ELEM_SIZE || value_size > MAX_ELEM_SIZE {
            return Err(too_big);
        }
        let lookup_size = if map_type::is_percpu(map_type) {
            let stride = value_size.next_multiple_of(8);
            if stride > MAX_PERCPU_VALUE_SIZE {
                return Err(too_big);
            }
            stride.checked_mul(crate::possible_cpus()?).ok_or(too_big)?
        } else {
            value_size
        };
        Ok(MapShape {
            map_type,
            key_size,
            value_size,
            lookup_size,
        })
    }

    /// `map_type`.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// `key_size`.
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// `value_size` (one CPU's for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// The map `fd` with this shape.
    ///
    /// # Safety
    ///
    /// The shape must be that of the map behind `fd`: its type, key size and value size (the
    /// kernel copies that many bytes in element operations).
    pub unsafe fn sized(self, fd: BorrowedFd<'_>) -> SizedMap<'_> {
        // SAFETY: the caller's promise; `lookup_size` was computed from the type and value size as
        // the kernel computes its copy size.
        unsafe {
            SizedMap::from_parts(
                fd,
                self.map_type,
                self.key_size,
                self.value_size,
                self.lookup_size,
            )
        }
    }
}

impl<'fd> crate::Map<'fd> {
    /// Wraps `fd` with a shape known without asking the kernel (what generated skeletons do:
    /// their map accessors make no system call).
    ///
    /// # Safety
    ///
    /// `shape` must be the type, key size and value size of the map behind `fd`.
    pub unsafe fn from_shape(fd: BorrowedFd<'fd>, shape: MapShape) -> Self {
        // SAFETY: the caller's promise.
        crate::Map::from_sized(unsafe { shape.sized(fd) })
    }
}

#[repr(C)]
#[derive(Default)]
struct ElemRaw {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn check(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::BufferSize {
            what,
            expected,
            actual,
        })
    }
}

/// Checks that `K` is the map's key type size (`()` for maps without keys).
fn check_key<K: Pod>(m: &SizedMap<'_>) -> Result<()> {
    check("key type", m.key_size(), size_of::<K>())
}

/// Checks that `V` is the map's value type size (one CPU's value for per-CPU maps).
fn check_value<V: Pod>(m: &SizedMap<'_>) -> Result<()> {
    check("value type", m.value_size(), size_of::<V>())
}

/// The address of a key for the kernel; null for a zero-sized key (queues, stacks, blooms).
fn key_addr<K: Pod>(key: Option<&K>) -> u64 {
    match key {
        Some(k) if size_of::<K>() != 0 => std::ptr::from_ref(k) as usize as u64,
        _ => 0,
    }
}

/// How many values one element holds (1, or the number of possible CPUs) and their stride.
fn value_layout<V: Pod>(m: &SizedMap<'_>) -> (usize, usize) {
    if map_type::is_percpu(m.map_type()) {
        let stride = size_of::<V>().next_multiple_of(8);
        (m.lookup_size() / stride.max(1), stride)
    } else {
        (1, size_of::<V>())
    }
}

/// A zeroed, 8-byte aligned buffer of at least `len` bytes.
fn zeroed(len: usize) -> Vec<u64> {
    vec![0u64; len.div_ceil(8).max(1)]
}

/// Reads `n` values of type `V` at `stride` from `buf`.
fn read_values<V: Pod>(buf: &[u64], n: usize, stride: usize) -> Vec<V> {
    let bytes = super::mem::u64s_as_bytes(buf);
    (0..n)
        .map(|i| super::mem::pod_read::<V>(&bytes[i * stride..]))
        .collect()
}

/// `BPF_MAP_LOOKUP_ELEM` (or `cmd`, e.g. `BPF_MAP_LOOKUP_AND_DELETE_ELEM`) of `key`: every value
/// of the element (one, or one per possible CPU). `Ok(None)` on `ENOENT`.
pub fn lookup<K: Pod, V: Pod>(
    m: &SizedMap<'_>,
    cmd: u32,
    key: Option<&K>,
    flags: u64,
) -> Result<Option<Vec<V>>> {
    check_key::<K>(m)?;
    check_value::<V>(m)?;
    let (n, stride) = value_layout::<V>(m);
    let mut buf = zeroed(m.lookup_size());
    let mut raw = ElemRaw {
        map_fd: m.fd().as_raw_fd() as u32,
        key: key_addr(key),
        value: buf.as_mut_ptr() as usize as u64,
        flags,
        ..Default::default()
    };
    // SAFETY: the key is a live `K` of exactly `key_size` bytes (checked; null when 0), and the
    // kernel writes `lookup_size` bytes into `buf`, which holds at least that many.
    match unsafe { sys_bpf_unit(cmd, &mut raw) } {
        Ok(()) => Ok(Some(read_values(&buf, n, stride))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::syscall(op_name(cmd), e)),
    }
}

fn op_name(cmd: u32) -> &'static str {
    match cmd {
        cmd::BPF_MAP_LOOKUP_ELEM => "BPF_MAP_LOOKUP_ELEM",
        cmd::BPF_MAP_UPDATE_ELEM => "BPF_MAP_UPDATE_ELEM",
        cmd::BPF_MAP_DELETE_ELEM => "BPF_MAP_DELETE_ELEM",
        cmd::BPF_MAP_GET_NEXT_KEY => "BPF_MAP_GET_NEXT_KEY",
        BPF_MAP_LOOKUP_AND_DELETE_ELEM => "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        BPF_MAP_LOOKUP_BATCH => "BPF_MAP_LOOKUP_BATCH",
        BPF_MAP_LOOKUP_AND_DELETE_BATCH => "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        BPF_MAP_UPDATE_BATCH => "BPF_MAP_UPDATE_BATCH",
        BPF_MAP_DELETE_BATCH => "BPF_MAP_DELETE_BATCH",
        _ => "bpf",
    }
}

/// `BPF_MAP_UPDATE_ELEM` of `key` with `values`: one value, or one per possible CPU for per-CPU
/// maps (laid out at 8-byte strides as the kernel reads them).
pub fn update<K: Pod, V: Pod>(
    m: &SizedMap<'_>,
    key: Option<&K>,
    values: &[V],
    flags: u64,
) -> Result<()> {
    check_key::<K>(m)?;
    check_value::<V>(m)?;
    let (n, stride) = value_layout::<V>(m);
    check("values (one per possible CPU)", n, values.len())?;
    let mut staging;
    let value = if n == 1 && stride == size_of::<V>() {
        values.as_ptr() as usize as u64
    } else {
        staging = zeroed(m.lookup_size());
        let base = staging.as_mut_ptr().cast::<u8>();
        for (i, v) in values.iter().enumerate() {
            // SAFETY: `i * stride + size_of::<V>() <= n * stride <= lookup_size`, inside
            // `staging`; an untyped copy of `V`'s bytes into a separate buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    std::ptr::from_ref(v).cast::<u8>(),
                    base.add(i * stride),
                    size_of::<V>(),
                )
            };
        }
        staging.as_ptr() as usize as u64
    };
    let mut raw = ElemRaw {
        map_fd: m.fd().as_raw_fd() as u32,
        key: key_addr(key),
        value,
        flags,
        ..Default::default()
    };
    // SAFETY: the key is a live `K` of `key_size` bytes; the value points at `lookup_size`
    // readable bytes (one `V` of `value_size` bytes, or the staging buffer).
    unsafe { sys_bpf_unit(cmd::BPF_MAP_UPDATE_ELEM, &mut raw) }
        .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", e))
}

/// `BPF_MAP_DELETE_ELEM`: `Ok(false)` when the key was absent.
pub fn delete<K: Pod>(m: &SizedMap<'_>, key: &K) -> Result<bool> {
    check_key::<K>(m)?;
    let mut raw = ElemRaw {
        map_fd: m.fd().as_raw_fd() as u32,
        key: key_addr(Some(key)),
        ..Default::default()
    };
    // SAFETY: the kernel reads `key_size` bytes of a live `K` of that size.
    match unsafe { sys_bpf_unit(cmd::BPF_MAP_DELETE_ELEM, &mut raw) } {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::syscall("BPF_MAP_DELETE_ELEM", e)),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first when `None`); `Ok(None)` at the end.
pub fn next_key<K: Pod>(m: &SizedMap<'_>, key: Option<&K>) -> Result<Option<K>> {
    check_key::<K>(m)?;
    let mut buf = zeroed(size_of::<K>());
    let mut raw = ElemRaw {
        map_fd: m.fd().as_raw_fd() as u32,
        key: key_addr(key),
        value: buf.as_mut_ptr() as usize as u64,
        ..Default::default()
    };
    // SAFETY: the kernel reads `key_size` bytes of the key and writes `key_size` bytes into
    // `buf`, which holds at least that many.
    match unsafe { sys_bpf_unit(cmd::BPF_MAP_GET_NEXT_KEY, &mut raw) } {
        Ok(()) => Ok(Some(read_values::<K>(&buf, 1, 0).remove(0))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::syscall("BPF_MAP_GET_NEXT_KEY", e)),
    }
}

/// A bloom filter's `BPF_MAP_LOOKUP_ELEM`: whether `value` may be in the set (`ENOENT`: surely not).
pub fn bloom_contains<V: Pod>(m: &SizedMap<'_>, value: &V) -> Result<bool> {
    check_value::<V>(m)?;
    let mut raw = ElemRaw {
        map_fd: m.fd().as_raw_fd() as u32,
        value: std::ptr::from_ref(value) as usize as u64,
        ..Default::default()
    };
    // SAFETY: a bloom filter's lookup reads (never writes) `value_size` bytes from `value`, a live
    // `V` of that size; it has no key.
    match unsafe { sys_bpf_unit(cmd::BPF_MAP_LOOKUP_ELEM, &mut raw) } {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(Error::syscall("BPF_MAP_LOOKUP_ELEM", e)),
    }
}

#[repr(C)]
#[derive(Default)]
struct BatchRaw {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// The first batch size asked for; doubled whenever a hash bucket holds more (`ENOSPC`).
const FIRST_BATCH: usize = 256;

/// `BPF_MAP_LOOKUP_BATCH` (or `BPF_MAP_LOOKUP_AND_DELETE_BATCH` when `delete`) over the whole
/// map: every key with its value(s), in the kernel's order. The batch grows when a hash bucket
/// does not fit (`ENOSPC`); the end is the kernel's `ENOENT`.
pub fn lookup_batch<K: Pod, V: Pod>(m: &SizedMap<'_>, delete: bool) -> Result<Vec<(K, Vec<V>)>> {
    lookup_batch_from(m, delete, FIRST_BATCH)
}

/// [`lookup_batch`] asking for `chunk` elements first.
fn lookup_batch_from<K: Pod, V: Pod>(
    m: &SizedMap<'_>,
    delete: bool,
    chunk: usize,
) -> Result<Vec<(K, Vec<V>)>> {
    check_key::<K>(m)?;
    check_value::<V>(m)?;
    let cmd = if delete {
        BPF_MAP_LOOKUP_AND_DELETE_BATCH
    } else {
        BPF_MAP_LOOKUP_BATCH
    };
    let (n, stride) = value_layout::<V>(m);
    // The position token: a u32 bucket for hash maps, a key for the others.
    let token_len = m.key_size().max(8);
    let (mut tok_in, mut tok_out) = (zeroed(token_len), zeroed(token_len));
    let mut first = true;
    let mut chunk = chunk.max(1);
    let mut out = Vec::new();
    loop {
        let keys_len = chunk.checked_mul(m.key_size()).ok_or(Errno::TOOBIG);
        let vals_len = chunk.checked_mul(m.lookup_size()).ok_or(Errno::TOOBIG);
        let (keys_len, vals_len) = match (keys_len, vals_len) {
            (Ok(k), Ok(v)) => (k, v),
            _ => return Err(Error::syscall(op_name(cmd), Errno::TOOBIG)),
        };
        let mut keys = zeroed(keys_len);
        let mut vals = zeroed(vals_len);
        let mut raw = BatchRaw {
            in_batch: if first {
                0
            } else {
                tok_in.as_ptr() as usize as u64
            },
            out_batch: tok_out.as_mut_ptr() as usize as u64,
            keys: keys.as_mut_ptr() as usize as u64,
            values: vals.as_mut_ptr() as usize as u64,
            count: u32::try_from(chunk).unwrap_or(u32::MAX),
            map_fd: m.fd().as_raw_fd() as u32,
            ..Default::default()
        };
        // SAFETY: the kernel reads and writes at most `max(key_size, 4)` bytes of the tokens
        // (`token_len` each), writes at most `count` keys of `key_size` bytes and `count` values
        // of `lookup_size` bytes, and the buffers hold `chunk` of each.
        let res = unsafe { sys_bpf_unit(cmd, &mut raw) };
        let got = (raw.count as usize).min(chunk);
        let kb = super::mem::u64s_as_bytes(&keys);
        let vb = super::mem::u64s_as_bytes(&vals);
        for i in 0..got {
            let key = super::mem::pod_read::<K>(&kb[i * m.key_size()..]);
            let values = (0..n)
                .map(|c| super::mem::pod_read::<V>(&vb[i * m.lookup_size() + c * stride..]))
                .collect();
            out.push((key, values));
        }
        match res {
            Ok(()) => {
                std::mem::swap(&mut tok_in, &mut tok_out);
                first = false;
            }
            Err(Errno::NOENT) => return Ok(out),
            Err(Errno::NOSPC) if got == 0 && chunk < (1 << 24) => chunk *= 2,
            Err(e) => return Err(Error::syscall(op_name(cmd), e)),
        }
    }
}

/// `BPF_MAP_UPDATE_BATCH`: stores `values[i]` under `keys[i]` (`elem_flags`: `BPF_ANY`, …).
/// On failure, the error; the elements before the failing one are stored. Not for per-CPU maps.
pub fn update_batch<K: Pod, V: Pod>(
    m: &SizedMap<'_>,
    keys: &[K],
    values: &[V],
    elem_flags: u64,
) -> Result<usize> {
    check_key::<K>(m)?;
    check_value::<V>(m)?;
    if map_type::is_percpu(m.map_type()) {
        return Err(Error::InvalidArgument(
            "update_batch on a per-CPU map (use update per key)",
        ));
    }
    check("values (one per key)", keys.len(), values.len())?;
    let count = u32::try_from(keys.len())
        .map_err(|_| Error::syscall("BPF_MAP_UPDATE_BATCH", Errno::TOOBIG))?;
    if count == 0 {
        return Ok(0);
    }
    let mut raw = BatchRaw {
        keys: keys.as_ptr() as usize as u64,
        values: values.as_ptr() as usize as u64,
        count,
        map_fd: m.fd().as_raw_fd() as u32,
        elem_flags,
        ..Default::default()
    };
    // SAFETY: the kernel reads `count` keys of `key_size` bytes and `count` values of
    // `value_size` bytes, packed: both slices hold `count` elements of exactly those sizes.
    match unsafe { sys_bpf_unit(BPF_MAP_UPDATE_BATCH, &mut raw) } {
        Ok(()) => Ok(raw.count as usize),
        Err(e) => Err(Error::syscall("BPF_MAP_UPDATE_BATCH", e)),
    }
}

/// `BPF_MAP_DELETE_BATCH`: deletes `keys`, returning how many were deleted. A key that is absent
/// stops the batch with `ENOENT`; arrays refuse it (the kernel's error is returned).
pub fn delete_batch<K: Pod>(m: &SizedMap<'_>, keys: &[K]) -> Result<usize> {
    check_key::<K>(m)?;
    let count = u32::try_from(keys.len())
        .map_err(|_| Error::syscall("BPF_MAP_DELETE_BATCH", Errno::TOOBIG))?;
    if count == 0 {
        return Ok(0);
    }
    let mut raw = BatchRaw {
        keys: keys.as_ptr() as usize as u64,
        count,
        map_fd: m.fd().as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: the kernel reads `count` keys of `key_size` bytes from a slice of `count` keys.
    match unsafe { sys_bpf_unit(BPF_MAP_DELETE_BATCH, &mut raw) } {
        Ok(()) => Ok(raw.count as usize),
        Err(e) => Err(Error::syscall("BPF_MAP_DELETE_BATCH", e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Programs: info with run-time statistics; BPF_ENABLE_STATS

/// Offsets in `struct bpf_prog_info` (checked with gcc against `linux/bpf.h`).
mod prog_off {
    pub const TYPE: usize = 0;
    pub const ID: usize = 4;
    pub const TAG: usize = 8;
    pub const NAME: usize = 64;
    pub const RUN_TIME_NS: usize = 192;
    pub const RUN_CNT: usize = 200;
    pub const RECURSION_MISSES: usize = 208;
    pub const VERIFIED_INSNS: usize = 216;
    pub const SIZE: usize = 232;
}

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

#[repr(C)]
#[derive(Default)]
struct InfoRaw {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// Whether `/proc/self/fd` names `fd` a BPF program (`None`: cannot tell).
fn is_bpf_prog(fd: BorrowedFd<'_>) -> Option<bool> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    Some(link.as_os_str() == "anon_inode:bpf-prog")
}

/// `BPF_OBJ_GET_INFO_BY_FD` of a program: its identity and statistics. `EINVAL` for a
/// descriptor that is not a program.
pub fn prog_stats(prog: BorrowedFd<'_>) -> std::result::Result<ProgStats, Errno> {
    if is_bpf_prog(prog) == Some(false) {
        return Err(Errno::INVAL);
    }
    let mut words = [0u64; prog_off::SIZE / 8];
    let mut raw = InfoRaw {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: prog_off::SIZE as u32,
        info: words.as_mut_ptr() as usize as u64,
    };
    // SAFETY: the kernel writes at most `info_len` bytes into `words`, which has that many; all
    // the pointer fields inside the info are zero, so it writes nothing else.
    unsafe { sys_bpf_unit(cmd::BPF_OBJ_GET_INFO_BY_FD, &mut raw) }?;
    let b = super::mem::u64s_as_bytes(&words);
    let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let name = &b[prog_off::NAME..prog_off::NAME + 16];
    let end = name.iter().position(|&c| c == 0).unwrap_or(16);
    Ok(ProgStats {
        prog_type: u32_at(prog_off::TYPE),
        id: u32_at(prog_off::ID),
        tag: b[prog_off::TAG..prog_off::TAG + 8]
            .try_into()
            .expect("8 bytes"),
        name: String::from_utf8_lossy(&name[..end]).into_owned(),
        run_time_ns: u64_at(prog_off::RUN_TIME_NS),
        run_cnt: u64_at(prog_off::RUN_CNT),
        recursion_misses: u64_at(prog_off::RECURSION_MISSES),
        verified_insns: u32_at(prog_off::VERIFIED_INSNS),
    })
}

/// `bpf(BPF_ENABLE_STATS, { type })`: the kernel counts run time and runs of every program while
/// the returned descriptor is open.
pub fn enable_stats(stats_type: u32) -> std::result::Result<OwnedFd, Errno> {
    #[repr(C)]
    struct EnableStatsRaw {
        stats_type: u32,
    }
    let mut raw = EnableStatsRaw { stats_type };
    // SAFETY: no pointers.
    let ret = unsafe { sys_bpf(BPF_ENABLE_STATS, &mut raw) };
    // SAFETY: BPF_ENABLE_STATS returns a new descriptor on success.
    unsafe { super::ret_owned_fd(ret) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_sizes_match_uapi() {
        assert_eq!(size_of::<BatchRaw>(), 56);
        assert_eq!(std::mem::offset_of!(BatchRaw, count), 32);
        assert_eq!(std::mem::offset_of!(BatchRaw, elem_flags), 40);
        assert_eq!(size_of::<ElemRaw>(), 32);
    }

    #[test]
    fn shapes_are_checked() {
        let hash = map_type::BPF_MAP_TYPE_HASH;
        let s = MapShape::new(hash, 4, 12).unwrap();
        assert_eq!((s.key_size(), s.value_size(), s.lookup_size), (4, 12, 12));
        assert!(MapShape::new(hash, MAX_ELEM_SIZE as u32 + 1, 4).is_err());
        let pc = MapShape::new(map_type::BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12).unwrap();
        assert_eq!(pc.lookup_size, 16 * crate::possible_cpus().unwrap());
        assert!(MapShape::new(map_type::BPF_MAP_TYPE_PERCPU_HASH, 4, 40 << 10).is_err());
    }

    #[test]
    fn wrong_types_are_errors_before_any_syscall() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let shape = MapShape::new(map_type::BPF_MAP_TYPE_HASH, 4, 8).unwrap();
        // SAFETY: no call below reaches the kernel: every one fails its size check first.
        let m = unsafe { shape.sized(std::os::fd::AsFd::as_fd(&f)) };
        let e = lookup::<u64, u64>(&m, cmd::BPF_MAP_LOOKUP_ELEM, Some(&1), 0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BufferSize {
                    what: "key type",
                    expected: 4,
                    actual: 8
                }
            ),
            "{e}"
        );
        let e = update::<u32, u32>(&m, Some(&1), &[2], 0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BufferSize {
                    what: "value type",
                    expected: 8,
                    actual: 4
                }
            ),
            "{e}"
        );
        assert!(delete::<u8>(&m, &1).is_err());
        assert!(next_key::<u16>(&m, None).is_err());
        assert!(update_batch::<u32, u64>(&m, &[1, 2], &[1], 0).is_err());
    }

    /// A hash map batch that starts with room for one element: buckets holding two make the
    /// kernel answer `ENOSPC`, and the batch grows until every element came back once.
    #[test]
    fn lookup_batch_grows_on_enospc() {
        use crate::sys::bpf::{map_create, MapCreateAttr};
        let attr = MapCreateAttr {
            map_type: map_type::BPF_MAP_TYPE_HASH,
            key_size: 4,
            value_size: 8,
            max_entries: 256,
            ..Default::default()
        };
        let fd = match map_create(&attr) {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("skipping: no BPF maps here ({e})");
                return;
            }
        };
        let m = SizedMap::new(std::os::fd::AsFd::as_fd(&fd)).unwrap();
        // 256 keys in 256 buckets: some buckets hold two or more.
        for k in 0u32..256 {
            update(&m, Some(&k), &[u64::from(k) * 3], 0).unwrap();
        }
        let all = lookup_batch_from::<u32, u64>(&m, false, 1).unwrap();
        let mut keys: Vec<u32> = all
            .iter()
            .map(|(k, v)| {
                assert_eq!(v, &[u64::from(*k) * 3]);
                *k
            })
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..256).collect::<Vec<_>>());
        let taken = lookup_batch_from::<u32, u64>(&m, true, 1).unwrap();
        assert_eq!(taken.len(), 256);
        assert_eq!(next_key::<u32>(&m, None).unwrap(), None);
    }

    #[test]
    fn prog_stats_refuses_a_file() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(prog_stats(std::os::fd::AsFd::as_fd(&f)), Err(Errno::INVAL));
    }
}
