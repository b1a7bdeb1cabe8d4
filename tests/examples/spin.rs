//! Spins on a `.bss` counter until a BPF program changes it: the regression check for globals
//! handed out as plain references (a release build hoisted the load out of the loop and spun
//! forever). Built in release mode and run by `tests/tests/spin_release.rs`.
//!
//! Exits 0 when the loop saw the program's write, 2 when a watchdog gave up after 20 seconds.

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
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(20));
        eprintln!("spin: the loop never saw the program's write");
        std::process::exit(2);
    });
    let start = skel.bss().count();
    std::thread::spawn(|| loop {
        // Syscalls of this process, counted by the program into `.bss`.
        std::thread::sleep(Duration::from_millis(50));
        let _ = std::fs::metadata("/");
    });
    // No syscall and no write of our own in the loop: only the program changes `count`.
    while skel.bss().count() == start {
        std::hint::spin_loop();
    }
    println!("spin: count moved from {start} to {}", skel.bss().count());
    Ok(())
}
