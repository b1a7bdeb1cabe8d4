//! multi.bpf.o: several program types in one object: xdp, tc, socket filter and cgroup_skb run
//! with `BPF_PROG_TEST_RUN` on a packet, a raw tracepoint and a perf-event tracepoint attached for real.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::Duration;

use lskel::sys::bpf::{prog_test_run, TestRunAttr, TestRunOutput};
use lskel::{Errno, Map};
use lskel_tests::{getpid_syscalls, require_kernel};

lskel::bpf_skeleton!("bpf/multi.bpf.o");

/// The tracing tests count this process's syscalls: run the tests of this file one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_pkt(prog: BorrowedFd<'_>, data: &[u8]) -> Result<TestRunOutput, Errno> {
    prog_test_run(
        prog,
        TestRunAttr {
            data_in: data,
            ..Default::default()
        },
    )
}

fn pkt_count(skel: &multi::Skel, idx: u32) -> u64 {
    let m = Map::new(skel.maps().pkt_counts().fd()).unwrap();
    let v = m.get(&idx.to_ne_bytes()).unwrap().unwrap();
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

#[test]
fn packet_programs_run_on_a_frame() {
    require_kernel!();
    let _g = lock();
    let skel = multi::open().load().unwrap();
    let f = lskel_tests::udp_frame(64);
    assert_eq!(f.len(), 64);
    let p = skel.progs();

    assert_eq!(
        run_pkt(p.xdp_count().unwrap(), &f).unwrap().retval,
        2,
        "XDP_PASS"
    );
    assert_eq!(
        run_pkt(p.tc_count().unwrap(), &f).unwrap().retval,
        0,
        "TC_ACT_OK"
    );
    assert_eq!(
        run_pkt(p.sock_count().unwrap(), &f).unwrap().retval,
        50,
        "skb->len"
    );
    assert_eq!(
        run_pkt(p.cgskb_count().unwrap(), &f).unwrap().retval,
        1,
        "allow"
    );

    let b = skel.bss().read();
    assert_eq!((b.xdp_hits, b.xdp_len), (1, 64));
    assert_eq!((b.tc_hits, b.tc_len), (1, 64));
    assert_eq!((b.sock_hits, b.sock_len), (1, 50));
    assert_eq!((b.cgskb_hits, b.cgskb_len), (1, 50));
    assert_eq!((b.tp_hits, b.rawtp_hits), (0, 0), "nothing attached");
    for i in 0..4 {
        assert_eq!(pkt_count(&skel, i), 1, "pkt_counts[{i}]");
    }

    // Twice more through XDP: only its counters move.
    run_pkt(p.xdp_count().unwrap(), &f).unwrap();
    run_pkt(p.xdp_count().unwrap(), &f).unwrap();
    assert_eq!(skel.bss().xdp_hits(), 3);
    assert_eq!(pkt_count(&skel, 0), 3);
    assert_eq!(pkt_count(&skel, 1), 1);
}

#[test]
fn packet_programs_use_repeat() {
    require_kernel!();
    let _g = lock();
    let skel = multi::open().load().unwrap();
    let out = prog_test_run(
        skel.progs().tc_count().unwrap(),
        TestRunAttr {
            data_in: &lskel_tests::udp_frame(64),
            repeat: 10,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(out.retval, 0);
    assert_eq!(skel.bss().tc_hits(), 10);
    assert_eq!(pkt_count(&skel, 1), 10);
}

#[test]
fn xdp_sees_short_frames_and_refuses_too_short_ones() {
    require_kernel!();
    let _g = lock();
    let skel = multi::open().load().unwrap();
    let f = lskel_tests::udp_frame(64);
    assert_eq!(
        run_pkt(skel.progs().xdp_count().unwrap(), &f[..14])
            .unwrap()
            .retval,
        2
    );
    assert_eq!(skel.bss().xdp_len(), 14);
    assert_eq!(
        run_pkt(skel.progs().xdp_count().unwrap(), &f[..13]).unwrap_err(),
        Errno::INVAL
    );
    assert_eq!(skel.bss().xdp_hits(), 1);
}

#[test]
fn raw_tp_counts_syscalls() {
    require_kernel!();
    let _g = lock();
    let mut open = multi::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    let link = lskel::attach_raw_tp(skel.progs().rawtp_count().unwrap(), "sys_enter").unwrap();
    let before = skel.bss().rawtp_hits();
    getpid_syscalls(30);
    let b = skel.bss().read();
    assert!(
        b.rawtp_hits >= before + 30,
        "{} -> {}",
        before,
        b.rawtp_hits
    );
    drop(link);
    std::thread::sleep(Duration::from_millis(20));
    let after = skel.bss().rawtp_hits();
    getpid_syscalls(30);
    assert_eq!(skel.bss().rawtp_hits(), after, "detached");
    // The last syscall seen was one of ours: the close of the link fd or a later one.
    assert!(skel.bss().rawtp_id() >= 0);
}

#[test]
fn raw_tp_last_id_is_getpid() {
    require_kernel!();
    let _g = lock();
    let mut open = multi::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    let _link = lskel::attach_raw_tp(skel.progs().rawtp_count().unwrap(), "sys_enter").unwrap();
    // Read rawtp_id (offset 88) right after a getpid, without another syscall in between: the
    // mmaped value is read with a plain load.
    let mut seen_getpid = false;
    for _ in 0..100 {
        getpid_syscalls(1);
        if skel.bss().rawtp_id() == libc::SYS_getpid {
            seen_getpid = true;
            break;
        }
    }
    assert!(seen_getpid, "rawtp_id never showed getpid (39)");
}

/// `PERF_TYPE_TRACEPOINT` (`enum perf_type_id`).
const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_ATTR_SIZE_VER0`: the first 64 bytes of `struct perf_event_attr` are enough here.
const PERF_ATTR_SIZE_VER0: u32 = 64;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `PERF_EVENT_IOC_ENABLE` = `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `PERF_EVENT_IOC_DISABLE` = `_IO('$', 1)`.
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
/// `PERF_EVENT_IOC_SET_BPF` = `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// The first 64 bytes of `struct perf_event_attr` (`PERF_ATTR_SIZE_VER0`).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// Bit 0: `disabled`.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// `perf_event_open(PERF_TYPE_TRACEPOINT, config = id, pid = 0 (this thread), cpu = -1)`, disabled.
fn perf_tracepoint(id: u64) -> OwnedFd {
    let attr = PerfEventAttr {
        type_: PERF_TYPE_TRACEPOINT,
        size: PERF_ATTR_SIZE_VER0,
        config: id,
        sample_period: 1,
        flags: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    assert_eq!(
        std::mem::size_of::<PerfEventAttr>(),
        PERF_ATTR_SIZE_VER0 as usize
    );
    // SAFETY: `attr` is a valid perf_event_attr prefix of `size` bytes that outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            0,
            -1,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    assert!(
        fd >= 0,
        "perf_event_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: perf_event_open returned a new descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// `ioctl(fd, req, arg)`, panicking on failure.
fn perf_ioctl(fd: &OwnedFd, req: libc::c_ulong, arg: libc::c_int, what: &str) {
    // SAFETY: perf event ioctls that take an int argument (or none) on a perf event fd we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    assert_eq!(r, 0, "{what}: {}", std::io::Error::last_os_error());
}

fn getpid_tracepoint_id() -> Option<u64> {
    let path = "/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id";
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s.trim().parse().unwrap()),
        Err(e) => {
            if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") {
                panic!("{path}: {e} (is tracefs mounted at /sys/kernel/tracing?)");
            }
            eprintln!("skipping: {path}: {e}");
            None
        }
    }
}

#[test]
fn tracepoint_counts_getpid_through_perf_event() {
    require_kernel!();
    let Some(id) = getpid_tracepoint_id() else {
        return;
    };
    let _g = lock();
    let mut open = multi::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    let pfd = perf_tracepoint(id);
    let prog = skel.progs().tp_getpid().unwrap().as_raw_fd();
    perf_ioctl(&pfd, PERF_EVENT_IOC_SET_BPF, prog, "PERF_EVENT_IOC_SET_BPF");
    perf_ioctl(&pfd, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
    getpid_syscalls(7);
    let b = skel.bss().read();
    // The program runs for every task hitting the tracepoint (the perf event's pid only scopes its
    // samples); `target_pid` keeps other processes out, and no other test here calls getpid.
    assert_eq!(b.tp_hits, 7, "exactly our 7 getpid calls");
    assert_eq!(i64::from(b.tp_nr), libc::SYS_getpid);
    // Closing the perf event detaches the program. (PERF_EVENT_IOC_DISABLE would not: the kernel
    // runs a tracepoint's BPF programs whether or not the event is enabled.)
    perf_ioctl(&pfd, PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE");
    drop(pfd);
    getpid_syscalls(3);
    assert_eq!(skel.bss().tp_hits(), 7, "detached");
    assert_eq!(skel.bss().rawtp_hits(), 0, "raw_tp not attached");
}

#[test]
fn tracepoint_via_bpf_link() {
    require_kernel!();
    let Some(id) = getpid_tracepoint_id() else {
        return;
    };
    let _g = lock();
    let skel = multi::open().load().unwrap();
    let pfd = perf_tracepoint(id);
    // BPF_LINK_CREATE with attach type BPF_PERF_EVENT (41), target = the perf event fd.
    let link = lskel::attach_link(
        skel.progs().tp_getpid().unwrap(),
        lskel::sys::bpf::LinkTarget::Fd(std::os::fd::AsFd::as_fd(&pfd)),
        41,
        0,
    )
    .unwrap();
    perf_ioctl(&pfd, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
    getpid_syscalls(5);
    assert_eq!(skel.bss().tp_hits(), 5);
    drop(link);
    getpid_syscalls(5);
    assert_eq!(skel.bss().tp_hits(), 5, "link dropped");
}

/// The loader binds `.rodata` to every program in the program loads themselves
/// (`fd_array_cnt`), as libbpf does with BPF_PROG_BIND_MAP after the load: each program lists
/// the map in `map_ids`, whether its code reads `target_pid` or not.
#[test]
fn rodata_is_bound_to_every_program() {
    require_kernel!();
    let skel = multi::open().load().unwrap();
    let rodata = lskel::sys::bpf::prog_or_map_id(skel.maps().rodata().fd()).unwrap();
    let p = skel.progs();
    let progs = [
        ("xdp_count", p.xdp_count()),
        ("tc_count", p.tc_count()),
        ("sock_count", p.sock_count()),
        ("cgskb_count", p.cgskb_count()),
        ("tp_getpid", p.tp_getpid()),
        ("rawtp_count", p.rawtp_count()),
    ];
    for (name, prog) in progs {
        let info = lskel::sys::bpf::prog_info(prog.unwrap()).unwrap();
        assert!(
            info.map_ids.contains(&rodata),
            "`{name}` uses maps {:?}, not .rodata ({rodata})",
            info.map_ids
        );
    }
}
