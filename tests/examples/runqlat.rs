//! runqlat: a log2 histogram of run-queue latency (the time a task waits between becoming
//! runnable and running), like bcc's `runqlat`, read from a typed array map.
//!
//! Attaches `tp_btf/sched_wakeup`, `tp_btf/sched_wakeup_new` and `tp_btf/sched_switch`, counts
//! only this process's threads, and makes its own load for about a second: threads that sleep
//! and wake each other (a ping-pong over channels, plus short sleeps), and new threads (for
//! `sched_wakeup_new`). Prints the histogram as a text chart and fails when it is empty.
//!
//! Run as root: `cargo run -p lskel-tests --example runqlat`

use std::sync::mpsc;
use std::time::{Duration, Instant};

lskel::bpf_skeleton!("bpf/runqlat.bpf.o");

/// Threads that wake each other and sleep, for `run_for`.
fn make_load(run_for: Duration) {
    let end = Instant::now() + run_for;
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (to_peer, from_main) = mpsc::channel::<u32>();
        let (to_main, from_peer) = mpsc::channel::<u32>();
        let peer = std::thread::spawn(move || {
            while let Ok(n) = from_main.recv() {
                if to_main.send(n + 1).is_err() {
                    break;
                }
            }
        });
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while Instant::now() < end {
                to_peer.send(n).unwrap();
                n = from_peer.recv().unwrap();
                if n % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            drop(to_peer);
            peer.join().unwrap();
        }));
    }
    // New threads now and then: sched_wakeup_new.
    while Instant::now() < end {
        std::thread::spawn(|| std::thread::sleep(Duration::from_millis(1)))
            .join()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    for w in workers {
        w.join().unwrap();
    }
}

/// The histogram as bcc prints it: one row per slot from the first to the last non-empty one.
fn chart(slots: &[u64]) -> String {
    let first = slots.iter().position(|&c| c > 0).unwrap_or(0);
    let last = slots.iter().rposition(|&c| c > 0).unwrap_or(0);
    let max = slots.iter().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "{:>25} : {:<8} |{:<40}|\n",
        "usecs", "count", "distribution"
    );
    for (i, &count) in slots.iter().enumerate().take(last + 1).skip(first) {
        let (low, high) = if i == 0 {
            (0u64, 1u64)
        } else {
            (1 << i, (1 << (i + 1)) - 1)
        };
        let stars = (count * 40).div_ceil(max) as usize;
        out.push_str(&format!(
            "{:>11} -> {:<10} : {:<8} |{:<40}|\n",
            low,
            high,
            count,
            "*".repeat(stars.min(40))
        ));
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return Ok(());
    }
    let mut open = runqlat::open();
    open.rodata.targ_tgid = std::process::id();
    let skel = open.load()?;
    let progs = skel.progs();
    let _links = [
        lskel::attach_raw_tp(progs.rq_wakeup().expect("loaded"), "")?,
        lskel::attach_raw_tp(progs.rq_wakeup_new().expect("loaded"), "")?,
        lskel::attach_raw_tp(progs.rq_switch().expect("loaded"), "")?,
    ];
    println!(
        "Tracing run queue latency of pid {} for 1 s...",
        std::process::id()
    );
    make_load(Duration::from_secs(1));
    drop(_links);

    // The histogram: a typed array map, u32 slot -> u64 count.
    let hist = skel.maps().hist();
    let max_entries = hist.info()?.max_entries;
    let mut slots = vec![0u64; max_entries as usize];
    for (slot, count) in hist.iter().collect::<lskel::Result<Vec<(u32, u64)>>>()? {
        slots[slot as usize] = count;
    }
    print!("{}", chart(&slots));
    let total: u64 = slots.iter().sum();
    let events = skel.bss().events();
    println!("{total} latencies counted");
    if total == 0 {
        return Err("the histogram is empty: no run-queue latency was observed".into());
    }
    // A program still running when its link went away may add one more of each.
    if total.abs_diff(events) > 16 {
        return Err(
            format!("the histogram holds {total} counts but the program counted {events}").into(),
        );
    }
    Ok(())
}
