//! userringbuf.bpf.o: a BPF_MAP_TYPE_USER_RINGBUF filled from user space and drained by a program
//! with `bpf_user_ringbuf_drain`, which echoes each sample into a kernel RINGBUF.
//!
//! The runtime has no user ring buffer producer (only the `RingBuffer` consumer), so the test has a
//! minimal one: the same protocol as libbpf's `user_ring_buffer__reserve/submit`.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use lskel::sys::bpf::map_info;
use lskel::RingBuffer;
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/userringbuf.bpf.o");

/// A user-space producer on a USER_RINGBUF map: the consumer page (read-only) at offset 0, the
/// producer page and twice the data area (read-write) at offset one page.
struct Producer {
    consumer: *mut libc::c_void,
    producer: *mut libc::c_void,
    page: usize,
    size: usize,
}

impl Producer {
    fn new(fd: BorrowedFd<'_>) -> Producer {
        let size = map_info(fd).unwrap().max_entries as usize;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let map = |len: usize, prot: libc::c_int, off: usize| {
            // SAFETY: a shared mapping of the map fd; checked; unmapped on drop.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    prot,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    off as libc::off_t,
                )
            };
            assert_ne!(
                p,
                libc::MAP_FAILED,
                "mmap {len} at {off}: {}",
                std::io::Error::last_os_error()
            );
            p
        };
        let consumer = map(page, libc::PROT_READ, 0);
        let producer = map(page + 2 * size, libc::PROT_READ | libc::PROT_WRITE, page);
        Producer {
            consumer,
            producer,
            page,
            size,
        }
    }

    fn pos(p: *mut libc::c_void) -> &'static AtomicU64 {
        // SAFETY: the first 8 bytes of the consumer/producer page are the kernel's u64 position,
        // 8-aligned (page-aligned), and the mapping outlives every use (the Producer owns it).
        unsafe { &*(p as *const AtomicU64) }
    }

    fn consumer_pos(&self) -> u64 {
        Self::pos(self.consumer).load(Ordering::Acquire)
    }

    fn producer_pos(&self) -> u64 {
        Self::pos(self.producer).load(Ordering::Acquire)
    }

    /// Writes one sample (8-byte header `{len, pg_off 0}` then the bytes, padded to 8) and publishes
    /// it by moving the producer position. Returns false when it does not fit.
    fn submit(&mut self, data: &[u8]) -> bool {
        let total = (data.len() + 8).next_multiple_of(8) as u64;
        let (cons, prod) = (self.consumer_pos(), self.producer_pos());
        if self.size as u64 - (prod - cons) < total {
            return false;
        }
        let mask = self.size as u64 - 1;
        let off = (prod & mask) as usize;
        // SAFETY: the data area is mapped twice in a row, so `off + total` <= 2 * size stays inside
        // the mapping even when the sample wraps.
        unsafe {
            let base = (self.producer as *mut u8).add(self.page + off);
            std::ptr::copy_nonoverlapping((data.len() as u32).to_ne_bytes().as_ptr(), base, 4);
            std::ptr::write_bytes(base.add(4), 0, 4);
            std::ptr::copy_nonoverlapping(data.as_ptr(), base.add(8), data.len());
        }
        Self::pos(self.producer).store(prod + total, Ordering::Release);
        true
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // SAFETY: unmapping what new() mapped, with the same lengths.
        unsafe {
            libc::munmap(self.consumer, self.page);
            libc::munmap(self.producer, self.page + 2 * self.size);
        }
    }
}

/// `struct urb_sample { u32 seq; u32 pad; u64 value; }`
fn sample(seq: u32, value: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..4].copy_from_slice(&seq.to_ne_bytes());
    s[8..].copy_from_slice(&value.to_ne_bytes());
    s
}

fn drain(skel: &userringbuf::Skel) -> userringbuf::Bss {
    assert_eq!(
        run_syscall_prog(skel.progs().urb_drain().unwrap(), &mut []).unwrap(),
        0
    );
    *skel.bss()
}

#[test]
fn user_ringbuf_has_the_declared_shape() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let i = map_info(skel.maps().user_rb()).unwrap();
    assert_eq!(
        (
            i.map_type,
            i.key_size,
            i.value_size,
            i.max_entries,
            i.map_flags
        ),
        (31, 0, 0, 4096, 0),
        "USER_RINGBUF"
    );
    let i = map_info(skel.maps().rb()).unwrap();
    assert_eq!((i.map_type, i.max_entries), (27, 4096), "RINGBUF");
}

#[test]
fn program_drains_what_user_space_produced() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let mut producer = Producer::new(skel.maps().user_rb());
    assert_eq!(drain(&skel).drained, 0, "nothing to drain yet");

    for (seq, value) in [(1u32, 10u64), (2, 20), (3, 0x1_0000_0000)] {
        assert!(producer.submit(&sample(seq, value)));
    }
    let b = drain(&skel);
    assert_eq!(b.drained, 3);
    assert_eq!(
        (b.samples, b.sum, b.last_seq, b.bad_size),
        (3, 0x1_0000_001e, 3, 0)
    );
    assert_eq!(
        producer.consumer_pos(),
        producer.producer_pos(),
        "the kernel consumed everything"
    );

    // Each sample came back through the kernel ring buffer with its value doubled.
    let mut rb = RingBuffer::new(skel.maps().rb()).unwrap();
    let mut echoed = Vec::new();
    rb.consume(|rec| {
        echoed.push((
            u32::from_ne_bytes(rec[..4].try_into().unwrap()),
            u64::from_ne_bytes(rec[8..16].try_into().unwrap()),
        ))
    });
    assert_eq!(echoed, vec![(1, 20), (2, 40), (3, 0x2_0000_0000)]);

    // A short sample reaches the callback but cannot be read as a struct urb_sample.
    assert!(producer.submit(&[1, 2, 3, 4]));
    let b = drain(&skel);
    assert_eq!((b.drained, b.bad_size, b.samples), (1, 1, 3));
}

#[test]
fn user_ringbuf_wraps_around() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let mut producer = Producer::new(skel.maps().user_rb());
    // 24 bytes per sample: 4096 bytes hold 170; write 500 in rounds so the ring wraps.
    let mut seq = 0u32;
    let mut total = 0u64;
    for _ in 0..5 {
        for _ in 0..100 {
            seq += 1;
            total += u64::from(seq);
            assert!(producer.submit(&sample(seq, u64::from(seq))));
        }
        let b = drain(&skel);
        assert_eq!(b.drained, 100);
        let mut rb = RingBuffer::new(skel.maps().rb()).unwrap();
        rb.consume(|_| {});
    }
    let b = *skel.bss();
    assert_eq!((b.samples, b.sum, b.last_seq), (500, total, 500));
    assert!(
        producer.producer_pos() > 4096,
        "the positions went past the ring's size"
    );
}
