//! events.bpf.o: ring buffers, a perf buffer and their typed records.
//!
//! The programs have no attach target: each `BPF_PROG_TEST_RUN` of `emit_ring` / `emit_perf`
//! emits exactly one `struct event` whose sequence number is the first u64 of the context, so
//! every record the test sees is one it made.

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lskel::sys::bpf::{prog_test_run, TestRunAttr};
use lskel::{PerfBuffer, RingBuffer, RingBufferPoller};
use lskel_tests::{require_kernel, wait_until};

lskel::bpf_skeleton!("bpf/events.bpf.o");
use events::types;

const N: u64 = 10_000;
/// `BPF_F_TEST_RUN_ON_CPU`.
const TEST_RUN_ON_CPU: u32 = 1;

/// One test run of `prog` with context `args`, on `cpu` if given. Returns the program's result.
fn run(prog: BorrowedFd<'_>, args: [u64; 2], cpu: Option<usize>) -> u32 {
    let mut ctx = [0u8; 16];
    ctx[..8].copy_from_slice(&args[0].to_ne_bytes());
    ctx[8..].copy_from_slice(&args[1].to_ne_bytes());
    let attr = TestRunAttr {
        ctx_in: Some(&mut ctx),
        flags: if cpu.is_some() { TEST_RUN_ON_CPU } else { 0 },
        cpu: cpu.unwrap_or(0) as u32,
        ..Default::default()
    };
    prog_test_run(prog, attr).expect("BPF_PROG_TEST_RUN").retval
}

/// The calling thread's comm, as `bpf_get_current_comm` sees it.
fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end_matches('\n')
        .to_string()
}

fn tid() -> u32 {
    lskel_tests::gettid()
}

#[test]
fn the_event_types_are_generated_from_btf() {
    // Only reachable through a function's parameters, never through a global.
    assert_eq!(std::mem::size_of::<types::event>(), 32);
    assert_eq!(std::mem::size_of::<types::event_word>(), 8);
    assert_eq!(types::EVENT_RING, 1);
    assert_eq!(types::EVENT_PERF, 2);
    let _: types::event_kind = types::EVENT_PERF;
    let mut e = types::event::from_bytes(&[0u8; 32]).unwrap();
    assert!(types::event::from_bytes(&[0u8; 31]).is_none());
    assert!(types::event::from_bytes(&[0u8; 33]).is_none());
    assert!(types::event::from_prefix(&[0u8; 36]).is_some());
    e.set_comm_str("a-name-longer-than-15");
    assert_eq!(e.comm_str(), "a-name-longer-t");
    assert_eq!(e.comm[15], 0);
    e.seq = 7;
    let copy = types::event::from_bytes(e.as_bytes()).unwrap();
    assert_eq!(
        (copy.seq, copy.comm_str().into_owned()),
        (7, e.comm_str().into_owned())
    );
    let w = types::event_word::from_bytes(&7u64.to_ne_bytes()).unwrap();
    // SAFETY: every field of the union is plain integers.
    #[allow(unsafe_code)]
    let all = unsafe { w.all };
    assert_eq!(all, 7);
}

#[test]
fn ring_buffer_10000_typed_records_without_loss() {
    require_kernel!();
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_ring().unwrap();
    let ring_fd = skel.maps().ring_a();
    let comm = thread_comm();
    let (pid, tid) = (std::process::id(), tid());
    let consumed = AtomicU64::new(0);
    std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut ring = RingBuffer::new(ring_fd).unwrap();
            let mut next = 0u64;
            while next < N {
                ring.poll(Some(Duration::from_millis(100)), |rec| {
                    let e = types::event::from_bytes(rec).expect("a 32-byte record");
                    assert_eq!(e.seq, next, "records in order, none lost");
                    assert_eq!((e.pid, e.tid), (pid, tid));
                    assert_eq!(e.comm_str(), comm);
                    assert_eq!(e.as_bytes(), rec);
                    next += 1;
                })
                .unwrap();
                consumed.store(next, Ordering::Release);
            }
        });
        for seq in 0..N {
            assert_eq!(run(prog, [seq, 0], None), 0, "record {seq} reserved");
            // Never more than 1,000 records ahead of the consumer (the ring holds ~6,500).
            if seq % 1000 == 999 {
                wait_until("consumer catches up", Duration::from_secs(20), || {
                    if consumer.is_finished() || consumed.load(Ordering::Acquire) > seq {
                        Ok(())
                    } else {
                        Err(format!("{} consumed", consumed.load(Ordering::Acquire)))
                    }
                });
            }
        }
    });
    assert_eq!(consumed.load(Ordering::Acquire), N);
    assert_eq!(skel.bss().ring_drops(), 0);
}

/// Checks that `seqs` (cpu -> sequence numbers in arrival order) hold each of `0..n` exactly
/// once, increasing on each CPU.
fn check_all_once(seqs: &BTreeMap<usize, Vec<u64>>, n: u64) {
    for (cpu, s) in seqs {
        assert!(s.windows(2).all(|w| w[0] < w[1]), "cpu {cpu} in order");
    }
    let mut all: Vec<u64> = seqs.values().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
}

#[test]
fn perf_buffer_10000_records_without_loss() {
    require_kernel!();
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_perf().unwrap();
    let map = skel.maps().perf_events();
    let comm = thread_comm();
    let consumed = AtomicU64::new(0);
    let ready = AtomicU64::new(0);
    let seqs = std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut seqs: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            let mut lost = 0;
            let mut pb = PerfBuffer::builder(map)
                .pages(64)
                .sample(|cpu, data| {
                    // Raw samples are padded: 32 bytes of event + 4 of padding.
                    assert!(types::event::from_bytes(data).is_none());
                    let e = types::event::from_prefix(data).expect("at least 32 bytes");
                    assert_eq!(e.comm_str(), comm);
                    seqs.entry(cpu).or_default().push(e.seq);
                })
                .lost(|_, n| lost += n)
                .build()
                .unwrap();
            assert!(pb.ring_size() >= 64 * 4096);
            ready.store(1, Ordering::Release);
            let mut total = 0;
            while total < N as usize {
                total += pb.poll(Some(Duration::from_millis(100))).unwrap();
                consumed.store(total as u64, Ordering::Release);
            }
            drop(pb);
            assert_eq!(lost, 0);
            seqs
        });
        wait_until("perf buffer ready", Duration::from_secs(10), || {
            (consumer.is_finished() || ready.load(Ordering::Acquire) == 1)
                .then_some(())
                .ok_or_else(|| "building".into())
        });
        for seq in 0..N {
            assert_eq!(run(prog, [seq, 0], None), 0, "sample {seq} written");
            if seq % 1000 == 999 {
                wait_until("consumer catches up", Duration::from_secs(20), || {
                    if consumer.is_finished() || consumed.load(Ordering::Acquire) > seq {
                        Ok(())
                    } else {
                        Err(format!("{} consumed", consumed.load(Ordering::Acquire)))
                    }
                });
            }
        }
        consumer.join().unwrap()
    });
    check_all_once(&seqs, N);
    assert_eq!(skel.bss().perf_errors(), 0);
}

#[test]
fn a_full_perf_buffer_reports_lost_samples() {
    require_kernel!();
    const SENT: u64 = 1000;
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_perf().unwrap();
    let mut received = Vec::new();
    let mut lost: BTreeMap<usize, u64> = BTreeMap::new();
    let mut pb = PerfBuffer::builder(skel.maps().perf_events())
        .pages(1)
        .sample(|cpu, data| received.push((cpu, types::event::from_prefix(data).unwrap().seq)))
        .lost(|cpu, n| *lost.entry(cpu).or_default() += n)
        .build()
        .unwrap();
    let cpus = pb.cpus();
    let cpu0 = cpus[0];
    // 1,000 samples of 48 bytes (header, size, padded event) into one 4 KiB page, unread.
    for seq in 0..SENT {
        run(prog, [seq, 0], Some(cpu0));
    }
    let kept = pb.consume();
    assert!(kept > 0 && (kept as u64) < SENT, "{kept} kept");
    let failed = skel.bss().perf_errors();
    assert_eq!(
        failed,
        SENT - kept as u64,
        "each lost sample failed its output"
    );
    // The kernel reports a loss before the next sample that fits: one more on every CPU.
    for (i, &cpu) in cpus.iter().enumerate() {
        assert_eq!(run(prog, [SENT + i as u64, 0], Some(cpu)), 0);
    }
    pb.consume();
    drop(pb);
    assert_eq!(received.len(), kept + cpus.len());
    assert!(received[..kept].iter().all(|&(cpu, _)| cpu == cpu0));
    let seqs: Vec<u64> = received[..kept].iter().map(|r| r.1).collect();
    assert_eq!(
        seqs,
        (0..kept as u64).collect::<Vec<_>>(),
        "the first ones kept"
    );
    assert_eq!(lost, BTreeMap::from([(cpu0, SENT - kept as u64)]));
}

#[test]
fn one_poller_over_two_ring_buffers() {
    require_kernel!();
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_ring().unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut poller = RingBufferPoller::builder()
        .add(skel.maps().ring_a(), |rec| {
            a.push(types::event::from_bytes(rec).unwrap().seq)
        })
        .unwrap()
        .add(skel.maps().ring_b(), |rec| {
            b.push(types::event::from_bytes(rec).unwrap().seq)
        })
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(poller.poll(Some(Duration::from_millis(10))).unwrap(), 0);
    // A ring already consumed by the poller cannot get a second consumer.
    assert!(matches!(
        RingBuffer::new(skel.maps().ring_b()),
        Err(lskel::Error::RingInUse { .. })
    ));
    for seq in 0..500u64 {
        assert_eq!(run(prog, [seq, seq % 5 / 3], None), 0);
    }
    let mut total = 0;
    while total < 500 {
        let n = poller.poll(Some(Duration::from_secs(5))).unwrap();
        assert!(n > 0, "records arrive");
        total += n;
    }
    drop(poller);
    let want = |ring: u64| -> Vec<u64> { (0..500).filter(|s| s % 5 / 3 == ring).collect() };
    assert_eq!(a, want(0));
    assert_eq!(b, want(1));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn async_ring_buffer_streams_records() {
    require_kernel!();
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_ring().unwrap();
    let rt = runtime();
    let mut ring = rt
        .block_on(async { lskel::AsyncRingBuffer::new(skel.maps().ring_a()) })
        .unwrap();
    std::thread::scope(|s| {
        // Records arrive while the stream waits: the wakeup path, not only a full ring.
        s.spawn(|| {
            for seq in 0..2000u64 {
                if seq % 500 == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert_eq!(run(prog, [seq, 0], None), 0);
            }
        });
        rt.block_on(async {
            for seq in 0..2000u64 {
                let rec = if seq % 2 == 0 {
                    tokio::time::timeout(Duration::from_secs(10), ring.next()).await
                } else {
                    // Through the `Stream` impl.
                    let next = std::future::poll_fn(|cx| {
                        futures_poll_next(std::pin::Pin::new(&mut ring), cx)
                    });
                    tokio::time::timeout(Duration::from_secs(10), next)
                        .await
                        .map(|r| r.expect("the stream does not end"))
                };
                let rec = rec.expect("a record within 10 s").unwrap();
                assert_eq!(types::event::from_bytes(&rec).unwrap().seq, seq);
            }
        });
    });
    assert_eq!(skel.bss().ring_drops(), 0);
}

/// `Stream::poll_next` (the trait is re-exported by lskel: no futures-util needed).
fn futures_poll_next<S: lskel::asyncbuf::Stream + Unpin>(
    s: std::pin::Pin<&mut S>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Option<S::Item>> {
    s.poll_next(cx)
}

#[test]
fn async_perf_buffer_streams_samples() {
    require_kernel!();
    let skel = events::open().load().unwrap();
    let prog = skel.progs().emit_perf().unwrap();
    let rt = runtime();
    let mut pb = rt
        .block_on(async { lskel::AsyncPerfBuffer::new(skel.maps().perf_events(), 16) })
        .unwrap();
    let seqs = std::thread::scope(|s| {
        s.spawn(|| {
            for seq in 0..2000u64 {
                if seq % 500 == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert_eq!(run(prog, [seq, 0], None), 0);
            }
        });
        rt.block_on(async {
            let mut seqs: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for _ in 0..2000 {
                let ev = tokio::time::timeout(Duration::from_secs(10), pb.next())
                    .await
                    .expect("a sample within 10 s")
                    .unwrap();
                match ev {
                    lskel::PerfEvent::Sample { cpu, data } => seqs
                        .entry(cpu)
                        .or_default()
                        .push(types::event::from_prefix(&data).unwrap().seq),
                    lost => panic!("{lost:?}"),
                }
            }
            seqs
        })
    });
    check_all_once(&seqs, 2000);
}

#[test]
fn consumers_without_callbacks_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<RingBuffer>();
    send::<lskel::AsyncRingBuffer>();
    send::<lskel::AsyncPerfBuffer>();
}
