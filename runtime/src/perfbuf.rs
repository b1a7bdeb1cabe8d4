//! A consumer for `BPF_MAP_TYPE_PERF_EVENT_ARRAY` maps: [`PerfBuffer`].
//!
//! Programs write samples with `bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, data,
//! size)` into the perf event stored at their CPU's index of the map. [`PerfBuffer`] opens one
//! `PERF_COUNT_SW_BPF_OUTPUT` event per online CPU, maps its ring (one control page plus 2^n
//! data pages), stores the event in the map at that CPU's index, and waits on all of them with
//! one epoll. Each sample goes to the *sample* callback with its CPU; when a ring was full the
//! kernel drops samples and later reports how many in a `PERF_RECORD_LOST` record, which goes to
//! the *lost* callback.
//!
//! The sample bytes are the kernel's raw sample: the program's data padded with up to 7 bytes
//! (the kernel rounds raw samples so records stay 8-byte aligned). Decode them with a generated
//! type's `from_prefix`.
//!
//! One `PerfBuffer` per map: a second would replace the first's events in the map. Dropping the
//! buffer removes its events from the map (so the kernel frees them) and unmaps the rings.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::sys::bpf::{self, SizedMap};
use crate::sys::epoll::Epoll;
use crate::sys::perf_ring::{self, PerfRing, HEADER_SIZE, PERF_RECORD_LOST, PERF_RECORD_SAMPLE};
use crate::{retry_on_intr, Error, Result};

/// Data pages per CPU when the builder is not told (`64` pages: 256 KiB with 4 KiB pages).
pub const DEFAULT_PAGES: usize = 64;

const POSSIBLE: &str = "/sys/devices/system/cpu/possible";
const ONLINE: &str = "/sys/devices/system/cpu/online";

/// What a perf ring holds: a sample, or the count of samples the kernel dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// A sample's raw bytes (padded to 8 bytes with the 4-byte size before them).
    Sample(&'a [u8]),
    /// `PERF_RECORD_LOST`: this many samples were dropped because the ring was full.
    Lost(u64),
}

type SampleFn<'a> = Box<dyn FnMut(usize, &[u8]) + 'a>;
type LostFn<'a> = Box<dyn FnMut(usize, u64) + 'a>;

/// Settings of a [`PerfBuffer`]: data pages per CPU and the callbacks.
pub struct PerfBufferBuilder<'fd, 'a> {
    map: BorrowedFd<'fd>,
    pages: usize,
    sample: SampleFn<'a>,
    lost: LostFn<'a>,
}

impl std::fmt::Debug for PerfBufferBuilder<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBufferBuilder")
            .field("map", &self.map)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl<'fd, 'a> PerfBufferBuilder<'fd, 'a> {
    /// Data pages of each CPU's ring: a power of two ([`DEFAULT_PAGES`] by default).
    pub fn pages(mut self, pages: usize) -> Self {
        self.pages = pages;
        self
    }

    /// Called with `(cpu, bytes)` for every sample.
    pub fn sample<F: FnMut(usize, &[u8]) + 'a>(mut self, f: F) -> Self {
        self.sample = Box::new(f);
        self
    }

    /// Called with `(cpu, count)` when the kernel reports dropped samples.
    pub fn lost<F: FnMut(usize, u64) + 'a>(mut self, f: F) -> Self {
        self.lost = Box::new(f);
        self
    }

    /// Opens an event per online CPU (those below the map's `max_entries`), maps its ring and
    /// stores it in the map. The map's descriptor is duplicated.
    pub fn build(self) -> Result<PerfBuffer<'a>> {
        Ok(PerfBuffer {
            rings: Rings::open(self.map, self.pages)?,
            sample: self.sample,
            lost: self.lost,
        })
    }
}

/// The per-CPU rings of a perf event array, their epoll and the map (no callbacks, so it is
/// `Send`).
#[derive(Debug)]
pub(crate) struct Rings {
    rings: Vec<CpuRing>,
    epoll: Epoll,
    /// Where a record that wraps around the end of its ring is copied.
    scratch: Vec<u8>,
    map: OwnedFd,
}

impl Rings {
    pub(crate) fn open(map: BorrowedFd<'_>, pages: usize) -> Result<Rings> {
        if !pages.is_power_of_two() {
            return Err(Error::InvalidArgument(
                "perf buffer pages per CPU must be a power of two",
            ));
        }
        let info =
            bpf::map_info(map).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        if info.map_type != bpf::map_type::BPF_MAP_TYPE_PERF_EVENT_ARRAY {
            return Err(Error::InvalidArgument(
                "not a BPF_MAP_TYPE_PERF_EVENT_ARRAY map",
            ));
        }
        let possible = cpu_list(POSSIBLE)?;
        // Offline CPUs cannot have an event opened; programs do not run there either.
        let online = cpu_list(ONLINE).unwrap_or_else(|_| possible.clone());
        let map = dup(map)?;
        let epoll = Epoll::new().map_err(|e| Error::syscall("epoll_create1", e))?;
        let mut pb = Rings {
            rings: Vec::new(),
            epoll,
            scratch: Vec::new(),
            map,
        };
        let sized = SizedMap::new(pb.map.as_fd())?;
        for cpu in possible {
            if !online.contains(&cpu) || cpu >= info.max_entries as usize {
                continue;
            }
            let fd = perf_ring::bpf_output_open(cpu as u32)
                .map_err(|e| Error::syscall("perf_event_open(PERF_COUNT_SW_BPF_OUTPUT)", e))?;
            let ring = PerfRing::map(fd.as_fd(), pages)
                .map_err(|(len, errno)| Error::Mmap { len, errno })?;
            perf_ring::enable(fd.as_fd())
                .map_err(|e| Error::syscall("ioctl(PERF_EVENT_IOC_ENABLE)", e))?;
            let key = (cpu as u32).to_ne_bytes();
            let value = (fd.as_raw_fd() as u32).to_ne_bytes();
            sized.update(&key, &value, bpf::flags::BPF_ANY)?;
            // From here on `Drop` removes the map entry.
            pb.rings.push(CpuRing { cpu, fd, ring });
            let k = pb.rings.len() - 1;
            pb.epoll
                .add(pb.rings[k].fd.as_fd(), k as u64)
                .map_err(|e| Error::syscall("epoll_ctl(EPOLL_CTL_ADD)", e))?;
        }
        if pb.rings.is_empty() {
            return Err(Error::InvalidArgument(
                "perf event array has no slot for any online CPU",
            ));
        }
        Ok(pb)
    }

    pub(crate) fn cpus(&self) -> Vec<usize> {
        self.rings.iter().map(|r| r.cpu).collect()
    }

    pub(crate) fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    pub(crate) fn consume(&mut self, f: &mut dyn FnMut(usize, PerfRecord<'_>)) -> usize {
        consume_rings(&self.rings, &mut self.scratch, f)
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        retry_on_intr(|| self.epoll.wait(timeout, self.rings.len()))
            .map_err(|e| Error::syscall("epoll_wait", e))?;
        Ok(())
    }
}

impl Drop for Rings {
    fn drop(&mut self) {
        // The map holds the events: remove them so the kernel frees them with our descriptors.
        if let Ok(sized) = SizedMap::new(self.map.as_fd()) {
            for r in &self.rings {
                let _ = sized.delete(&(r.cpu as u32).to_ne_bytes());
            }
        }
    }
}

#[derive(Debug)]
struct CpuRing {
    cpu: usize,
    fd: OwnedFd,
    ring: PerfRing,
}

/// A perf buffer consumer: one perf event ring per CPU behind a `PERF_EVENT_ARRAY` map, waited
/// on with epoll (see the [module docs](self)).
pub struct PerfBuffer<'a> {
    rings: Rings,
    sample: SampleFn<'a>,
    lost: LostFn<'a>,
}

impl std::fmt::Debug for PerfBuffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBuffer")
            .field("rings", &self.rings)
            .finish_non_exhaustive()
    }
}

impl<'a> PerfBuffer<'a> {
    /// A builder over perf event array `map`; without callbacks samples are dropped unread.
    pub fn builder<'m>(map: impl Into<BorrowedFd<'m>>) -> PerfBufferBuilder<'m, 'a> {
        PerfBufferBuilder {
            map: map.into(),
            pages: DEFAULT_PAGES,
            sample: Box::new(|_, _| {}),
            lost: Box::new(|_, _| {}),
        }
    }

    /// The CPUs with a ring, in order.
    pub fn cpus(&self) -> Vec<usize> {
        self.rings.cpus()
    }

    /// Size of each CPU's data area in bytes.
    pub fn ring_size(&self) -> usize {
        self.rings.rings[0].ring.data_size()
    }

    /// The epoll descriptor that is readable when a ring has data (for an event loop of your
    /// own; then call [`consume`](Self::consume)).
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.rings.epoll_fd()
    }

    /// Passes every record in every ring to the callbacks, without waiting. Returns the number
    /// of samples.
    pub fn consume(&mut self) -> usize {
        let (sample, lost) = (&mut self.sample, &mut self.lost);
        self.rings.consume(&mut |cpu, r| match r {
            PerfRecord::Sample(b) => sample(cpu, b),
            PerfRecord::Lost(n) => lost(cpu, n),
        })
    }

    /// Calls `f` with `(cpu, record)` for every record in every ring, without waiting, instead
    /// of the callbacks. Returns the number of samples.
    pub fn consume_with<F: FnMut(usize, PerfRecord<'_>)>(&mut self, mut f: F) -> usize {
        self.rings.consume(&mut f)
    }

    /// Waits up to `timeout` (`None`: forever) for a ring to have data, then
    /// [`consume`](Self::consume)s. Returns the number of samples (0 on timeout).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<usize> {
        self.rings.wait(timeout)?;
        Ok(self.consume())
    }

    /// [`poll`](Self::poll) handing records to `f` instead of the callbacks (so `f` may borrow
    /// what the caller reads between polls).
    pub fn poll_with<F: FnMut(usize, PerfRecord<'_>)>(
        &mut self,
        timeout: Option<Duration>,
        f: F,
    ) -> Result<usize> {
        self.rings.wait(timeout)?;
        Ok(self.consume_with(f))
    }
}

impl AsRawFd for PerfBuffer<'_> {
    /// The epoll descriptor (see [`epoll_fd`](PerfBuffer::epoll_fd)).
    fn as_raw_fd(&self) -> RawFd {
        self.rings.epoll_fd().as_raw_fd()
    }
}

/// Reads every ring from its tail to its head. A record's bytes are handed out while the tail
/// still holds them (the kernel does not write there), and the tail moves past each record once
/// `f` returned.
fn consume_rings(
    rings: &[CpuRing],
    scratch: &mut Vec<u8>,
    f: &mut dyn FnMut(usize, PerfRecord<'_>),
) -> usize {
    let mut samples = 0;
    for r in rings {
        let ring = &r.ring;
        let head = ring.head();
        let mut tail = ring.tail();
        while tail < head {
            let avail = (head - tail) as usize;
            let (a, b) = ring.bytes(tail, HEADER_SIZE.min(avail));
            let mut hdr = [0u8; HEADER_SIZE];
            hdr[..a.len()].copy_from_slice(a);
            hdr[a.len()..a.len() + b.len()].copy_from_slice(b);
            let kind = u32::from_ne_bytes(hdr[0..4].try_into().unwrap_or_default());
            let size = u16::from_ne_bytes(hdr[6..8].try_into().unwrap_or_default()) as usize;
            if size < HEADER_SIZE || size > avail || size > ring.data_size() {
                // Not a record the kernel writes: skip everything published.
                tail = head;
                break;
            }
            let (a, b) = ring.bytes(tail, size);
            let rec: &[u8] = if b.is_empty() {
                a
            } else {
                scratch.clear();
                scratch.extend_from_slice(a);
                scratch.extend_from_slice(b);
                scratch
            };
            let body = &rec[HEADER_SIZE..];
            match kind {
                PERF_RECORD_SAMPLE if body.len() >= 4 => {
                    let n = u32::from_ne_bytes(body[..4].try_into().unwrap_or_default()) as usize;
                    let data = &body[4..];
                    f(r.cpu, PerfRecord::Sample(&data[..n.min(data.len())]));
                    samples += 1;
                }
                PERF_RECORD_LOST if body.len() >= 16 => {
                    let n = u64::from_ne_bytes(body[8..16].try_into().unwrap_or_default());
                    f(r.cpu, PerfRecord::Lost(n));
                }
                _ => {}
            }
            tail += size as u64;
            ring.set_tail(tail);
        }
        ring.set_tail(tail);
    }
    samples
}

/// The CPUs of a kernel CPU list file (`0-3,5`).
fn cpu_list(path: &'static str) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path, source })?;
    parse_cpus(&text).ok_or_else(|| Error::Io {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_owned()),
    })
}

fn parse_cpus(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let a: usize = part.trim().parse().ok()?;
                (a, a)
            }
        };
        if b < a || b > 1 << 16 {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn dup(map: BorrowedFd<'_>) -> Result<OwnedFd> {
    map.try_clone_to_owned().map_err(|e| {
        Error::syscall(
            "fcntl(F_DUPFD_CLOEXEC)",
            crate::Errno::from_raw_os_error(e.raw_os_error().unwrap_or(0)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0-3,5\n"), Some(vec![0, 1, 2, 3, 5]));
        assert_eq!(parse_cpus("0"), Some(vec![0]));
        assert_eq!(parse_cpus("2-1"), None);
        assert_eq!(parse_cpus("x"), None);
    }
}
