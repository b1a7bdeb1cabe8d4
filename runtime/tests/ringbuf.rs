//! `RingBuffer` fed by a hand-assembled SYSCALL program calling `bpf_ringbuf_output`.

mod common;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use common::*;
use lskel::sys::bpf::{self, map_type, prog_type, MapCreateAttr, ProgLoadAttr, TestRunAttr};
use lskel::{Error, Map, RingBuffer, UserRingBuffer};

const BPF_FUNC_RINGBUF_OUTPUT: i32 = 130;

fn ringbuf(size: u32) -> OwnedFd {
    bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_RINGBUF,
        max_entries: size,
        name: "lskel_rb",
        ..Default::default()
    })
    .unwrap()
}

/// A SYSCALL program: `u64 v = *(u64 *)ctx; bpf_ringbuf_output(&rb, &v, 8, 0); return 0`.
fn producer(rb: &OwnedFd) -> OwnedFd {
    let insns = Asm::new()
        .ldx_dw(R2, R1, 0)
        .stx_dw(R10, R2, -8)
        .ld_imm64(R1, PSEUDO_MAP_FD, rb.as_raw_fd(), 0)
        .mov64_reg(R2, R10)
        .add64_imm(R2, -8)
        .mov64_imm(R3, 8)
        .mov64_imm(R4, 0)
        .call(BPF_FUNC_RINGBUF_OUTPUT)
        .ret(0);
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = ProgLoadAttr {
        prog_type: prog_type::BPF_PROG_TYPE_SYSCALL,
        insns: &insns.0,
        license: Some(c"GPL"),
        log_level: 1,
        log_buf: Some(&mut log),
        name: "lskel_rb_prod",
        prog_flags: bpf::flags::BPF_F_SLEEPABLE,
        ..Default::default()
    };
    match bpf::prog_load(&mut attr) {
        Ok(fd) => fd,
        Err(e) => panic!("load failed: {e}\n{}", lskel::VerifierLog::from_buf(&log)),
    }
}

fn produce(prog: &OwnedFd, v: u64) {
    let mut ctx = v.to_ne_bytes();
    let out = bpf::prog_test_run(
        prog.as_fd(),
        TestRunAttr {
            ctx_in: Some(&mut ctx),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(out.retval, 0);
}

#[test]
fn consume_records_in_order_across_wraparound() {
    if !require_kernel() {
        return;
    }
    let rb_map = ringbuf(4096);
    let prog = producer(&rb_map);
    let mut rb = RingBuffer::new(rb_map.as_fd()).unwrap();
    assert_eq!(rb.size(), 4096);
    drop(rb_map); // the RingBuffer keeps its own descriptor

    // Nothing yet.
    assert_eq!(
        rb.poll(Some(Duration::from_millis(10)), |_| panic!())
            .unwrap(),
        0
    );

    // 16 bytes per record (8 header + 8 data): 1000 records wrap the 4 KiB ring several times.
    let mut next = 0u64;
    let mut seen = Vec::new();
    for round in 0..100u64 {
        for i in 0..10 {
            produce(&prog, round * 10 + i);
        }
        let n = rb
            .poll(Some(Duration::from_secs(1)), |rec| {
                seen.push(u64::from_ne_bytes(rec.try_into().unwrap()))
            })
            .unwrap();
        assert_eq!(n, 10);
        next += 10;
    }
    assert_eq!(seen, (0..next).collect::<Vec<_>>());
}

#[test]
fn full_ring_drops_then_recovers() {
    if !require_kernel() {
        return;
    }
    let rb_map = ringbuf(4096);
    let prog = producer(&rb_map);
    let mut rb = RingBuffer::new(rb_map.as_fd()).unwrap();
    for i in 0..300 {
        produce(&prog, i); // the kernel keeps used < size: 4095 / 16 = 255 fit, the rest are dropped
    }
    let mut got = Vec::new();
    assert_eq!(
        rb.consume(|r| got.push(u64::from_ne_bytes(r.try_into().unwrap()))),
        255
    );
    assert_eq!(got, (0..255).collect::<Vec<_>>());
    produce(&prog, 7);
    assert_eq!(rb.consume(|r| assert_eq!(r, 7u64.to_ne_bytes())), 1);
}

#[test]
fn not_a_ringbuf_is_refused() {
    if !require_kernel() {
        return;
    }
    let fd = bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        RingBuffer::new(fd.as_fd()),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn a_second_consumer_of_one_map_is_refused() {
    if !require_kernel() {
        return;
    }
    let rb_map = ringbuf(4096);
    let first = RingBuffer::new(rb_map.as_fd()).unwrap();
    let id = bpf::map_info(rb_map.as_fd()).unwrap().id;
    // Through the same descriptor, and through another one of the same map.
    let other = rb_map.try_clone().unwrap();
    for fd in [rb_map.as_fd(), other.as_fd()] {
        match RingBuffer::new(fd) {
            Err(e @ Error::RingInUse { .. }) => {
                let Error::RingInUse {
                    ref name,
                    id: got,
                    role,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((name.as_str(), got, role), ("lskel_rb", id, "consumer"));
                assert!(e.to_string().contains("`lskel_rb`"), "{e}");
            }
            other => panic!("a second consumer was not refused: {other:?}"),
        }
    }
    // Another map is not affected, and dropping the first consumer frees this one.
    let rb2 = ringbuf(4096);
    let _second = RingBuffer::new(rb2.as_fd()).unwrap();
    drop(first);
    let _again = RingBuffer::new(other.as_fd()).unwrap();
}

#[test]
fn a_second_user_ringbuf_producer_is_refused() {
    if !require_kernel() {
        return;
    }
    let map = bpf::map_create(&MapCreateAttr {
        map_type: 31, // BPF_MAP_TYPE_USER_RINGBUF
        max_entries: 4096,
        name: "lskel_urb",
        ..Default::default()
    })
    .unwrap();
    let first = UserRingBuffer::new(map.as_fd()).unwrap();
    assert!(matches!(
        UserRingBuffer::new(map.as_fd()),
        Err(Error::RingInUse { ref name, role: "producer", .. }) if name == "lskel_urb"
    ));
    drop(first);
    let _again = UserRingBuffer::new(map.as_fd()).unwrap();
}

#[test]
fn map_new_refuses_a_program_fd() {
    if !require_kernel() {
        return;
    }
    let rb_map = ringbuf(4096);
    let prog = producer(&rb_map);
    // BPF_OBJ_GET_INFO_BY_FD would fill a bpf_prog_info, read back as nonsense map sizes.
    assert_eq!(bpf::map_info(prog.as_fd()), Err(lskel::Errno::INVAL));
    assert!(matches!(
        Map::new(prog.as_fd()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        RingBuffer::new(prog.as_fd()),
        Err(Error::Syscall { .. })
    ));
    // A map still works.
    assert!(Map::new(rb_map.as_fd()).is_ok());
}
