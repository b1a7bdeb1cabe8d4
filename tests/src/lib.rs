//! Shared support for lskel's real-kernel integration tests.

use std::path::PathBuf;

/// Whether the bpf syscall is usable. Under `LSKEL_REQUIRE_KERNEL=1` an unusable kernel is a
/// test failure; otherwise the test prints why it skips and returns early.
pub fn kernel_available() -> bool {
    match lskel::probe_kernel() {
        Ok(()) => true,
        Err(e) => {
            if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") {
                panic!("LSKEL_REQUIRE_KERNEL=1 but the bpf syscall is not usable: {e}");
            }
            eprintln!("skipping: the bpf syscall is not usable here ({e}); run as root to test on the kernel");
            false
        }
    }
}

/// Skips the calling test (returning early) when the kernel is out of reach.
#[macro_export]
macro_rules! require_kernel {
    () => {
        if !$crate::kernel_available() {
            return;
        }
    };
}

/// Path of a fixture object under `tests/bpf/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("bpf")
        .join(name)
}

/// All fixture objects.
pub fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bpf"))
        .expect("tests/bpf exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.o")))
        .collect();
    v.sort();
    v
}
