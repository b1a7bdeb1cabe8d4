//! userringbuf.bpf.o: a BPF_MAP_TYPE_USER_RINGBUF filled from user space and drained by a program
//! with `bpf_user_ringbuf_drain`, which echoes each sample into a kernel RINGBUF.
//!
//! User space writes through the runtime's `UserRingBuffer` producer.

use lskel::sys::bpf::map_info;
use lskel::{RingBuffer, UserRingBuffer};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/userringbuf.bpf.o");

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
    skel.bss().read()
}

#[test]
fn user_ringbuf_has_the_declared_shape() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let i = map_info(skel.maps().user_rb().fd()).unwrap();
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
    let i = map_info(skel.maps().rb().fd()).unwrap();
    assert_eq!((i.map_type, i.max_entries), (27, 4096), "RINGBUF");
}

#[test]
fn program_drains_what_user_space_produced() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let mut producer = UserRingBuffer::new(skel.maps().user_rb().fd()).unwrap();
    assert_eq!(drain(&skel).drained, 0, "nothing to drain yet");

    for (seq, value) in [(1u32, 10u64), (2, 20), (3, 0x1_0000_0000)] {
        assert!(producer.submit(&sample(seq, value)).unwrap());
    }
    let b = drain(&skel);
    assert_eq!(b.drained, 3);
    assert_eq!(
        (b.samples, b.sum, b.last_seq, b.bad_size),
        (3, 0x1_0000_001e, 3, 0)
    );
    assert_eq!(producer.available(), 4096, "the kernel consumed everything");

    // Each sample came back through the kernel ring buffer with its value doubled.
    let mut rb = RingBuffer::new(skel.maps().rb().fd()).unwrap();
    let mut echoed = Vec::new();
    rb.consume(|rec| {
        echoed.push((
            u32::from_ne_bytes(rec[..4].try_into().unwrap()),
            u64::from_ne_bytes(rec[8..16].try_into().unwrap()),
        ))
    });
    assert_eq!(echoed, vec![(1, 20), (2, 40), (3, 0x2_0000_0000)]);

    // A short sample reaches the callback but cannot be read as a struct urb_sample.
    assert!(producer.submit(&[1, 2, 3, 4]).unwrap());
    let b = drain(&skel);
    assert_eq!((b.drained, b.bad_size, b.samples), (1, 1, 3));
}

#[test]
fn user_ringbuf_wraps_around() {
    require_kernel!();
    let skel = userringbuf::open().load().unwrap();
    let mut producer = UserRingBuffer::new(skel.maps().user_rb().fd()).unwrap();
    // 24 bytes per sample: 4096 bytes hold 170; write 500 in rounds so the ring wraps.
    let mut seq = 0u32;
    let mut total = 0u64;
    for _ in 0..5 {
        for _ in 0..100 {
            seq += 1;
            total += u64::from(seq);
            assert!(producer.submit(&sample(seq, u64::from(seq))).unwrap());
        }
        let b = drain(&skel);
        assert_eq!(b.drained, 100);
        let mut rb = RingBuffer::new(skel.maps().rb().fd()).unwrap();
        rb.consume(|_| {});
    }
    let b = skel.bss().read();
    assert_eq!((b.samples, b.sum, b.last_seq), (500, total, 500));
    // 500 samples of 24 bytes went through a 4096-byte ring: it wrapped, and all is drained.
    assert_eq!(producer.available(), 4096);
}
