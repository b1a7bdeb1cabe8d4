//! Demo: counts this process's own system calls. A `raw_tp/sys_enter` program (its own object,
//! `bpf/syscount.bpf.o`) sends one typed `struct syscall_event` per syscall of this process
//! through a perf buffer; each round makes 100 `getpid` and 100 `stat` calls, then prints the
//! counts per round and checks that the `getpid`s were all seen and nothing was lost.
//!
//! Run as root: `cargo run -p lskel-tests --example syscount`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

lskel::bpf_skeleton!("bpf/syscount.bpf.o");
use syscount::types::syscall_event;

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syscount: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let pid = std::process::id();
    let mut open = syscount::open();
    open.rodata.target_pid = pid as i32;
    let skel = open.load()?;
    let _link = lskel::attach_raw_tp(
        skel.progs().on_sys_enter().expect("autoload is on"),
        "sys_enter",
    )?;
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    let mut lost = 0;
    let mut foreign = 0;
    let mut pb = lskel::PerfBuffer::builder(skel.maps().syscalls())
        .pages(64)
        .build()?;
    let getpid = libc::SYS_getpid;
    let mut previous_getpid = 0;
    for round in 1..=3 {
        // Make some system calls of our own to count.
        for _ in 0..100 {
            // SAFETY: getpid has no arguments and no side effects.
            unsafe { libc::syscall(libc::SYS_getpid) };
            let _ = std::fs::metadata("/");
        }
        // Each sample is written at syscall entry, so all of ours are in the rings by now.
        // (Drain once: waiting again would count the wait's own syscalls, and so on.)
        pb.poll_with(
            Some(Duration::from_millis(100)),
            |_cpu, record| match record {
                lskel::PerfRecord::Sample(data) => match syscall_event::from_prefix(data) {
                    Some(e) if e.pid == pid => *counts.entry(e.id).or_default() += 1,
                    _ => foreign += 1,
                },
                lskel::PerfRecord::Lost(n) => lost += n,
            },
        )?;
        let total: u64 = counts.values().sum();
        let seen_getpid = counts.get(&getpid).copied().unwrap_or(0);
        println!(
            "round {round}: {total} syscalls seen from pid {pid} ({} distinct syscall ids, getpid {seen_getpid})",
            counts.len()
        );
        if seen_getpid - previous_getpid < 100 {
            return Err(format!(
                "round {round}: {} getpid calls seen, 100 made",
                seen_getpid - previous_getpid
            )
            .into());
        }
        previous_getpid = seen_getpid;
    }
    drop(pb);
    if lost != 0 || foreign != 0 {
        return Err(format!("{lost} samples lost, {foreign} from another process").into());
    }
    let mut top: Vec<(i64, u64)> = counts.into_iter().collect();
    top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let top: Vec<String> = top
        .iter()
        .take(5)
        .map(|(id, n)| format!("#{id}: {n}"))
        .collect();
    println!(
        "syscount: every getpid seen, none lost; busiest ids {}",
        top.join(", ")
    );
    Ok(())
}
