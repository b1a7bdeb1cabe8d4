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
    let counts = lskel::Map::new(skel.maps().syscall_counts().fd())?;
    for round in 1..=3 {
        // Make some system calls of our own to count.
        for _ in 0..100 {
            let _ = std::fs::metadata("/");
        }
        std::thread::sleep(Duration::from_millis(200));
        let per_id = counts.keys().filter_map(|k| k.ok()).count();
        println!(
            "round {round}: {} syscalls seen from pid {} ({} distinct syscall ids)",
            skel.bss().count(),
            std::process::id(),
            per_id
        );
    }
    Ok(())
}
