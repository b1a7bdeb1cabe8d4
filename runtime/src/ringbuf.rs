//! A consumer for `BPF_MAP_TYPE_RINGBUF` maps: [`RingBuffer`].
//!
//! Layout of the map's mmap area (kernel `kernel/bpf/ringbuf.c`): one page holding the consumer position
//! (mapped read-write), one page holding the producer position, then the data area mapped twice in a row
//! (both read-only), so a record that wraps around the end is contiguous. Each record starts with an
//! 8-byte header whose first `u32` is the length with `BPF_RINGBUF_BUSY_BIT` (still being written) and
//! `BPF_RINGBUF_DISCARD_BIT` (dropped by the producer); records are padded to 8 bytes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::sys::bpf;
use crate::sys::epoll::Epoll;
use crate::sys::mmap::{page_size, Mmap};
use crate::{retry_on_intr, Error, Result};

/// `BPF_RINGBUF_BUSY_BIT`.
pub const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
/// `BPF_RINGBUF_DISCARD_BIT`.
pub const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;
/// `BPF_RINGBUF_HDR_SZ`.
pub const BPF_RINGBUF_HDR_SZ: usize = 8;

/// A ring buffer consumer: maps the ring and waits on it with epoll.
#[derive(Debug)]
pub struct RingBuffer {
    consumer: Mmap,
    producer: Mmap,
    mask: u64,
    page: usize,
    epoll: Epoll,
    _map: OwnedFd,
}

impl RingBuffer {
    /// Maps the ring buffer `map` (a `BPF_MAP_TYPE_RINGBUF`). The descriptor is duplicated, so the ring
    /// stays usable after the caller closes `map`.
    pub fn new(map: BorrowedFd<'_>) -> Result<Self> {
        let info =
            bpf::map_info(map).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        if info.map_type != bpf::map_type::BPF_MAP_TYPE_RINGBUF {
            return Err(Error::InvalidArgument("not a BPF_MAP_TYPE_RINGBUF map"));
        }
        let size = info.max_entries as usize;
        if !size.is_power_of_two() {
            return Err(Error::InvalidArgument(
                "ring buffer size is not a power of two",
            ));
        }
        let page = page_size();
        let consumer =
            Mmap::map(map, page, 0, true).map_err(|errno| Error::Mmap { len: page, errno })?;
        let len = page + 2 * size;
        let producer =
            Mmap::map(map, len, page, false).map_err(|errno| Error::Mmap { len, errno })?;
        let epoll = Epoll::new().map_err(|e| Error::syscall("epoll_create1", e))?;
        epoll
            .add(map, 0)
            .map_err(|e| Error::syscall("epoll_ctl(EPOLL_CTL_ADD)", e))?;
        let map = map.try_clone_to_owned().map_err(|e| {
            Error::syscall(
                "fcntl(F_DUPFD_CLOEXEC)",
                crate::Errno::from_raw_os_error(e.raw_os_error().unwrap_or(0)),
            )
        })?;
        Ok(RingBuffer {
            consumer,
            producer,
            mask: size as u64 - 1,
            page,
            epoll,
            _map: map,
        })
    }

    /// Size of the data area in bytes.
    pub fn size(&self) -> usize {
        self.mask as usize + 1
    }

    /// Calls `f` on every committed record, in order, skipping discarded ones, and frees their space.
    /// Stops at the first record still being written. Returns the number of records passed to `f`.
    pub fn consume<F: FnMut(&[u8])>(&mut self, mut f: F) -> usize {
        let cons_pos = self.consumer.atomic_u64(0);
        let prod_pos = self.producer.atomic_u64(0);
        let mut count = 0;
        let mut cons = cons_pos.load(Ordering::Acquire);
        loop {
            let mut progressed = false;
            let prod = prod_pos.load(Ordering::Acquire);
            while cons < prod {
                let hdr_off = self.page + (cons & self.mask) as usize;
                let len = self.producer.atomic_u32(hdr_off).load(Ordering::Acquire);
                if len & BPF_RINGBUF_BUSY_BIT != 0 {
                    return count;
                }
                progressed = true;
                let data_len = (len & !(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) as usize;
                if len & BPF_RINGBUF_DISCARD_BIT == 0 {
                    // The record is committed and the producer does not reuse its space until the
                    // consumer position moves past it, below.
                    f(self.producer.bytes(hdr_off + BPF_RINGBUF_HDR_SZ, data_len));
                    count += 1;
                }
                cons += (data_len + BPF_RINGBUF_HDR_SZ).next_multiple_of(8) as u64;
                cons_pos.store(cons, Ordering::Release);
            }
            if !progressed {
                return count;
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) for data, then [`consume`](Self::consume)s it. Returns the
    /// number of records passed to `f` (0 on timeout).
    pub fn poll<F: FnMut(&[u8])>(&mut self, timeout: Option<Duration>, f: F) -> Result<usize> {
        retry_on_intr(|| self.epoll.wait(timeout, 1))
            .map_err(|e| Error::syscall("epoll_wait", e))?;
        Ok(self.consume(f))
    }
}

impl AsFd for RingBuffer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self._map.as_fd()
    }
}
