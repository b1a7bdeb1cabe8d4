//! A release build spinning on a `.bss` counter sees the program's write (`examples/spin.rs`).
//!
//! With globals handed out as `&Bss`, `while skel.bss().count == 0 {}` let the optimizer load
//! `count` once, before the loop, and the example spun until its watchdog killed it (exit 2).
//! The views' getters are atomic loads, which the optimizer must repeat.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use lskel_tests::require_kernel;

#[test]
fn release_spin_loop_sees_the_programs_write() {
    require_kernel!();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // A target directory of its own: the one of this `cargo test` may be locked by it.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("spin-release");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--offline", "--example", "spin"])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo build --release --example spin");
    assert!(status.success(), "release build of examples/spin.rs failed");

    let mut child = Command::new(target.join("release/examples/spin"))
        .spawn()
        .expect("run examples/spin");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("examples/spin still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "examples/spin: {status} (2: the spin loop never saw the program's write)"
    );
}
