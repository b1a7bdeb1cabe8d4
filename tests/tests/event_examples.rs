//! Runs the event examples (`examples/execsnoop.rs`, `examples/syscount.rs`) to completion:
//! each checks what it observed and exits non-zero when it is wrong.
//!
//! The binaries are the ones `cargo test --all-targets` builds next to this test
//! (`target/<profile>/examples/`); when they are not built (`cargo test --test
//! event_examples`), the test says so and skips.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lskel_tests::require_kernel;

fn example(name: &str) -> Option<PathBuf> {
    // target/<profile>/deps/event_examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

fn run_example(name: &str, last_line: &str) {
    require_kernel!();
    let Some(path) = example(name) else {
        eprintln!("skipping: examples/{name} is not built (run with --all-targets)");
        return;
    };
    let mut child = Command::new(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("examples/{name} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "examples/{name}: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(last_line), "{stdout}");
}

#[test]
fn execsnoop_sees_its_childrens_execs() {
    run_example("execsnoop", "execsnoop: saw all 5 execs of 4 children");
}

#[test]
fn syscount_counts_its_syscalls_through_a_perf_buffer() {
    run_example("syscount", "syscount: every getpid seen, none lost");
}
