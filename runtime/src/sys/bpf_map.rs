//! `bpf(2)` wrappers for typed map access and batches: element operations on plain-old-data keys
//! and values, `BPF_MAP_LOOKUP_AND_DELETE_ELEM` and the `BPF_MAP_*_BATCH` commands. (Program
//! statistics, once here, are [`sys::bpf::prog_stats`](super::bpf::prog_stats); the names stay
//! re-exported.)
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
use std::os::fd::AsRawFd;

use super::bpf::{cmd, map_type};
use super::sized_map::SizedMap;
use crate::{Errno, Error, Pod, Result};

// The command numbers and the statistics API kept their old paths here.
pub use super::bpf::cmd::{
    BPF_ENABLE_STATS, BPF_MAP_DELETE_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH,
    BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_LOOKUP_BATCH, BPF_MAP_UPDATE_BATCH,
};
pub use super::bpf::{enable_stats, prog_stats, ProgStats, BPF_STATS_RUN_TIME};
pub use super::sized_map::MapShape;

use super::bpf::{sys_bpf_unit, BatchRaw, ElemRaw};
use super::sized_map::check_len as check;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
