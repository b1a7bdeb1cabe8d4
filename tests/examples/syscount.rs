//! Demo: loads the `counter` skeleton, attaches its `raw_tp/sys_enter` program by hand
//! through its fd, and prints live counts read from `.bss` and the per-syscall hash map.
//!
//! Run as root: `cargo run -p lskel-tests --example syscount`

use std::time::Duration;

lskel::bpf_skeleton!("bpf/counter.bpf.o");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut open = counter::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load()?;
    let _link = lskel::attach_raw_tp(
        skel.progs().count_syscalls().expect("autoload is on"),
        "sys_enter",
    )?;
    // A typed hash map: syscall id (u32) -> count (u64).
    let counts = skel.maps().syscall_counts();
    for round in 1..=3 {
        // Make some system calls of our own to count.
        for _ in 0..100 {
            let _ = std::fs::metadata("/");
        }
        std::thread::sleep(Duration::from_millis(200));
        let per_id: Vec<(u32, u64)> = counts.iter().collect::<lskel::Result<_>>()?;
        let busiest = per_id.iter().max_by_key(|&&(_, n)| n);
        println!(
            "round {round}: {} syscalls seen from pid {} ({} distinct syscall ids, busiest {busiest:?})",
            skel.bss().count(),
            std::process::id(),
            per_id.len()
        );
    }
    Ok(())
}
