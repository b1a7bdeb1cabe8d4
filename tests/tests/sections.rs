//! Breadth of libbpf's section table on the real kernel: `sec_net`, `sec_trace`, `sec_new`,
//! `sec_refused` and `sec_refused_new` (tests/bpf/README.md) loaded through the macro.
//!
//! - every program that loads has the prog type of libbpf's table (`BPF_OBJ_GET_INFO_BY_FD`);
//! - the expected attach type, which `bpf_prog_info` does not report, is checked where the kernel
//!   enforces it: xdp/devmap and xdp/cpumap programs go into a DEVMAP / CPUMAP entry (a plain
//!   `xdp` program is refused there; a devmap also refuses an `xdp/cpumap` program), every cgroup program is linked to a cgroup with libbpf's
//!   attach type (a wrong one is refused), sk_skb/sk_msg programs are linked to a SOCKMAP;
//! - the packet programs that `BPF_PROG_TEST_RUN` supports run on a frame and count it;
//! - socket filters and sk_reuseport programs are attached to sockets and see real packets;
//! - the `?` programs of `sec_refused` and `sec_refused_new` stay unloaded by default, and each of them, switched on
//!   alone, is refused with the errno this kernel gives (kept in `REFUSED`).
//!
//! Attaching by hand (veth/netns, cgroups, uprobes) is in sections_attach.rs.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use lskel::sys::bpf::{
    map_create, prog_info, prog_test_run, LinkTarget, MapCreateAttr, TestRunAttr,
};
use lskel::{Errno, Map};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/sec_net.bpf.o");
lskel::bpf_skeleton!("bpf/sec_trace.bpf.o");
lskel::bpf_skeleton!("bpf/sec_new.bpf.o");
lskel::bpf_skeleton!("bpf/sec_refused.bpf.o");
lskel::bpf_skeleton!("bpf/sec_refused_new.bpf.o");

/// The cgroup test moves nothing but a child process; the socket tests bind loopback ports. One
/// at a time keeps the counters exact.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// enum bpf_prog_type
const SOCKET_FILTER: u32 = 1;
const KPROBE: u32 = 2;
const SCHED_CLS: u32 = 3;
const SCHED_ACT: u32 = 4;
const TRACEPOINT: u32 = 5;
const XDP: u32 = 6;
const PERF_EVENT: u32 = 7;
const CGROUP_SKB: u32 = 8;
const CGROUP_SOCK: u32 = 9;
const LWT_IN: u32 = 10;
const LWT_OUT: u32 = 11;
const LWT_XMIT: u32 = 12;
const SOCK_OPS: u32 = 13;
const SK_SKB: u32 = 14;
const CGROUP_DEVICE: u32 = 15;
const SK_MSG: u32 = 16;
const RAW_TRACEPOINT: u32 = 17;
const CGROUP_SOCK_ADDR: u32 = 18;
const LWT_SEG6LOCAL: u32 = 19;
const SK_REUSEPORT: u32 = 21;
const FLOW_DISSECTOR: u32 = 22;
const CGROUP_SYSCTL: u32 = 23;
const RAW_TRACEPOINT_WRITABLE: u32 = 24;
const CGROUP_SOCKOPT: u32 = 25;
const SK_LOOKUP: u32 = 30;
const SYSCALL: u32 = 31;
const NETFILTER: u32 = 32;

/// Checks the prog type of each `(name, fd, type)`; every program must be loaded.
fn check_types(obj: &str, progs: &[(&str, Option<BorrowedFd<'_>>, u32)]) {
    let mut bad = Vec::new();
    for (name, fd, want) in progs {
        let Some(fd) = fd else {
            bad.push(format!("{obj}: `{name}` was not loaded"));
            continue;
        };
        let info = prog_info(*fd).unwrap_or_else(|e| panic!("{obj}: prog_info {name}: {e}"));
        if info.prog_type != *want {
            bad.push(format!(
                "{obj}: `{name}` has prog type {} instead of {want}",
                info.prog_type
            ));
        }
        if info.name != name.chars().take(15).collect::<String>() {
            bad.push(format!("{obj}: `{name}` has kernel name {:?}", info.name));
        }
        if info.attach_btf_id != 0 {
            bad.push(format!(
                "{obj}: `{name}` has attach_btf_id {}",
                info.attach_btf_id
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `(name, fd, prog type)` of every program of a loaded skeleton; the macro keeps the list short.
macro_rules! progs {
    ($skel:expr; $($name:ident => $ty:expr),* $(,)?) => {{
        let p = $skel.progs();
        vec![$((stringify!($name), p.$name(), $ty)),*]
    }};
}

#[test]
fn sec_net_programs_have_libbpf_types() {
    require_kernel!();
    let skel = sec_net::open().load().unwrap();
    let list = progs!(skel;
        socket_prog => SOCKET_FILTER, reuseport => SK_REUSEPORT, reuseport_migrate => SK_REUSEPORT,
        tc_prog => SCHED_CLS, classifier_prog => SCHED_CLS, action_prog => SCHED_ACT,
        xdp_prog => XDP, xdp_frags => XDP, xdp_devmap => XDP, xdp_frags_devmap => XDP,
        xdp_cpumap => XDP, xdp_frags_cpumap => XDP,
        lwt_in_prog => LWT_IN, lwt_out_prog => LWT_OUT, lwt_xmit_prog => LWT_XMIT,
        lwt_seg6 => LWT_SEG6LOCAL, sockops_prog => SOCK_OPS,
        skb_parser => SK_SKB, skb_stream_verdict => SK_SKB,
        skb_plain => SK_SKB, msg_prog => SK_MSG, flow_prog => FLOW_DISSECTOR,
        cgskb_ingress => CGROUP_SKB, cgskb_egress => CGROUP_SKB, cg_skb_legacy => CGROUP_SKB,
        sock_create => CGROUP_SOCK, sock_release => CGROUP_SOCK, sock_legacy => CGROUP_SOCK,
        post_bind4 => CGROUP_SOCK, post_bind6 => CGROUP_SOCK,
        bind4 => CGROUP_SOCK_ADDR, bind6 => CGROUP_SOCK_ADDR,
        connect4 => CGROUP_SOCK_ADDR, connect6 => CGROUP_SOCK_ADDR,
        sendmsg4 => CGROUP_SOCK_ADDR, sendmsg6 => CGROUP_SOCK_ADDR,
        recvmsg4 => CGROUP_SOCK_ADDR, recvmsg6 => CGROUP_SOCK_ADDR,
        getpeername4 => CGROUP_SOCK_ADDR, getpeername6 => CGROUP_SOCK_ADDR,
        getsockname4 => CGROUP_SOCK_ADDR, getsockname6 => CGROUP_SOCK_ADDR,
        sysctl_prog => CGROUP_SYSCTL, getsockopt_prog => CGROUP_SOCKOPT,
        setsockopt_prog => CGROUP_SOCKOPT, dev_prog => CGROUP_DEVICE, sk_lookup_prog => SK_LOOKUP,
    );
    assert_eq!(list.len(), 47, "one entry per program of sec_net");
    check_types("sec_net", &list);
}

#[test]
fn sec_trace_programs_have_libbpf_types() {
    require_kernel!();
    let skel = sec_trace::open().load().unwrap();
    let list = progs!(skel;
        up => KPROBE, uret => KPROBE, up_s => KPROBE, uret_s => KPROBE, usdt_prog => KPROBE,
        kp => KPROBE, kretp => KPROBE, ksys => KPROBE, kretsys => KPROBE,
        kp_multi => KPROBE, kretp_multi => KPROBE,
        tp_prog => TRACEPOINT, rawtp_named => RAW_TRACEPOINT, rawtp_w => RAW_TRACEPOINT_WRITABLE,
        perf_prog => PERF_EVENT,
    );
    assert_eq!(list.len(), 15);
    check_types("sec_trace", &list);
}

#[test]
fn sec_new_programs_have_libbpf_types() {
    require_kernel!();
    let skel = sec_new::open().load().unwrap();
    let list = progs!(skel;
        tcx_in => SCHED_CLS, tcx_out => SCHED_CLS, tc_in_alias => SCHED_CLS, tc_out_alias => SCHED_CLS,
        netkit_primary => SCHED_CLS, netkit_peer => SCHED_CLS, nf_prog => NETFILTER,
        connect_unix => CGROUP_SOCK_ADDR, sendmsg_unix => CGROUP_SOCK_ADDR,
        recvmsg_unix => CGROUP_SOCK_ADDR, getpeername_unix => CGROUP_SOCK_ADDR,
        getsockname_unix => CGROUP_SOCK_ADDR,
        up_multi => KPROBE, uret_multi => KPROBE, up_multi_s => KPROBE, uret_multi_s => KPROBE,
        up_session => KPROBE, up_session_s => KPROBE, kp_session => KPROBE, usdt_s => KPROBE,
        skb_verdict => SK_SKB,
    );
    assert_eq!(list.len(), 21);
    check_types("sec_new", &list);
}

/// The `?` programs of sec_refused (`false`) and sec_refused_new (`true`), with the errno this
/// kernel refuses each with and why.
const REFUSED: &[(bool, &str, Errno, &str)] = &[
    (
        false,
        "lsm_prog",
        Errno::PERM,
        "LSM loads are refused (lockdown)",
    ),
    (
        false,
        "lsm_s",
        Errno::PERM,
        "LSM loads are refused (lockdown)",
    ),
    (
        false,
        "lsm_cg",
        Errno::PERM,
        "LSM loads are refused (lockdown)",
    ),
    (
        false,
        "fentry_s",
        Errno::PERM,
        "fentry loads are refused (lockdown)",
    ),
    (
        false,
        "fexit_s",
        Errno::PERM,
        "fexit loads are refused (lockdown)",
    ),
    (
        false,
        "fmod_ret_s",
        Errno::PERM,
        "fmod_ret loads are refused (lockdown)",
    ),
    (false, "lirc_prog", Errno::INVAL, "no CONFIG_BPF_LIRC_MODE2"),
    (
        false,
        "so_op",
        Errno::KERNEL_NOTSUPP,
        "struct_ops without a struct_ops map",
    ),
    (
        true,
        "tp_s",
        Errno::INVAL,
        "tracepoint programs cannot sleep",
    ),
    (
        true,
        "raw_tp_s",
        Errno::INVAL,
        "raw_tp programs cannot sleep",
    ),
    (
        true,
        "tp_btf_s",
        Errno::INVAL,
        "tp_btf programs cannot sleep",
    ),
    (
        true,
        "so_op_s",
        Errno::KERNEL_NOTSUPP,
        "struct_ops without a struct_ops map",
    ),
];

/// Loads sec_refused or sec_refused_new with program `name` switched on.
fn load_refused_with(new: bool, name: &str) -> lskel::Result<()> {
    fn on(prog: &mut lskel::OpenProg, name: &str) {
        assert!(!prog.autoload(), "`{name}` is in a `?` section");
        prog.set_autoload(true);
    }
    if new {
        let mut open = sec_refused_new::open();
        let p = &mut open.progs;
        match name {
            "tp_s" => on(&mut p.tp_s, name),
            "raw_tp_s" => on(&mut p.raw_tp_s, name),
            "tp_btf_s" => on(&mut p.tp_btf_s, name),
            "so_op_s" => on(&mut p.so_op_s, name),
            other => panic!("no program `{other}`"),
        }
        return open.load().map(drop);
    }
    let mut open = sec_refused::open();
    let p = &mut open.progs;
    match name {
        "lsm_prog" => on(&mut p.lsm_prog, name),
        "lsm_s" => on(&mut p.lsm_s, name),
        "lsm_cg" => on(&mut p.lsm_cg, name),
        "fentry_s" => on(&mut p.fentry_s, name),
        "fexit_s" => on(&mut p.fexit_s, name),
        "fmod_ret_s" => on(&mut p.fmod_ret_s, name),
        "lirc_prog" => on(&mut p.lirc_prog, name),
        "so_op" => on(&mut p.so_op, name),
        other => panic!("no program `{other}`"),
    }
    open.load().map(drop)
}

#[test]
fn refused_sections_stay_off_and_fail_when_switched_on() {
    require_kernel!();
    let skel = sec_refused::open().load().unwrap();
    let p = skel.progs();
    let alive = p.alive().expect("the syscall program loads");
    assert_eq!(prog_info(alive).unwrap().prog_type, SYSCALL);
    let off = [
        p.lsm_prog(),
        p.lsm_s(),
        p.lsm_cg(),
        p.fentry_s(),
        p.fexit_s(),
        p.fmod_ret_s(),
        p.lirc_prog(),
        p.so_op(),
    ];
    assert!(
        off.iter().all(Option::is_none),
        "`?` programs stay unloaded"
    );
    assert_eq!(run_syscall_prog(alive, &mut []).unwrap(), 0);
    assert_eq!(skel.bss().n_alive(), 1);
    drop(skel);

    let skel = sec_refused_new::open().load().unwrap();
    let p = skel.progs();
    let alive = p.alive().expect("the syscall program loads");
    let off = [p.tp_s(), p.raw_tp_s(), p.tp_btf_s(), p.so_op_s()];
    assert!(
        off.iter().all(Option::is_none),
        "`?` programs stay unloaded"
    );
    assert_eq!(run_syscall_prog(alive, &mut []).unwrap(), 0);
    assert_eq!(skel.bss().n_alive(), 1);
    drop(skel);

    let mut bad = Vec::new();
    for (new, name, errno, why) in REFUSED {
        match load_refused_with(*new, name) {
            Ok(()) => bad.push(format!("`{name}` loaded; expected {errno} ({why})")),
            Err(e) if e.errno() == Some(*errno) => {
                let msg = e.to_string();
                if !msg.contains(name) {
                    bad.push(format!("`{name}`: the error does not name it: {msg}"));
                }
            }
            Err(e) => bad.push(format!("`{name}`: expected {errno} ({why}), got {e}")),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn run_pkt(prog: BorrowedFd<'_>, data: &[u8]) -> Result<u32, Errno> {
    prog_test_run(
        prog,
        TestRunAttr {
            data_in: data,
            ..Default::default()
        },
    )
    .map(|o| o.retval)
}

#[test]
fn packet_programs_run_on_a_frame() {
    require_kernel!();
    let skel = sec_net::open().load().unwrap();
    let p = skel.progs();
    let f = lskel_tests::udp_frame(64);
    // (name, fd, expected return value)
    let runs = [
        ("socket_prog", p.socket_prog(), 50),
        ("tc_prog", p.tc_prog(), 0),
        ("classifier_prog", p.classifier_prog(), 0),
        ("action_prog", p.action_prog(), 0),
        ("xdp_prog", p.xdp_prog(), 2),
        ("xdp_frags", p.xdp_frags(), 2),
        ("lwt_in_prog", p.lwt_in_prog(), 0),
        ("lwt_out_prog", p.lwt_out_prog(), 0),
        ("lwt_xmit_prog", p.lwt_xmit_prog(), 0),
        ("flow_prog", p.flow_prog(), 0),
        ("cgskb_ingress", p.cgskb_ingress(), 1),
        ("cgskb_egress", p.cgskb_egress(), 1),
        ("cg_skb_legacy", p.cg_skb_legacy(), 1),
    ];
    let mut bad = Vec::new();
    for (name, fd, want) in runs {
        match run_pkt(fd.unwrap(), &f) {
            Ok(r) if r == want => {}
            Ok(r) => bad.push(format!("`{name}` returned {r}, expected {want}")),
            Err(e) => bad.push(format!("`{name}`: test_run: {e}")),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let b = skel.bss().read();
    let counts = [
        b.n_socket_prog,
        b.n_tc_prog,
        b.n_classifier_prog,
        b.n_action_prog,
        b.n_xdp_prog,
        b.n_xdp_frags,
        b.n_lwt_in_prog,
        b.n_lwt_out_prog,
        b.n_lwt_xmit_prog,
        b.n_flow_prog,
        b.n_cgskb_ingress,
        b.n_cgskb_egress,
        b.n_cg_skb_legacy,
    ];
    assert_eq!(counts, [1; 13], "one run each");
    // lwt_seg6local has no BPF_PROG_TEST_RUN (ENOTSUPP, 524).
    assert_eq!(
        run_pkt(p.lwt_seg6().unwrap(), &f),
        Err(Errno::KERNEL_NOTSUPP)
    );
    assert_eq!(skel.bss().n_lwt_seg6(), 0);

    // A frame larger than a page runs through either XDP program (test_run does not check
    // BPF_F_XDP_HAS_FRAGS); the flag is checked on a veth with a large MTU (sections_attach.rs).
    let big = lskel_tests::udp_frame(6000);
    assert_eq!(run_pkt(p.xdp_frags().unwrap(), &big), Ok(2), "xdp.frags");
    assert_eq!(skel.bss().n_xdp_frags(), 2);
}

fn new_map(map_type: u32, key: u32, value: u32, max: u32) -> OwnedFd {
    map_create(&MapCreateAttr {
        map_type,
        key_size: key,
        value_size: value,
        max_entries: max,
        name: "lskel_sec",
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("map_create type {map_type}: {e}"))
}

/// An 8-byte devmap/cpumap value: `{u32 ifindex or qsize; s32 prog fd}`.
fn map_val(first: u32, prog: BorrowedFd<'_>) -> [u8; 8] {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&first.to_ne_bytes());
    v[4..].copy_from_slice(&prog.as_raw_fd().to_ne_bytes());
    v
}

#[test]
fn devmap_and_cpumap_programs_have_their_attach_types() {
    require_kernel!();
    const DEVMAP: u32 = 14;
    const CPUMAP: u32 = 16;
    let skel = sec_net::open().load().unwrap();
    let p = skel.progs();
    // Separate maps: a map's programs must agree on frags.
    // A wrong program: the devmap says EINVAL, the cpumap turns every entry failure into ENOMEM.
    for (kind, qsize_or_ifindex, map_type, plain, frags, wrong) in [
        (
            "devmap",
            1u32,
            DEVMAP,
            p.xdp_devmap(),
            p.xdp_frags_devmap(),
            Errno::INVAL,
        ),
        (
            "cpumap",
            64u32,
            CPUMAP,
            p.xdp_cpumap(),
            p.xdp_frags_cpumap(),
            Errno::NOMEM,
        ),
    ] {
        for (what, prog) in [("plain", plain), ("frags", frags)] {
            let map = new_map(map_type, 4, 8, 1);
            let m = Map::new(map.as_fd()).unwrap();
            m.update(
                &0u32.to_ne_bytes(),
                &map_val(qsize_or_ifindex, prog.unwrap()),
                0,
            )
            .unwrap_or_else(|e| panic!("{kind} {what}: program refused in a {kind}: {e}"));
            // A program of section `xdp` (BPF_XDP) is not a devmap/cpumap program.
            let err = m
                .update(
                    &0u32.to_ne_bytes(),
                    &map_val(qsize_or_ifindex, p.xdp_prog().unwrap()),
                    0,
                )
                .expect_err("an `xdp` program in a devmap/cpumap");
            assert_eq!(err.errno(), Some(wrong), "{kind}: {err}");
        }
    }
    let devmap = new_map(DEVMAP, 4, 8, 1);
    let err = Map::new(devmap.as_fd())
        .unwrap()
        .update(&0u32.to_ne_bytes(), &map_val(1, p.xdp_cpumap().unwrap()), 0)
        .expect_err("an `xdp/cpumap` program in a devmap");
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
}

#[test]
fn sk_skb_and_sk_msg_programs_link_to_a_sockmap() {
    require_kernel!();
    const SOCKMAP: u32 = 15;
    let skel = sec_net::open().load().unwrap();
    let new = sec_new::open().load().unwrap();
    let p = skel.progs();
    let map = new_map(SOCKMAP, 4, 4, 1);
    let mut links = Vec::new();
    for (name, fd, attach) in [
        ("skb_parser", p.skb_parser(), 4),
        ("skb_stream_verdict", p.skb_stream_verdict(), 5),
        ("msg_prog", p.msg_prog(), 7),
    ] {
        let link = lskel::attach_link(fd.unwrap(), LinkTarget::Fd(map.as_fd()), attach, 0)
            .unwrap_or_else(|e| panic!("`{name}` to a sockmap with attach type {attach}: {e}"));
        links.push(link);
    }
    // BPF_SK_SKB_VERDICT and BPF_SK_SKB_STREAM_VERDICT exclude each other: a second map.
    let map2 = new_map(SOCKMAP, 4, 4, 1);
    links.push(
        lskel::attach_link(
            new.progs().skb_verdict().unwrap(),
            LinkTarget::Fd(map2.as_fd()),
            38,
            0,
        )
        .expect("`skb_verdict` with BPF_SK_SKB_VERDICT"),
    );
    assert_eq!(links.len(), 4);
}

fn udp_socket() -> OwnedFd {
    // SAFETY: plain socket(2); the fd is checked and owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a new descriptor nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn setsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32, val: i32) -> std::io::Result<()> {
    // SAFETY: `val` lives for the call and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            &val as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn loopback(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    }
}

fn bind_lo(fd: BorrowedFd<'_>, port: u16) -> u16 {
    let a = loopback(port);
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `a` is a valid sockaddr_in of `len` bytes.
    let r = unsafe { libc::bind(fd.as_raw_fd(), &a as *const _ as *const libc::sockaddr, len) };
    assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
    let mut out = loopback(0);
    let mut l = len;
    // SAFETY: `out` has room for `l` bytes.
    let r = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            &mut out as *mut _ as *mut libc::sockaddr,
            &mut l,
        )
    };
    assert_eq!(r, 0);
    u16::from_be(out.sin_port)
}

fn send_to(fd: BorrowedFd<'_>, port: u16, n: usize) {
    let a = loopback(port);
    for _ in 0..n {
        // SAFETY: the buffer and the address are valid for the call.
        let r = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                b"lskel".as_ptr() as *const libc::c_void,
                5,
                0,
                &a as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 5, "sendto: {}", std::io::Error::last_os_error());
    }
}

#[test]
fn socket_filter_and_reuseport_programs_see_packets() {
    require_kernel!();
    let _g = lock();
    const SO_ATTACH_BPF: i32 = 50;
    const SO_ATTACH_REUSEPORT_EBPF: i32 = 52;
    let skel = sec_net::open().load().unwrap();
    let p = skel.progs();
    let tx = udp_socket();

    // socket: a filter on the receiving socket sees each datagram (and keeps it: returns len).
    let rx = udp_socket();
    let port = bind_lo(rx.as_fd(), 0);
    setsockopt_int(
        rx.as_fd(),
        libc::SOL_SOCKET,
        SO_ATTACH_BPF,
        p.socket_prog().unwrap().as_raw_fd(),
    )
    .expect("SO_ATTACH_BPF");
    send_to(tx.as_fd(), port, 3);
    assert_eq!(skel.bss().n_socket_prog(), 3, "socket filter runs");

    // sk_reuseport (SELECT) and sk_reuseport/migrate (SELECT_OR_MIGRATE): each picks the socket
    // of a two-socket reuseport group on every datagram.
    for (name, prog) in [
        ("reuseport", p.reuseport()),
        ("reuseport_migrate", p.reuseport_migrate()),
    ] {
        let count = |b: sec_net::BssView<'_>| {
            if name == "reuseport" {
                b.n_reuseport()
            } else {
                b.n_reuseport_migrate()
            }
        };
        let a = udp_socket();
        let b = udp_socket();
        setsockopt_int(a.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1).unwrap();
        setsockopt_int(b.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1).unwrap();
        let port = bind_lo(a.as_fd(), 0);
        bind_lo(b.as_fd(), port);
        setsockopt_int(
            a.as_fd(),
            libc::SOL_SOCKET,
            SO_ATTACH_REUSEPORT_EBPF,
            prog.unwrap().as_raw_fd(),
        )
        .unwrap_or_else(|e| panic!("SO_ATTACH_REUSEPORT_EBPF `{name}`: {e}"));
        let before = count(skel.bss());
        send_to(tx.as_fd(), port, 4);
        assert_eq!(count(skel.bss()) - before, 4, "`{name}` runs per datagram");
    }
}
