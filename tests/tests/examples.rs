//! Runs every example of this crate to completion, as CI must: each example generates its own
//! load, checks what it observed and exits non-zero with a message when it is wrong. Cargo builds
//! the examples before it runs any test (`cargo test` builds examples by default), so their
//! binaries sit beside this test's, in `target/<profile>/examples/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Examples that are not tools to run once: `neighbour` loops until killed (the CI neighbour),
/// `spin` is a helper the lifecycle tests start.
const NOT_RUN: &[&str] = &["neighbour", "spin"];

/// How long one example may take (each is bounded to a few seconds on its own).
const LIMIT: Duration = Duration::from_secs(60);

fn examples_dir() -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .join("examples")
}

fn example_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/examples exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .filter(|n| !NOT_RUN.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// Runs `bin` with a time limit; returns (success, output).
fn run(bin: &Path) -> (bool, String) {
    let mut child = Command::new(bin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().expect("wait for the example") {
            break;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child
                .wait_with_output()
                .expect("collect the example's output");
            return (
                false,
                format!(
                    "timed out after {LIMIT:?}\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child
        .wait_with_output()
        .expect("collect the example's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_example_runs_to_completion_and_checks_its_output() {
    lskel_tests::require_kernel!();
    let dir = examples_dir();
    let names = example_names();
    assert!(!names.is_empty(), "no examples found");
    let mut failed = Vec::new();
    for name in &names {
        let bin = dir.join(name);
        assert!(
            bin.exists(),
            "example binary {} is missing: cargo builds examples with `cargo test` unless a target \
             filter leaves them out (`cargo build -p lskel-tests --examples` first)",
            bin.display()
        );
        let start = Instant::now();
        let (ok, out) = run(&bin);
        eprintln!(
            "--- example {name}: {} in {:.2?}\n{out}",
            if ok { "ok" } else { "FAILED" },
            start.elapsed()
        );
        if !ok {
            failed.push(name.clone());
        }
    }
    assert!(failed.is_empty(), "examples failed: {failed:?}");
}
