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

/// Runs a `BPF_PROG_TYPE_SYSCALL` program once with `ctx` as its context (`ctx_size_in` =
/// `ctx.len()`; an empty `ctx` passes none) and returns the program's return value.
pub fn run_syscall_prog(prog: std::os::fd::BorrowedFd<'_>, ctx: &mut [u8]) -> lskel::Result<u32> {
    let attr = lskel::sys::bpf::TestRunAttr {
        ctx_in: (!ctx.is_empty()).then_some(ctx),
        ..Default::default()
    };
    lskel::sys::bpf::prog_test_run(prog, attr)
        .map(|out| out.retval)
        .map_err(|e| lskel::Error::syscall("BPF_PROG_TEST_RUN", e))
}

/// Calls `getpid` `n` times through `syscall(2)` (glibc's wrapper may be cached elsewhere; this
/// always enters the kernel).
pub fn getpid_syscalls(n: usize) {
    for _ in 0..n {
        // SAFETY: getpid has no arguments and no side effects.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
}

/// The calling thread's id (`gettid()`).
pub fn gettid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// The numbers of this process's open file descriptors (entries of `/proc/self/fd`, minus the
/// descriptor used to read the directory itself).
pub fn open_fds() -> std::collections::BTreeSet<i32> {
    let mut fds: std::collections::BTreeSet<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The directory stream's own fd is listed too but closed now: keep only live descriptors.
    fds.retain(|&fd| {
        // SAFETY: F_GETFD only queries the descriptor table.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        flags >= 0
    });
    fds
}

/// A string from a C `char` array (up to the first NUL).
pub fn c_chars(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The reference frame of tests/bpf/README.md, `len` bytes (64 in most tests): Ethernet + IPv4
/// (127.0.0.1 -> 127.0.0.1, UDP, tot_len 50) + UDP (1234 -> 5678), then zeros.
pub fn udp_frame(len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[127, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[127, 0, 0, 1]);
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&1234u16.to_be_bytes());
    f.extend_from_slice(&5678u16.to_be_bytes());
    f.extend_from_slice(&30u16.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(len, 0);
    f
}
