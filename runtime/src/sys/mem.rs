//! Byte views of `u64` buffers (used for the 8-byte aligned loader ctx).
//!
//! # Safety
//!
//! Viewing `[u64]` as `[u8]` is sound: `u8` has alignment 1, every byte of a `u64` is initialized, every
//! byte pattern is a valid `u64`, and the length in bytes is exactly `8 * len`.
#![allow(unsafe_code)]

/// `&[u64]` as its bytes.
pub(crate) fn u64s_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: see the module docs; the returned slice borrows `words` and covers exactly its memory.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

/// `&mut [u64]` as its bytes.
pub(crate) fn u64s_as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    let len = std::mem::size_of_val(words);
    // SAFETY: see the module docs; the returned slice uniquely borrows `words` and covers exactly its memory.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

/// Reads a plain-old-data value from the start of `bytes` (the object's initial value of a
/// global data section). Panics when `bytes` is shorter than `T`: generated code passes
/// slices whose length it checked at compile time.
pub fn pod_read<T: crate::Pod>(bytes: &[u8]) -> T {
    assert!(
        bytes.len() >= std::mem::size_of::<T>(),
        "initial value is {} bytes, type needs {}",
        bytes.len(),
        std::mem::size_of::<T>()
    );
    // SAFETY: the length is checked above, `read_unaligned` has no alignment requirement, and
    // `T: Pod` means every bit pattern is a valid `T`.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) }
}

/// A zero-sized `T` boxed (no allocation). Its own function: a `T` temporary in `pod_boxed`'s
/// frame would reserve `size_of::<T>()` bytes of stack in unoptimised builds even where this
/// branch is never taken (a 16 MiB `.bss` overflowed the stack).
#[inline(never)]
fn boxed_zst<T: crate::Pod>(bytes: &[u8]) -> Box<T> {
    Box::new(pod_read(bytes))
}

/// [`pod_read`] straight into a heap allocation, so a large global data section (megabytes of
/// `.bss`) never passes through the stack. `bytes` may be shorter than `T` by `T`'s trailing
/// alignment padding.
pub fn pod_boxed<T: crate::Pod>(bytes: &[u8]) -> Box<T> {
    let size = std::mem::size_of::<T>();
    // A section's struct may be padded past the section's bytes (up to its alignment): those
    // padding bytes start as zero.
    let len = bytes.len().min(size);
    if size == 0 {
        return boxed_zst(bytes);
    }
    let layout = std::alloc::Layout::new::<T>();
    // SAFETY: `layout` has a non-zero size. The zeroed allocation is checked for null and gets
    // `len <= size` bytes from `bytes` (the regions cannot overlap); every bit pattern is a valid
    // `T` (`T: Pod`), so `Box::from_raw` takes a fully initialised value allocated with the
    // global allocator and `T`'s layout.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout);
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, len);
        Box::from_raw(ptr.cast::<T>())
    }
}

/// Copies `src` over `dst` without a temporary on the stack (section structs can be megabytes).
pub fn pod_copy<T: crate::Pod>(dst: &mut T, src: &T) {
    // SAFETY: both are valid, aligned `T`s; `dst` is a unique borrow, so they cannot overlap.
    unsafe { std::ptr::copy_nonoverlapping(std::ptr::from_ref(src), std::ptr::from_mut(dst), 1) }
}

/// `&[i8]` as `&[u8]` (C `char` arrays, signed on x86).
pub(crate) fn i8s_as_bytes(chars: &[i8]) -> &[u8] {
    // SAFETY: `i8` and `u8` have the same size and alignment and every bit pattern is valid for
    // both; the slice covers exactly the memory of `chars` and borrows it.
    unsafe { std::slice::from_raw_parts(chars.as_ptr().cast::<u8>(), chars.len()) }
}
