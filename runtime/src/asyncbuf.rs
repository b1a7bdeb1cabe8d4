//! Async consumers on tokio (feature `tokio`): [`AsyncRingBuffer`] and [`AsyncPerfBuffer`],
//! each a [`Stream`] of records and with an `async fn next()`.
//!
//! Both wait through [`tokio::io::unix::AsyncFd`], so they need a runtime with I/O enabled.
//! A ring buffer map's descriptor is readable when the ring holds a record; a perf buffer
//! waits on the epoll descriptor over its per-CPU events. Records are copied out of the ring
//! (the kernel reuses the space as soon as the consumer position moves), so each item owns its
//! bytes.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use futures_core::Stream;
use tokio::io::unix::AsyncFd;

use crate::perfbuf::{PerfRecord, Rings};
use crate::{Errno, Error, Result, RingBuffer};

fn io_error(e: std::io::Error) -> Error {
    Error::syscall(
        "epoll (tokio AsyncFd)",
        Errno::from_raw_os_error(e.raw_os_error().unwrap_or(0)),
    )
}

/// Values whose `as_raw_fd` is a descriptor they own, open and unchanged for their whole life.
trait OwnsItsFd: AsRawFd {}
impl OwnsItsFd for RingBuffer {}
impl OwnsItsFd for PerfEpoll {}

/// `AsyncFd::new`, deprecated since tokio 1.54 because an arbitrary `T` may close or change its
/// descriptor while registered; the types that reach here (`OwnsItsFd`) cannot, and the
/// replacement (`AsyncFd::register`) is missing from older tokio 1.x.
#[allow(deprecated)]
fn register<T: OwnsItsFd>(inner: T) -> Result<AsyncFd<T>> {
    AsyncFd::new(inner).map_err(io_error)
}

/// A [`RingBuffer`] as an async stream of records.
#[derive(Debug)]
pub struct AsyncRingBuffer {
    fd: AsyncFd<RingBuffer>,
    queue: VecDeque<Vec<u8>>,
}

impl AsyncRingBuffer {
    /// Maps ring buffer `map` (as [`RingBuffer::new`]) and registers it with the current tokio
    /// runtime's reactor (panics outside a runtime, as `AsyncFd::new` does).
    pub fn new(map: impl AsFd) -> Result<Self> {
        let map = map.as_fd();
        let ring = RingBuffer::new(map)?;
        Ok(AsyncRingBuffer {
            fd: register(ring)?,
            queue: VecDeque::new(),
        })
    }

    /// The next record, waiting for one.
    pub async fn next(&mut self) -> Result<Vec<u8>> {
        std::future::poll_fn(|cx| self.poll_record(cx)).await
    }

    fn poll_record(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>>> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Poll::Ready(Ok(r));
            }
            let mut guard = match self.fd.poll_read_ready_mut(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(io_error(e))),
                Poll::Ready(Ok(g)) => g,
            };
            let queue = &mut self.queue;
            if guard
                .get_inner_mut()
                .consume(|r| queue.push_back(r.to_vec()))
                == 0
            {
                // Empty: wait for the next wakeup. One that came after the guard was taken
                // is kept by tokio (readiness is cleared only up to what the guard saw).
                guard.clear_ready();
            }
        }
    }
}

impl Stream for AsyncRingBuffer {
    type Item = Result<Vec<u8>>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_record(cx).map(Some)
    }
}

/// What an [`AsyncPerfBuffer`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfEvent {
    /// A sample from `cpu` (raw bytes, padded to 8 bytes with its size word).
    Sample {
        /// The CPU whose ring held it.
        cpu: usize,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The kernel dropped `count` samples on `cpu` (its ring was full).
    Lost {
        /// The CPU.
        cpu: usize,
        /// How many.
        count: u64,
    },
}

/// The epoll descriptor of a perf buffer's rings, for `AsyncFd`.
struct PerfEpoll(Rings);

impl AsRawFd for PerfEpoll {
    fn as_raw_fd(&self) -> RawFd {
        self.0.epoll_fd().as_raw_fd()
    }
}

/// A [`PerfBuffer`](crate::PerfBuffer) as an async stream of [`PerfEvent`]s.
pub struct AsyncPerfBuffer {
    fd: AsyncFd<PerfEpoll>,
    queue: VecDeque<PerfEvent>,
}

impl std::fmt::Debug for AsyncPerfBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPerfBuffer")
            .field("rings", &self.fd.get_ref().0)
            .finish_non_exhaustive()
    }
}

impl AsyncPerfBuffer {
    /// Opens a perf buffer over `map` with `pages` data pages per CPU (a power of two; see
    /// [`PerfBuffer::builder`](crate::PerfBuffer::builder)) and registers it with the current
    /// tokio runtime's reactor.
    pub fn new(map: impl AsFd, pages: usize) -> Result<Self> {
        let map = map.as_fd();
        let pb = Rings::open(map, pages)?;
        Ok(AsyncPerfBuffer {
            fd: register(PerfEpoll(pb))?,
            queue: VecDeque::new(),
        })
    }

    /// The next sample or loss report, waiting for one.
    pub async fn next(&mut self) -> Result<PerfEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The CPUs with a ring.
    pub fn cpus(&self) -> Vec<usize> {
        self.fd.get_ref().0.cpus()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<PerfEvent>> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Poll::Ready(Ok(r));
            }
            let mut guard = match self.fd.poll_read_ready_mut(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(io_error(e))),
                Poll::Ready(Ok(g)) => g,
            };
            let queue = &mut self.queue;
            guard.get_inner_mut().0.consume(&mut |cpu, r| {
                queue.push_back(match r {
                    PerfRecord::Sample(b) => PerfEvent::Sample {
                        cpu,
                        data: b.to_vec(),
                    },
                    PerfRecord::Lost(count) => PerfEvent::Lost { cpu, count },
                })
            });
            if queue.is_empty() {
                guard.clear_ready();
            }
        }
    }
}

impl Stream for AsyncPerfBuffer {
    type Item = Result<PerfEvent>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx).map(Some)
    }
}

impl AsFd for AsyncRingBuffer {
    /// The ring buffer map's descriptor.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}
