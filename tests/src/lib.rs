//! Shared support for lskel's real-kernel integration tests.

use std::path::PathBuf;

pub mod keys;
pub mod netns;

/// Whether the bpf syscall is usable. Under `LSKEL_REQUIRE_KERNEL=1` an unusable kernel is a
/// test failure; otherwise the test prints why it skips and returns early.
///
/// The probe runs once per process: it creates (and closes) a bpf object, and a test that counts
/// the descriptors or objects its process holds must not see another thread's probe in between.
/// The first callers wait for that one probe, so once any test is past this no probe is in flight.
pub fn kernel_available() -> bool {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    match PROBE.get_or_init(|| lskel::probe_kernel().map_err(|e| e.to_string())) {
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

/// The kind of a BPF object behind a file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BpfKind {
    Map,
    Prog,
    Link,
    Btf,
}

impl BpfKind {
    /// The kind from the target of a `/proc/self/fd` link (`anon_inode:bpf-map` ...).
    fn of_fd_target(target: &str) -> Option<BpfKind> {
        match target.strip_prefix("anon_inode:")? {
            "bpf-map" => Some(BpfKind::Map),
            "bpf-prog" => Some(BpfKind::Prog),
            "bpf_link" | "bpf-link" => Some(BpfKind::Link),
            "btf" => Some(BpfKind::Btf),
            _ => None,
        }
    }

    /// The `/proc/self/fdinfo` key that gives the object's id.
    fn fdinfo_key(self) -> &'static str {
        match self {
            BpfKind::Map => "map_id:",
            BpfKind::Prog => "prog_id:",
            BpfKind::Link => "link_id:",
            BpfKind::Btf => "btf_id:",
        }
    }

    /// `BPF_*_GET_FD_BY_ID` for this kind.
    fn get_fd_by_id(self, id: u32) -> Result<std::os::fd::OwnedFd, lskel::Errno> {
        use lskel::sys::bpf;
        match self {
            BpfKind::Map => bpf::map_get_fd_by_id(id),
            BpfKind::Prog => bpf::prog_get_fd_by_id(id),
            BpfKind::Link => bpf::link_get_fd_by_id(id),
            BpfKind::Btf => bpf::btf_get_fd_by_id(id),
        }
    }
}

/// The BPF objects this process holds through its own file descriptors, by fd: the kind and
/// kernel id of each (from `/proc/self/fd` and `/proc/self/fdinfo`). Objects of other processes
/// are never seen, so this is exact while anything else on the host loads BPF.
pub fn own_bpf_fds() -> std::collections::BTreeMap<i32, (BpfKind, u32)> {
    let mut out = std::collections::BTreeMap::new();
    for fd in open_fds() {
        let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
            continue; // closed meanwhile (by another thread)
        };
        let Some(kind) = BpfKind::of_fd_target(&target.to_string_lossy()) else {
            continue;
        };
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            continue;
        };
        let id = info.lines().find_map(|l| {
            l.strip_prefix(kind.fdinfo_key())
                .and_then(|v| v.trim().parse::<u32>().ok())
        });
        match id {
            Some(id) => {
                out.insert(fd, (kind, id));
            }
            None => panic!(
                "fd {fd} ({kind:?}): no `{}` in fdinfo:\n{info}",
                kind.fdinfo_key()
            ),
        }
    }
    out
}

/// The BPF objects (kind, id) this process holds through its own descriptors.
pub fn own_bpf_objects() -> std::collections::BTreeSet<(BpfKind, u32)> {
    own_bpf_fds().into_values().collect()
}

/// Polls `check` every 20 ms until it returns `Ok` or `timeout` has passed; then panics with
/// `what` and the last error.
pub fn wait_until(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let err = match check() {
            Ok(()) => return,
            Err(e) => e,
        };
        if std::time::Instant::now() > deadline {
            panic!("{what}: still not so after {timeout:?}: {err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The ids of `ids` (of objects of `kind`) that the kernel still has: `BPF_*_GET_FD_BY_ID`
/// succeeds (anything but `ENOENT` counts as alive).
pub fn still_alive(kind: BpfKind, ids: &std::collections::BTreeSet<u32>) -> Vec<u32> {
    ids.iter()
        .copied()
        .filter(|&id| kind.get_fd_by_id(id).err() != Some(lskel::Errno::NOENT))
        .collect()
}

/// Waits (up to 5 s: the kernel frees maps, programs, BTF and links after an RCU grace period)
/// until none of the objects `ids` of `kind`, recorded while this process held them, exists.
/// Only these ids are looked at: what other processes create meanwhile does not matter.
pub fn wait_freed(what: &str, kind: BpfKind, ids: &std::collections::BTreeSet<u32>) {
    wait_until(what, std::time::Duration::from_secs(5), || {
        let left = still_alive(kind, ids);
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} {kind:?} ids alive: {left:?}",
                left.len(),
                ids.len()
            ))
        }
    });
}
