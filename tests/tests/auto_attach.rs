//! `skel.attach()`: every program whose section says where is attached, runs, and can be
//! detached one by one (tests/bpf/autoattach.bpf.c).

use lskel_tests::getpid_syscalls;

lskel::bpf_skeleton!("bpf/autoattach.bpf.o");

/// What `uprobe//proc/self/exe:lskel_autoattach_probe` probes.
#[no_mangle]
#[inline(never)]
pub extern "C" fn lskel_autoattach_probe(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(3))
}

fn getppid_syscalls(n: usize) {
    for _ in 0..n {
        // SAFETY: getppid has no arguments and no side effects.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

fn load() -> autoattach::Skel {
    let skel = autoattach::open().load().expect("load autoattach");
    skel.bss().set_my_pid(std::process::id() as i32);
    skel
}

#[test]
fn attach_attaches_every_program_that_says_where() {
    lskel_tests::require_kernel!();
    let mut skel = load();
    skel.attach().expect("attach()");
    let l = skel.links();
    for (name, link) in [
        ("tp_getpid", l.tp_getpid()),
        ("tracepoint_getppid", l.tracepoint_getppid()),
        ("rawtp_enter", l.rawtp_enter()),
        ("btf_enter", l.btf_enter()),
        ("task_iter", l.task_iter()),
        ("up_self", l.up_self()),
        ("uret_self", l.uret_self()),
    ] {
        assert!(link.is_some(), "{name} not attached");
    }
    // Sections that do not say where are skipped.
    for (name, link) in [
        ("up_typed", l.up_typed()),
        ("xdp_count", l.xdp_count()),
        ("tc_count", l.tc_count()),
        ("sock_filter", l.sock_filter()),
        ("perf_tick", l.perf_tick()),
    ] {
        assert!(link.is_none(), "{name} attached");
    }

    getpid_syscalls(10);
    getppid_syscalls(7);
    let mut sum = 0;
    for i in 0..5 {
        sum += lskel_autoattach_probe(i);
    }
    assert_eq!(sum, 30);
    let b = skel.bss();
    assert!(b.n_tp_getpid() >= 10, "tp: {}", b.n_tp_getpid());
    assert!(
        b.n_tracepoint_getppid() >= 7,
        "tracepoint: {}",
        b.n_tracepoint_getppid()
    );
    assert!(b.n_rawtp_enter() >= 17, "raw_tp: {}", b.n_rawtp_enter());
    assert!(b.n_btf_enter() >= 17, "tp_btf: {}", b.n_btf_enter());
    assert_eq!(b.n_up_self(), 5, "uprobe");
    assert_eq!(b.n_uret_self(), 5, "uretprobe");

    let out = lskel::read_iter_to_string(skel.links().task_iter().unwrap()).expect("run iter");
    let me = format!("{} ", std::process::id());
    assert!(
        out.lines().any(|l| l.starts_with(&me)),
        "own pid not in task iter output:\n{out}"
    );
    assert!(skel.bss().n_task_iter() > 0);
}

#[test]
fn links_detach_one_by_one_and_reattach() {
    lskel_tests::require_kernel!();
    let mut skel = load();
    skel.attach().expect("attach()");

    assert!(skel.links_mut().detach_tp_getpid());
    assert!(!skel.links_mut().detach_tp_getpid(), "already detached");
    let (tp, raw) = (skel.bss().n_tp_getpid(), skel.bss().n_rawtp_enter());
    getpid_syscalls(10);
    assert_eq!(
        skel.bss().n_tp_getpid(),
        tp,
        "detached tracepoint still runs"
    );
    assert!(skel.bss().n_rawtp_enter() >= raw + 10, "raw_tp stopped too");

    // A link taken out keeps working, and detaches when dropped.
    let up = skel.links_mut().take_up_self().expect("uprobe link");
    lskel_autoattach_probe(1);
    assert_eq!(skel.bss().n_up_self(), 1);
    up.detach().expect("detach");
    lskel_autoattach_probe(1);
    assert_eq!(skel.bss().n_up_self(), 1, "detached uprobe still runs");

    // attach() again fills the empty slots only.
    skel.attach().expect("attach() again");
    assert!(skel.links().tp_getpid().is_some() && skel.links().up_self().is_some());
    getpid_syscalls(3);
    lskel_autoattach_probe(1);
    assert!(skel.bss().n_tp_getpid() >= tp + 3);
    assert_eq!(skel.bss().n_up_self(), 2);

    skel.links_mut().detach_all();
    let raw = skel.bss().n_rawtp_enter();
    getpid_syscalls(5);
    assert_eq!(
        skel.bss().n_rawtp_enter(),
        raw,
        "detach_all left raw_tp attached"
    );
}

#[test]
fn dropping_the_skeleton_frees_its_links() {
    lskel_tests::require_kernel!();
    use lskel_tests::BpfKind;
    let before = lskel_tests::own_bpf_objects();
    let mut skel = load();
    skel.attach().expect("attach()");
    let links: std::collections::BTreeSet<u32> = lskel_tests::own_bpf_objects()
        .difference(&before)
        .filter(|(k, _)| *k == BpfKind::Link)
        .map(|(_, id)| *id)
        .collect();
    // tp, tracepoint, raw_tp, tp_btf, iter, uprobe, uretprobe.
    assert!(links.len() >= 7, "links: {links:?}");
    drop(skel);
    lskel_tests::wait_freed("auto-attach links", BpfKind::Link, &links);
}

// ---------------------------------------------------------------------------------------------
// `.struct_ops.link` maps: attach() registers them too.

lskel::bpf_skeleton!("../gen/tests/objects/structops.bpf.o");

/// Only one process may register `lskel_cc` at a time (shared with tests/struct_ops.rs).
fn host_lock() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::create("/tmp/lskel-tcp-cc.lock").unwrap();
    // SAFETY: flock on an fd this File owns.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock");
    f
}

fn set_congestion(s: &std::net::TcpStream, name: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt reads `name.len()` bytes from `name`.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn attach_registers_struct_ops_link_maps() {
    lskel_tests::require_kernel!();
    let _lock = host_lock();
    let mut skel = structops::open().load().expect("load structops");
    skel.attach().expect("attach()");
    assert!(skel.links().lskel_cc().is_some(), "lskel_cc not registered");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    set_congestion(&c, "lskel_cc").expect("lskel_cc is registered");
    assert!(skel.links_mut().detach_lskel_cc());
    let c2 = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    assert!(
        set_congestion(&c2, "lskel_cc").is_err(),
        "lskel_cc still registered"
    );
}
