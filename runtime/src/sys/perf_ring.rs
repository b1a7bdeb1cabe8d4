//! The perf side of [`PerfBuffer`](crate::perfbuf::PerfBuffer): `perf_event_open(2)` of a
//! `PERF_COUNT_SW_BPF_OUTPUT` event per CPU, its `PERF_EVENT_IOC_ENABLE` ioctl, and the layout
//! of its mmaped ring (`struct perf_event_mmap_page`, then 2^n data pages).
//!
//! # Safety
//!
//! `perf_event_open` gets a pointer to a live, fully initialised attr of the size it declares
//! and holding no pointers; the ioctl takes no argument. The ring is mapped through the
//! crate's `Mmap`, never `MAP_FIXED`, and read through its atomics and byte views, under the
//! perf ring protocol: the kernel writes records only past `data_head` and never over the bytes
//! between `data_tail` and `data_head`, which user space releases by storing `data_tail`.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;

use super::mmap::Mmap;
use super::ret_owned_fd;
use crate::Errno;

/// `PERF_TYPE_SOFTWARE`.
const PERF_TYPE_SOFTWARE: u64 = 1;
/// `PERF_COUNT_SW_BPF_OUTPUT`.
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
/// `PERF_SAMPLE_RAW`.
const PERF_SAMPLE_RAW: u64 = 1 << 10;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: u64 = 8;
/// `PERF_EVENT_IOC_ENABLE`: `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: u64 = 0x2400;
/// The `size` declared for `struct perf_event_attr` (`PERF_ATTR_SIZE_VER7`).
const ATTR_SIZE: u64 = 128;

/// `PERF_RECORD_LOST`: `{ header; u64 id; u64 lost; }`.
pub const PERF_RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`: with `PERF_SAMPLE_RAW` only, `{ header; u32 size; u8 data[size]; }`.
pub const PERF_RECORD_SAMPLE: u32 = 9;
/// Size of `struct perf_event_header { u32 type; u16 misc; u16 size; }`.
pub const HEADER_SIZE: usize = 8;

/// Offsets in `struct perf_event_mmap_page`.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

/// `perf_event_open` of a BPF output event on `cpu` for every task: type
/// `PERF_TYPE_SOFTWARE`, config `PERF_COUNT_SW_BPF_OUTPUT`, `sample_period` 1, `sample_type`
/// `PERF_SAMPLE_RAW`, `wakeup_events` 1 (a reader in epoll wakes at each sample).
///
/// # References
///
/// - [perf_event_open(2)](https://man7.org/linux/man-pages/man2/perf_event_open.2.html)
pub fn bpf_output_open(cpu: u32) -> Result<OwnedFd, Errno> {
    // The first 128 bytes of `struct perf_event_attr` as words: `type`/`size` in word 0,
    // `config` 1, `sample_period` 2, `sample_type` 3, flags 5, `wakeup_events` low half of 6.
    let mut attr = [0u64; 16];
    attr[0] = PERF_TYPE_SOFTWARE | (ATTR_SIZE << 32);
    attr[1] = PERF_COUNT_SW_BPF_OUTPUT;
    attr[2] = 1;
    attr[3] = PERF_SAMPLE_RAW;
    attr[6] = 1;
    let cpu = libc::c_long::from(cpu);
    // SAFETY: `attr` is a live, initialised 128-byte attr holding no pointers; pid -1 with a
    // CPU, no group fd.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::c_long,
            cpu,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC as libc::c_long,
        )
    };
    // SAFETY: perf_event_open returns a new descriptor nobody else owns, or -1.
    unsafe { ret_owned_fd(ret) }
}

/// `ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)`.
pub fn enable(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: this ioctl reads and writes no memory of ours.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE as _, 0) };
    if r < 0 {
        Err(Errno::last_os_error())
    } else {
        Ok(())
    }
}

/// The mmaped ring of one perf event: the control page then `data_size` bytes of records.
#[derive(Debug)]
pub(crate) struct PerfRing {
    map: Mmap,
    data_off: usize,
    data_size: usize,
}

impl PerfRing {
    /// Maps `1 + pages` pages of `fd` read-write (so the kernel stops at `data_tail` instead of
    /// overwriting). `pages` must be a power of two.
    pub(crate) fn map(fd: BorrowedFd<'_>, pages: usize) -> Result<PerfRing, (usize, Errno)> {
        let page = super::mmap::page_size();
        let len = (pages + 1) * page;
        let map = Mmap::map(fd, len, 0, true).map_err(|e| (len, e))?;
        // Kernels since 4.1 fill `data_offset` / `data_size`; older ones leave 0: one page in.
        let data_off = map.atomic_u64(DATA_OFFSET).load(Ordering::Relaxed) as usize;
        let data_size = map.atomic_u64(DATA_SIZE).load(Ordering::Relaxed) as usize;
        let (data_off, data_size) = if data_size == 0 {
            (page, pages * page)
        } else {
            (data_off, data_size)
        };
        if !data_size.is_power_of_two() || data_off.checked_add(data_size) != Some(len) {
            return Err((len, Errno::INVAL));
        }
        Ok(PerfRing {
            map,
            data_off,
            data_size,
        })
    }

    /// `data_head` (acquire: the records before it are written).
    pub(crate) fn head(&self) -> u64 {
        self.map.atomic_u64(DATA_HEAD).load(Ordering::Acquire)
    }

    /// `data_tail`, as last stored by us.
    pub(crate) fn tail(&self) -> u64 {
        self.map.atomic_u64(DATA_TAIL).load(Ordering::Relaxed)
    }

    /// Stores `data_tail` (release: the kernel may reuse the bytes before it once it sees it).
    pub(crate) fn set_tail(&self, tail: u64) {
        self.map
            .atomic_u64(DATA_TAIL)
            .store(tail, Ordering::Release);
    }

    /// Size of the data area.
    pub(crate) fn data_size(&self) -> usize {
        self.data_size
    }

    /// Up to two slices holding the `len` bytes at ring position `pos` (the second non-empty when
    /// they wrap around the end of the data area). `len <= data_size`.
    ///
    /// Only for bytes between `data_tail` and `data_head`, which the kernel does not write
    /// until `data_tail` moves past them; the slices borrow `self`, so drop them before
    /// [`set_tail`](Self::set_tail) (which takes `&self` too: the caller keeps that order).
    pub(crate) fn bytes(&self, pos: u64, len: usize) -> (&[u8], &[u8]) {
        assert!(len <= self.data_size);
        let off = (pos & (self.data_size as u64 - 1)) as usize;
        let first = len.min(self.data_size - off);
        (
            self.map.bytes(self.data_off + off, first),
            self.map.bytes(self.data_off, len - first),
        )
    }
}
