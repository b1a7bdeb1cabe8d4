//! `mmap(2)` of BPF maps: the raw (crate-private) `Mmap` region, and typed views of global data
//! ([`MappedData`], [`MappedRoData`]).
//!
//! # Safety
//!
//! A mapping is created at an address the kernel picks (never `MAP_FIXED`), so it cannot overlap Rust
//! memory, and it is unmapped exactly once, in `Drop`. Typed views require `T: Pod` (every byte pattern is
//! a valid `T`) because BPF programs write arbitrary bytes into the map.
//!
//! Memory that BPF programs (or `BPF_MAP_UPDATE_ELEM` on the same map) can write is never reached through
//! a Rust reference to a plain value (`&T`, `&mut T`, `&[u8]`): the compiler may assume such memory does
//! not change while the reference lives (a spin loop on a field would never see the program's write). A
//! [`MappedData`] keeps a raw pointer and copies values in and out with volatile accesses, or hands out
//! references to atomics (`&AtomicU64`), which are made for memory other parties change. Only
//! [`MappedRoData`] gives `&T`: its map is read-only for programs and frozen for the syscall side.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ops::Deref;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::sys::bpf;
use crate::{Errno, Error};

/// Types for which every byte pattern is a valid value, with no padding that matters and no pointers:
/// integers, arrays of them, and `#[repr(C)]` structs made only of such fields.
///
/// # Safety
///
/// Implement only for types where any sequence of `size_of::<Self>()` bytes is a valid value. Generated
/// skeletons implement it for their `#[repr(C)]` global-data structs.
pub unsafe trait Pod: Copy + 'static {
    /// A copy of the value whose bytes are exactly `bytes` (a ring buffer record, a map value):
    /// `None` unless `bytes.len() == size_of::<Self>()`. `bytes` needs no alignment: it is copied.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (bytes.len() == std::mem::size_of::<Self>()).then(|| crate::sys::mem::pod_read(bytes))
    }

    /// A copy of the value at the start of `bytes`, which may be longer (a perf buffer sample,
    /// padded by the kernel to 8 bytes): `None` when `bytes` is shorter than `Self`.
    fn from_prefix(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= std::mem::size_of::<Self>()).then(|| crate::sys::mem::pod_read(bytes))
    }

    /// The value whose bytes are all zero (valid for every `Pod` type): what C's `= {}` gives.
    fn zeroed() -> Self {
        crate::sys::mem::pod_read(&vec![0u8; std::mem::size_of::<Self>()])
    }
}

/// [`Pod`] types whose every byte is initialised in every value (no padding, no union whose
/// smaller member was written last), so a value can be viewed as its bytes.
///
/// # Safety
///
/// Implement only for types with no padding bytes and no unions: `as_bytes` reads all
/// `size_of::<Self>()` bytes. Generated skeletons implement it for the structs that hold no
/// union (their padding is explicit `__pad_N` fields).
pub unsafe trait PodBytes: Pod {
    /// The bytes of the value (what a program sees, e.g. to write it into a map or a user ring
    /// buffer).
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `self` is a live `Self` of `size_of::<Self>()` bytes, all initialised (the
        // trait's contract); `u8` has alignment 1 and the slice borrows `self`.
        unsafe {
            std::slice::from_raw_parts(
                std::ptr::from_ref(self).cast::<u8>(),
                std::mem::size_of::<Self>(),
            )
        }
    }
}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: every bit pattern of a primitive integer or float is valid.
        unsafe impl Pod for $t {}
    )* };
}
pod!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    ()
);
// SAFETY: an array of `Pod` values has no padding between elements and no invalid patterns.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}
macro_rules! pod_bytes {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive integer or float has no padding bytes.
        unsafe impl PodBytes for $t {}
    )* };
}
pod_bytes!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    ()
);
// SAFETY: array elements follow each other with no padding; each element has none (`T: PodBytes`).
unsafe impl<T: PodBytes, const N: usize> PodBytes for [T; N] {}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// `round_up(round_up(value_size, 8) * max_entries, page_size)`: the `mmap` length of an mmapable array.
pub fn array_mmap_len(value_size: usize, max_entries: usize) -> usize {
    (value_size.next_multiple_of(8) * max_entries).next_multiple_of(page_size())
}

/// A shared mapping of (part of) a BPF map, unmapped on drop. Crate-private: `bytes` and `copy_in` rely
/// on protocols (ring buffer positions) that the callers in this crate follow.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory, not tied to a thread; access goes through `&self` methods that
// only create atomics or shared byte views.
unsafe impl Send for Mmap {}
// SAFETY: as above: `&Mmap` only hands out atomics and shared slices.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, offset)`.
    ///
    /// `fd` must be a BPF map whose `mmap` area covers `offset..offset + len` (callers check its
    /// `map_info` first): a short file would fault on access instead.
    ///
    /// # References
    ///
    /// - [mmap(2)](https://man7.org/linux/man-pages/man2/mmap.2.html)
    pub fn map(
        fd: BorrowedFd<'_>,
        len: usize,
        offset: usize,
        writable: bool,
    ) -> Result<Mmap, Errno> {
        if len == 0 {
            return Err(Errno::INVAL);
        }
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        let offset = libc::off_t::try_from(offset).map_err(|_| Errno::INVAL)?;
        // SAFETY: a NULL hint without MAP_FIXED lets the kernel choose fresh addresses, so no existing memory
        // is replaced; the descriptor is borrowed and valid for the call.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(Errno::INVAL)?;
        Ok(Mmap { ptr, len })
    }

    /// The start address.
    fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    fn check(&self, off: usize, len: usize, align: usize) {
        let end = off.checked_add(len).expect("offset overflow");
        assert!(
            end <= self.len,
            "range {off}..{end} outside a {}-byte mapping",
            self.len
        );
        assert!(
            (self.ptr.as_ptr() as usize + off) % align == 0,
            "offset {off} misaligned for {align}"
        );
    }

    /// The `u64` at `off` as an atomic. Panics if out of bounds or misaligned.
    pub fn atomic_u64(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8, std::mem::align_of::<AtomicU64>());
        // SAFETY: in bounds and aligned (checked); AtomicU64 has the layout of u64 and tolerates concurrent
        // access by other threads or the kernel; the borrow ties it to `self`, which keeps the mapping.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// The `u32` at `off` as an atomic. Panics if out of bounds or misaligned.
    pub fn atomic_u32(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4, std::mem::align_of::<AtomicU32>());
        // SAFETY: as in `atomic_u64`.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// `len` bytes at `off`. Panics if out of bounds.
    ///
    /// Use only for bytes no one writes while the slice lives (e.g. a committed ring buffer record
    /// before the consumer position moves past it).
    pub fn bytes(&self, off: usize, len: usize) -> &[u8] {
        self.check(off, len, 1);
        // SAFETY: in bounds (checked), initialized (mapped pages), borrow tied to `self`; by the contract
        // above nobody writes these bytes while the slice lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) }
    }

    /// Copies `data` into the mapping at `off` (a writable mapping). Panics if out of bounds.
    ///
    /// For areas the other side reads only after a release store that publishes them (a user
    /// ring buffer sample before the producer position moves).
    pub fn copy_in(&self, off: usize, data: &[u8]) {
        self.check(off, data.len(), 1);
        // SAFETY: in bounds (checked); the mapping is shared memory that the kernel reads, not a
        // Rust object, so writing through the raw pointer aliases no reference; by the contract
        // above no one reads these bytes until they are published.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(off), data.len())
        }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this value created and still owns; no reference into it
        // outlives `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Atomic integer types that [`MappedData::atomic_at`] can view a field as.
pub trait AtomicInt: sealed::Sealed + Sync + 'static {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! atomic_int {
    ($($t:ident),*) => { $(
        impl sealed::Sealed for std::sync::atomic::$t {}
        impl AtomicInt for std::sync::atomic::$t {}
    )* };
}
atomic_int!(AtomicU8, AtomicI8, AtomicU16, AtomicI16, AtomicU32, AtomicI32, AtomicU64, AtomicI64);

/// Checks that `fd`, whose info is `info` (asked once by the caller), is a one-entry-or-more
/// `BPF_F_MMAPABLE` array whose value holds a `T`, and maps its first value (`None` for a
/// zero-sized `T`).
fn map_typed<T: Pod>(
    fd: BorrowedFd<'_>,
    info: &bpf::MapInfo,
    writable: bool,
) -> crate::Result<Option<Mmap>> {
    if info.map_type != bpf::map_type::BPF_MAP_TYPE_ARRAY || info.max_entries == 0 {
        return Err(Error::InvalidArgument(
            "global data view of a map that is not a non-empty array",
        ));
    }
    if info.map_flags & bpf::flags::BPF_F_MMAPABLE == 0 {
        return Err(Error::InvalidArgument(
            "global data view of an array without BPF_F_MMAPABLE",
        ));
    }
    let value_size = info.value_size as usize;
    let needed = std::mem::size_of::<T>();
    // A section struct may be padded up to its alignment (at most 8) past the map's value; the
    // kernel's mmap area covers `round_up(value_size, 8)` bytes per entry, rounded to pages, so
    // those stay in bounds.
    if value_size.next_multiple_of(8) < needed || std::mem::align_of::<T>() > page_size() {
        return Err(Error::ValueSize { value_size, needed });
    }
    if needed == 0 {
        return Ok(None);
    }
    let len = array_mmap_len(value_size, 1);
    let map = Mmap::map(fd, len, 0, writable).map_err(|errno| Error::Mmap { len, errno })?;
    Ok(Some(map))
}

/// Copies `len` bytes from `src` to `dst` with relaxed atomic byte stores.
///
/// # Safety
///
/// `dst..dst + len` lies inside a live, writable mapping of [`MappedData`] (checked by its
/// `at`), and `src..src + len` inside a live `Pod` value.
unsafe fn store_bytes(dst: *mut u8, src: *const u8, len: usize) {
    for i in 0..len {
        // SAFETY: the caller's contract above: `dst + i` is inside the writable mapping, where an
        // `AtomicU8` store cannot race with other atomic accesses; `src + i` is inside a `Pod`
        // value whose bytes are all initialized.
        unsafe { (*dst.add(i).cast::<AtomicU8>()).store(src.add(i).read(), Ordering::Relaxed) };
    }
}

fn base_ptr<T>(map: &Option<Mmap>) -> *mut u8 {
    match map {
        Some(m) => m.as_ptr(),
        None => NonNull::<T>::dangling().as_ptr().cast(),
    }
}

/// The value of a one-entry `BPF_F_MMAPABLE` array (a `.data`/`.bss` section), mapped read-write, viewed
/// as a `T`. Unmaps on drop.
///
/// Never hands out `&T` or `&mut T`: programs change the memory at any time. Values are copied in and out
/// with volatile accesses ([`read`](Self::read), [`write`](Self::write), [`read_at`](Self::read_at),
/// [`write_at`](Self::write_at)), and integer fields can be viewed as atomics
/// ([`atomic_at`](Self::atomic_at)). Copies of more than one machine word may tear when a program writes
/// at the same time (the bytes are always a valid `T`); use the atomics to see single fields change
/// consistently, also between threads.
pub struct MappedData<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> MappedData<T> {
    /// Maps the first value of `map` read-write. The map must be an array with `BPF_F_MMAPABLE`
    /// whose value (as the kernel reports it) holds a `T`, and not read-only for programs.
    pub fn new(map: BorrowedFd<'_>) -> crate::Result<Self> {
        let info =
            bpf::map_info(map).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        if info.map_flags & bpf::flags::BPF_F_RDONLY_PROG != 0 {
            return Err(Error::InvalidArgument(
                "writable global data view of a map that is read-only for programs",
            ));
        }
        Ok(MappedData {
            map: map_typed::<T>(map, &info, true)?,
            _t: PhantomData,
        })
    }

    /// Panics unless `off..off + size` lies in `T` and `base + off` is aligned to `align`; returns
    /// `base + off`.
    fn at(&self, off: usize, size: usize, align: usize) -> *mut u8 {
        let end = off.checked_add(size).expect("offset overflow");
        assert!(
            end <= std::mem::size_of::<T>(),
            "range {off}..{end} outside a {}-byte value",
            std::mem::size_of::<T>()
        );
        let base = base_ptr::<T>(&self.map);
        // Stays in bounds (checked above; `wrapping_add` because a zero-sized `T` has no allocation).
        let p = base.wrapping_add(off);
        assert!(
            p as usize % align == 0,
            "offset {off} misaligned for {align}"
        );
        p
    }

    /// A copy of the whole value. Read byte by byte with relaxed atomic loads: the mapping is
    /// shared with BPF programs and with other threads holding this view, and atomic accesses
    /// cannot race (a copy taken while someone writes may mix old and new bytes, which any
    /// `Pod` value allows).
    pub fn read(&self) -> T {
        self.read_at::<T>(0)
    }

    /// Overwrites the whole value, byte by byte with relaxed atomic stores; programs see it at
    /// once. Copies from `value` where it is (a section of many MiB never goes on the stack).
    pub fn write(&self, value: &T) {
        let p = self.at(0, std::mem::size_of::<T>(), 1);
        // SAFETY: `at` checked that the whole `T` lies in the mapping; `value` is a live `T`.
        unsafe {
            store_bytes(
                p,
                std::ptr::from_ref(value).cast(),
                std::mem::size_of::<T>(),
            )
        };
    }

    /// A copy of the `F` at byte offset `off` of the value (relaxed atomic byte loads, see
    /// [`read`](Self::read)). Panics if `F` does not lie inside `T`.
    pub fn read_at<F: Pod>(&self, off: usize) -> F {
        let p = self.at(off, std::mem::size_of::<F>(), 1);
        let mut out = std::mem::MaybeUninit::<F>::zeroed();
        let dst = out.as_mut_ptr().cast::<u8>();
        for i in 0..std::mem::size_of::<F>() {
            // SAFETY: `p + i` is inside the live mapping (checked by `at`); an `AtomicU8` has no
            // alignment and accepts any byte, and atomics are meant for memory others change
            // concurrently. `dst + i` is inside `out`.
            unsafe {
                let byte = (*p.add(i).cast::<AtomicU8>()).load(Ordering::Relaxed);
                dst.add(i).write(byte);
            }
        }
        // SAFETY: every byte of `out` is initialized (zeroed, then written), and any bytes are a
        // valid `F` (`F: Pod`).
        unsafe { out.assume_init() }
    }

    /// Writes `value` at byte offset `off` of the value (relaxed atomic byte stores). Panics if
    /// `F` does not lie inside `T`.
    pub fn write_at<F: Pod>(&self, off: usize, value: F) {
        let p = self.at(off, std::mem::size_of::<F>(), 1);
        // SAFETY: `at` checked that the `F` at `off` lies in the mapping; `value` is a live `F`.
        unsafe {
            store_bytes(
                p,
                std::ptr::from_ref(&value).cast(),
                std::mem::size_of::<F>(),
            )
        };
    }

    /// The integer at byte offset `off` of the value as an atomic (`AtomicU32`, `AtomicI64`, …).
    /// Panics if it does not lie inside `T` or is misaligned.
    pub fn atomic_at<A: AtomicInt>(&self, off: usize) -> &A {
        let p = self.at(off, std::mem::size_of::<A>(), std::mem::align_of::<A>());
        // SAFETY: `p` is in bounds of the live mapping and aligned for `A` (checked by `at`); atomic
        // integers have the layout of the integer, accept any bit pattern, and are meant for memory
        // that others (here: BPF programs, other threads) change concurrently. The borrow of `self`
        // keeps the mapping alive.
        unsafe { &*p.cast::<A>() }
    }

    /// The address of the value (for inspection; do not make references from it).
    pub fn as_ptr(&self) -> *const T {
        base_ptr::<T>(&self.map).cast()
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for MappedData<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MappedData").field(&self.read()).finish()
    }
}

/// The value of a frozen, program-read-only mmapable array (`.rodata`, `.kconfig`), mapped read-only:
/// nothing can change it after load, so it is viewed as `&T`.
pub struct MappedRoData<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> MappedRoData<T> {
    /// Maps the first value of `map` read-only. Besides what [`MappedData::new`] checks, the map must
    /// have `BPF_F_RDONLY_PROG`; it is frozen here if it is not yet (the loader freezes read-only
    /// sections), so the syscall side cannot change it either.
    pub fn new(map: BorrowedFd<'_>) -> crate::Result<Self> {
        let info =
            bpf::map_info(map).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        if info.map_flags & bpf::flags::BPF_F_RDONLY_PROG == 0 {
            return Err(Error::InvalidArgument(
                "read-only global data view of a map that programs can write",
            ));
        }
        // Freeze it (the loader already froze read-only sections). The kernel answers EPERM for a
        // frozen map (or a descriptor opened without write access: then this view cannot be the
        // one that changes it); anything else (EBUSY: a writable mapping exists) is refused.
        match bpf::map_freeze(map) {
            Ok(()) => {}
            Err(e) if e == Errno::PERM => {}
            Err(e) => return Err(Error::syscall("BPF_MAP_FREEZE", e)),
        }
        Ok(MappedRoData {
            map: map_typed::<T>(map, &info, false)?,
            _t: PhantomData,
        })
    }

    /// The value.
    pub fn get(&self) -> &T {
        let p = base_ptr::<T>(&self.map);
        assert!(p as usize % std::mem::align_of::<T>() == 0);
        // SAFETY: page-aligned (hence aligned for `T`, checked in `map_typed`) start of a live mapping
        // of at least `size_of::<T>()` bytes (or dangling and aligned for a zero-sized `T`); any bytes
        // are a valid `T`; the map is read-only for programs and frozen, so nothing writes it while
        // the borrow of `self` (which keeps the mapping) lives.
        unsafe { &*p.cast::<T>() }
    }
}

impl<T: Pod> Deref for MappedRoData<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for MappedRoData<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MappedRoData").field(self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmap_len_rounds_twice() {
        let p = page_size();
        assert_eq!(array_mmap_len(1, 1), p);
        assert_eq!(array_mmap_len(p, 1), p);
        assert_eq!(array_mmap_len(p + 1, 1), 2 * p);
        assert_eq!(array_mmap_len(4, 0), 0);
    }
}
