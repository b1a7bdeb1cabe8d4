//! A consumer for `BPF_MAP_TYPE_RINGBUF` maps: [`RingBuffer`].
//!
//! Layout of the map's mmap area (kernel `kernel/bpf/ringbuf.c`): one page holding the consumer position
//! (mapped read-write), one page holding the producer position, then the data area mapped twice in a row
//! (both read-only), so a record that wraps around the end is contiguous. Each record starts with an
//! 8-byte header whose first `u32` is the length with `BPF_RINGBUF_BUSY_BIT` (still being written) and
//! `BPF_RINGBUF_DISCARD_BIT` (dropped by the producer); records are padded to 8 bytes.
//!
//! # One consumer (or producer) per map
//!
//! The user-space end of a ring keeps its position in shared memory and assumes nobody else moves
//! it: two [`RingBuffer`]s over one `RINGBUF` map would both hand out a record and both advance the
//! consumer position, so the kernel could reuse a record's space while the other still reads it; two
//! [`UserRingBuffer`]s over one `USER_RINGBUF` map would write samples over each other. So a process
//! holds at most one [`RingBuffer`] per `RINGBUF` map and one [`UserRingBuffer`] per `USER_RINGBUF`
//! map (keyed by the map's kernel id, whatever descriptor it is reached through): creating a second
//! while the first lives fails with [`Error::RingInUse`]; dropping the first frees the map. Other
//! processes sharing the map (through a pin, say) are not seen: coordinate them yourself.

use std::collections::BTreeSet;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use lskel_abi::map_type::USER_RINGBUF;

use crate::sys::bpf;
use crate::sys::epoll::Epoll;
use crate::sys::mmap::{page_size, Mmap};
use crate::{retry_on_intr, Error, Result};

/// `BPF_RINGBUF_BUSY_BIT`.
pub const BPF_RINGBUF_BUSY_BIT: u32 = lskel_abi::ringbuf::BUSY_BIT;
/// `BPF_RINGBUF_DISCARD_BIT`.
pub const BPF_RINGBUF_DISCARD_BIT: u32 = lskel_abi::ringbuf::DISCARD_BIT;
/// `BPF_RINGBUF_HDR_SZ`.
pub const BPF_RINGBUF_HDR_SZ: usize = lskel_abi::ringbuf::HDR_SZ;

/// A ring buffer consumer: maps the ring and waits on it with epoll.
#[derive(Debug)]
pub struct RingBuffer {
    consumer: Mmap,
    producer: Mmap,
    mask: u64,
    page: usize,
    epoll: Epoll,
    _claim: Claim,
    _map: OwnedFd,
}

impl RingBuffer {
    /// Maps the ring buffer `map` (a `BPF_MAP_TYPE_RINGBUF`). The descriptor is duplicated, so the ring
    /// stays usable after the caller closes `map`.
    ///
    /// Fails with [`Error::RingInUse`] while another `RingBuffer` of this process consumes the same
    /// map (see the [module docs](self)).
    pub fn new(map: impl AsFd) -> Result<Self> {
        let map = map.as_fd();
        let (claim, consumer, producer, size, page) = map_ring(
            map,
            bpf::map_type::BPF_MAP_TYPE_RINGBUF,
            "not a BPF_MAP_TYPE_RINGBUF map",
            Side::Consumer,
        )?;
        let epoll = Epoll::new().map_err(|e| Error::syscall("epoll_create1", e))?;
        epoll
            .add(map, 0)
            .map_err(|e| Error::syscall("epoll_ctl(EPOLL_CTL_ADD)", e))?;
        let map = dup(map)?;
        Ok(RingBuffer {
            consumer,
            producer,
            mask: size as u64 - 1,
            page,
            epoll,
            _claim: claim,
            _map: map,
        })
    }

    /// Size of the data area in bytes.
    pub fn size(&self) -> usize {
        self.mask as usize + 1
    }

    /// Calls `f` on every committed record, in order, skipping discarded ones, and frees their space.
    /// Stops at the first record still being written. Returns the number of records passed to `f`.
    ///
    /// The consumer position is published after each record (once `f` has returned for it), not at
    /// the end of the batch: the kernel can reuse a record's space as soon as `f` is done with it, and
    /// never while `f` holds its slice.
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

impl AsRawFd for RingBuffer {
    /// The map's descriptor: readable (`poll`, `epoll`) when the ring has data.
    fn as_raw_fd(&self) -> RawFd {
        self._map.as_raw_fd()
    }
}

type RecordFn<'a> = Box<dyn FnMut(&[u8]) + 'a>;

/// Rings for a [`RingBufferPoller`], each with its callback.
#[derive(Default)]
pub struct RingBufferPollerBuilder<'a> {
    rings: Vec<(RingBuffer, RecordFn<'a>)>,
}

impl std::fmt::Debug for RingBufferPollerBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBufferPollerBuilder")
            .field("rings", &self.rings.len())
            .finish()
    }
}

impl<'a> RingBufferPollerBuilder<'a> {
    /// Adds ring buffer `map`, whose records go to `f`. Maps it as [`RingBuffer::new`] does (and
    /// fails as it does, e.g. with [`Error::RingInUse`]).
    pub fn add<F: FnMut(&[u8]) + 'a>(mut self, map: impl AsFd, f: F) -> Result<Self> {
        let map = map.as_fd();
        self.rings.push((RingBuffer::new(map)?, Box::new(f)));
        Ok(self)
    }

    /// One epoll over every ring added.
    pub fn build(self) -> Result<RingBufferPoller<'a>> {
        let epoll = Epoll::new().map_err(|e| Error::syscall("epoll_create1", e))?;
        for (k, (ring, _)) in self.rings.iter().enumerate() {
            epoll
                .add(ring.as_fd(), k as u64)
                .map_err(|e| Error::syscall("epoll_ctl(EPOLL_CTL_ADD)", e))?;
        }
        Ok(RingBufferPoller {
            rings: self.rings,
            epoll,
        })
    }
}

/// Several ring buffers waited on with one epoll, each with its own callback (libbpf's
/// `ring_buffer` with several maps):
///
/// ```no_run
/// # fn f(a: std::os::fd::BorrowedFd<'_>, b: std::os::fd::BorrowedFd<'_>) -> lskel::Result<()> {
/// let (mut execs, mut exits) = (0, 0);
/// let mut poller = lskel::RingBufferPoller::builder()
///     .add(a, |_rec| execs += 1)?
///     .add(b, |_rec| exits += 1)?
///     .build()?;
/// poller.poll(Some(std::time::Duration::from_millis(100)))?;
/// # Ok(()) }
/// ```
pub struct RingBufferPoller<'a> {
    rings: Vec<(RingBuffer, RecordFn<'a>)>,
    epoll: Epoll,
}

impl std::fmt::Debug for RingBufferPoller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBufferPoller")
            .field(
                "rings",
                &self.rings.iter().map(|r| &r.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> RingBufferPoller<'a> {
    /// An empty builder.
    pub fn builder() -> RingBufferPollerBuilder<'a> {
        RingBufferPollerBuilder::default()
    }

    /// Passes the committed records of every ring to its callback, without waiting (see
    /// [`RingBuffer::consume`]). Returns the number of records.
    pub fn consume(&mut self) -> usize {
        self.rings
            .iter_mut()
            .map(|(ring, f)| ring.consume(&mut **f))
            .sum()
    }

    /// Waits up to `timeout` (`None`: forever) for a ring to have data, then
    /// [`consume`](Self::consume)s all of them. Returns the number of records (0 on timeout).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<usize> {
        retry_on_intr(|| self.epoll.wait(timeout, self.rings.len()))
            .map_err(|e| Error::syscall("epoll_wait", e))?;
        Ok(self.consume())
    }

    /// The epoll descriptor, readable when a ring has data (for an event loop of your own).
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

/// A producer for `BPF_MAP_TYPE_USER_RINGBUF` maps: user space writes samples that a program
/// drains with `bpf_user_ringbuf_drain`. Layout: the consumer position page (read-only here), then
/// the producer position page and the data area twice in a row (read-write).
#[derive(Debug)]
pub struct UserRingBuffer {
    consumer: Mmap,
    producer: Mmap,
    size: u64,
    page: usize,
    _claim: Claim,
    _map: OwnedFd,
}

impl UserRingBuffer {
    /// Maps the user ring buffer `map`. The descriptor is duplicated.
    ///
    /// Fails with [`Error::RingInUse`] while another `UserRingBuffer` of this process produces into
    /// the same map (see the [module docs](self)).
    pub fn new(map: impl AsFd) -> Result<Self> {
        let map = map.as_fd();
        let (claim, consumer, producer, size, page) = map_ring(
            map,
            USER_RINGBUF,
            "not a BPF_MAP_TYPE_USER_RINGBUF map",
            Side::Producer,
        )?;
        let map = dup(map)?;
        Ok(UserRingBuffer {
            consumer,
            producer,
            size: size as u64,
            page,
            _claim: claim,
            _map: map,
        })
    }

    /// Bytes free for samples (each takes its length plus an 8-byte header, padded to 8).
    pub fn available(&self) -> u64 {
        let cons = self.consumer.atomic_u64(0).load(Ordering::Acquire);
        let prod = self.producer.atomic_u64(0).load(Ordering::Acquire);
        self.size - (prod - cons)
    }

    /// Writes one sample and publishes it. Returns `false` (writing nothing) when the ring has
    /// no room for it; a program's drain makes room.
    pub fn submit(&mut self, data: &[u8]) -> Result<bool> {
        let total = (data.len() + BPF_RINGBUF_HDR_SZ).next_multiple_of(8) as u64;
        if data.len() > u32::MAX as usize >> 2 || total > self.size {
            return Err(Error::InvalidArgument("sample larger than the ring buffer"));
        }
        if self.available() < total {
            return Ok(false);
        }
        let prod = self.producer.atomic_u64(0).load(Ordering::Acquire);
        // The data area is mapped twice in a row: a sample that wraps stays contiguous.
        let off = self.page + (prod & (self.size - 1)) as usize;
        let mut header = [0u8; BPF_RINGBUF_HDR_SZ];
        header[..4].copy_from_slice(&(data.len() as u32).to_ne_bytes());
        self.producer.copy_in(off, &header);
        self.producer.copy_in(off + BPF_RINGBUF_HDR_SZ, data);
        // Publishing: the program reads samples only up to the producer position.
        self.producer
            .atomic_u64(0)
            .store(prod + total, Ordering::Release);
        Ok(true)
    }
}

/// Which end of a ring user space holds: it may write its own position page (and, for a
/// producer, the data area).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Consumer,
    Producer,
}

/// Kernel ids of the ring maps that have their user-space end (consumer of a `RINGBUF`, producer
/// of a `USER_RINGBUF`) in this process. A live [`Claim`] keeps its map open (the ring holds a
/// descriptor), so the id cannot be reused by another map meanwhile.
static CLAIMED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// The right to be the user-space end of one ring map; released on drop.
#[derive(Debug)]
struct Claim {
    id: u32,
}

impl Claim {
    fn take(info: &bpf::MapInfo, role: &'static str) -> Result<Claim> {
        let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
        if claimed.insert(info.id) {
            Ok(Claim { id: info.id })
        } else {
            Err(Error::RingInUse {
                name: info.name.clone(),
                id: info.id,
                role,
            })
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Maps a ring of `map_type` the way both ring map types lay it out: the consumer position
/// page at offset 0, then the producer position page and the data area twice in a row, after
/// claiming the map's user-space end for this process.
/// Returns (claim, consumer page, producer part, data size, page size).
fn map_ring(
    map: BorrowedFd<'_>,
    map_type: u32,
    wrong_type: &'static str,
    side: Side,
) -> Result<(Claim, Mmap, Mmap, usize, usize)> {
    let info = bpf::map_info(map).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
    if info.map_type != map_type {
        return Err(Error::InvalidArgument(wrong_type));
    }
    let size = info.max_entries as usize;
    if !size.is_power_of_two() {
        return Err(Error::InvalidArgument(
            "ring buffer size is not a power of two",
        ));
    }
    let claim = Claim::take(
        &info,
        match side {
            Side::Consumer => "consumer",
            Side::Producer => "producer",
        },
    )?;
    let page = page_size();
    let consumer = Mmap::map(map, page, 0, side == Side::Consumer)
        .map_err(|errno| Error::Mmap { len: page, errno })?;
    let len = page + 2 * size;
    let producer = Mmap::map(map, len, page, side == Side::Producer)
        .map_err(|errno| Error::Mmap { len, errno })?;
    Ok((claim, consumer, producer, size, page))
}

/// Our own descriptor of the map, so the ring outlives the caller's.
fn dup(map: BorrowedFd<'_>) -> Result<OwnedFd> {
    map.try_clone_to_owned().map_err(|e| {
        Error::syscall(
            "fcntl(F_DUPFD_CLOEXEC)",
            crate::Errno::from_raw_os_error(e.raw_os_error().unwrap_or(0)),
        )
    })
}
