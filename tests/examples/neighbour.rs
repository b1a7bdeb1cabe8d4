//! A noisy neighbour for the kernel tests: loads and drops light skeletons in a loop (with an
//! attached program and a load that fails inside the loader), so that every test runs while
//! other BPF objects, named like its own, come and go on the host. `.ci/run` runs it in the
//! background for the whole test run.
//!
//! `cargo run -p lskel-tests --example neighbour [SECONDS]` (default: until killed).

use std::time::{Duration, Instant};

lskel::bpf_skeleton!("bpf/counter.bpf.o");
lskel::bpf_skeleton!("bpf/maps.bpf.o");
lskel::bpf_skeleton!("bpf/mapinmap.bpf.o");

fn main() {
    let limit = std::env::args()
        .nth(1)
        .map(|s| Duration::from_secs(s.parse().expect("SECONDS is a number")));
    let start = Instant::now();
    let mut rounds = 0u64;
    let mut failures = 0u64;
    while limit.is_none_or(|l| start.elapsed() < l) {
        let mut ok = |r: Result<(), lskel::Error>| {
            if let Err(e) = r {
                failures += 1;
                if failures <= 5 {
                    eprintln!("neighbour: {e}");
                }
            }
        };
        ok((|| {
            let mut open = counter::open();
            open.rodata.target_pid = std::process::id() as i32;
            let skel = open.load()?;
            let _link = lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter")?;
            std::thread::sleep(Duration::from_millis(2));
            Ok(())
        })());
        ok(maps::open().load().map(drop));
        ok(mapinmap::open().load().map(drop));
        // Fails inside the loader, after some maps were made: a ring buffer of 5000 bytes.
        let mut open = maps::open();
        open.maps.ringbuf.set_max_entries(5000);
        if open.load().is_ok() {
            eprintln!("neighbour: a 5000-byte ring buffer was accepted");
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("neighbour: {rounds} rounds, {failures} failures");
}
