//! `mmap(2)` of BPF maps: the raw [`Mmap`] region, and typed views of global data ([`MappedData`],
//! [`MappedRoData`]).
//!
//! # Safety
//!
//! A mapping is created at an address the kernel picks (never `MAP_FIXED`), so it cannot overlap Rust
//! memory, and it is unmapped exactly once, in `Drop`. References handed out borrow the owning value, so they
//! cannot outlive the mapping. Typed views require `T: Pod` (every byte pattern is a valid `T`) because BPF
//! programs write arbitrary bytes into the map; bounds and alignment are checked before any reference is
//! made. BPF programs may write to the memory concurrently, exactly as with libbpf's skeletons: values read
//! through these views can change between reads; they are never invalid.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::{Errno, Error};

/// Types for which every byte pattern is a valid value, with no padding that matters and no pointers:
/// integers, arrays of them, and `#[repr(C)]` structs made only of such fields.
///
/// # Safety
///
/// Implement only for types where any sequence of `size_of::<Self>()` bytes is a valid value. Generated
/// skeletons implement it for their `#[repr(C)]` global-data structs.
pub unsafe trait Pod: Copy + 'static {}

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

/// A shared mapping of (part of) a BPF map, unmapped on drop.
#[derive(Debug)]
pub struct Mmap {
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

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never true: empty mappings are refused).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The start address.
    pub fn as_ptr(&self) -> *mut u8 {
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

/// Maps a one-entry mmapable array as a `T`: checks `value_size >= size_of::<T>()` and alignment.
fn map_typed<T: Pod>(
    fd: BorrowedFd<'_>,
    value_size: u32,
    writable: bool,
) -> crate::Result<Option<Mmap>> {
    let value_size = value_size as usize;
    let needed = std::mem::size_of::<T>();
    // A section struct may be padded up to its alignment (at most 8) past the map's value;
    // the mapping covers `round_up(value_size, 8)` bytes and more, so those stay in bounds.
    if value_size.next_multiple_of(8) < needed {
        return Err(Error::ValueSize { value_size, needed });
    }
    if needed == 0 {
        return Ok(None);
    }
    let len = array_mmap_len(value_size, 1);
    let map = Mmap::map(fd, len, 0, writable).map_err(|errno| Error::Mmap { len, errno })?;
    assert!(map.as_ptr() as usize % std::mem::align_of::<T>() == 0);
    Ok(Some(map))
}

fn typed_ptr<T>(map: &Option<Mmap>) -> *mut T {
    match map {
        Some(m) => m.as_ptr().cast::<T>(),
        None => NonNull::<T>::dangling().as_ptr(),
    }
}

/// The value of a one-entry `BPF_F_MMAPABLE` array (a `.data`/`.bss` section), mapped read-write as a `T`.
///
/// Gives `&T` through `&self` and `&mut T` through `&mut self`; unmaps on drop. BPF programs may change the
/// value at any time (see the module docs).
pub struct MappedData<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> MappedData<T> {
    /// Maps the value of `map` (of `value_size` bytes, at least `size_of::<T>()`) read-write.
    ///
    /// The mapping is `round_up(round_up(value_size, 8), page_size)` bytes. A zero-sized `T` maps nothing.
    pub fn new(map: BorrowedFd<'_>, value_size: u32) -> crate::Result<Self> {
        Ok(MappedData {
            map: map_typed::<T>(map, value_size, true)?,
            _t: PhantomData,
        })
    }

    /// The value.
    pub fn get(&self) -> &T {
        // SAFETY: the pointer is aligned, in bounds of a live mapping (or dangling for a ZST), `T: Pod`
        // makes any bytes valid, and the borrow of `self` keeps the mapping alive.
        unsafe { &*typed_ptr::<T>(&self.map) }
    }

    /// The value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: as in `get`, and `&mut self` makes this the only Rust reference into the mapping.
        unsafe { &mut *typed_ptr::<T>(&self.map) }
    }

    /// The underlying mapping (`None` for a zero-sized `T`).
    pub fn mmap(&self) -> Option<&Mmap> {
        self.map.as_ref()
    }
}

impl<T: Pod> Deref for MappedData<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: Pod> DerefMut for MappedData<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.get_mut()
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for MappedData<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MappedData").field(self.get()).finish()
    }
}

/// Like [`MappedData`], but mapped read-only (`.rodata`, frozen maps): only `&T` can be had.
pub struct MappedRoData<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> MappedRoData<T> {
    /// Maps the value of `map` read-only. See [`MappedData::new`].
    pub fn new(map: BorrowedFd<'_>, value_size: u32) -> crate::Result<Self> {
        Ok(MappedRoData {
            map: map_typed::<T>(map, value_size, false)?,
            _t: PhantomData,
        })
    }

    /// The value.
    pub fn get(&self) -> &T {
        // SAFETY: as in `MappedData::get`; the pages are read-only and no `&mut` is ever handed out.
        unsafe { &*typed_ptr::<T>(&self.map) }
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
