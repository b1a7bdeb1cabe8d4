//! Programs of `sec_net`, `sec_trace` and `sec_new` attached by hand through their fds, each
//! observed through its `.bss` counter (tests/bpf/README.md):
//!
//! - a veth pair between two network namespaces made for the test: `xdp` (BPF_XDP link, and
//!   `xdp.frags` where the peer MTU is too large for a plain XDP program), `tc`, `classifier`,
//!   `tcx/*` and `tc/*` (BPF_TCX_INGRESS / BPF_TCX_EGRESS links), `sk_lookup` and `flow_dissector`
//!   (netns links), `netfilter` (NF_INET_LOCAL_IN link); traffic is UDP from one namespace to the
//!   other;
//! - a cgroup v2 made for the test, with every `cgroup_skb/*`, `cgroup/*` and `sockops` program
//!   linked with libbpf's attach type, and a forked child inside it doing IPv4/IPv6 UDP, TCP, Unix
//!   socket calls, a sysctl read and a device open;
//! - uprobes on a function of this test binary: `uprobe`, `uretprobe`, `uprobe.s`,
//!   `uretprobe.s`, `usdt`, `usdt.s` (perf_event_open with the uprobe PMU + BPF_PERF_EVENT links),
//!   `uprobe.multi`, `uretprobe.multi` (+ `.s`) and `uprobe.session` (+ `.s`) (uprobe_multi links);
//! - `tracepoint` (perf event), `raw_tracepoint` and `raw_tp.w` (raw tracepoint open) and
//!   `perf_event` (a task-clock software event).
//!
//! Needs root, `ip` (iproute2), cgroup v2 and the uprobe PMU; without them the tests fail under
//! `LSKEL_REQUIRE_KERNEL=1` and skip otherwise.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lskel::sys::bpf::LinkTarget;
use lskel::Errno;
use lskel_tests::netns::{in_netns, ip, VethPair};
use lskel_tests::{require_kernel, wait_until};

lskel::bpf_skeleton!("bpf/sec_net.bpf.o");
lskel::bpf_skeleton!("bpf/sec_trace.bpf.o");
lskel::bpf_skeleton!("bpf/sec_new.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn require_kernel_var() -> bool {
    std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1")
}

/// Skips (or, under `LSKEL_REQUIRE_KERNEL=1`, fails) when `what` is missing.
fn need(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(
            !require_kernel_var(),
            "LSKEL_REQUIRE_KERNEL=1 but {what} is not available"
        );
        eprintln!("skipping: {what} is not available");
    }
    ok
}

// enum bpf_attach_type
const BPF_CGROUP_INET_INGRESS: u32 = 0;
const BPF_CGROUP_INET_EGRESS: u32 = 1;
const BPF_CGROUP_INET_SOCK_CREATE: u32 = 2;
const BPF_CGROUP_SOCK_OPS: u32 = 3;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_CGROUP_INET4_BIND: u32 = 8;
const BPF_CGROUP_INET6_BIND: u32 = 9;
const BPF_CGROUP_INET4_CONNECT: u32 = 10;
const BPF_CGROUP_INET6_CONNECT: u32 = 11;
const BPF_CGROUP_INET4_POST_BIND: u32 = 12;
const BPF_CGROUP_INET6_POST_BIND: u32 = 13;
const BPF_CGROUP_UDP4_SENDMSG: u32 = 14;
const BPF_CGROUP_UDP6_SENDMSG: u32 = 15;
const BPF_FLOW_DISSECTOR: u32 = 17;
const BPF_CGROUP_SYSCTL: u32 = 18;
const BPF_CGROUP_UDP4_RECVMSG: u32 = 19;
const BPF_CGROUP_UDP6_RECVMSG: u32 = 20;
const BPF_CGROUP_GETSOCKOPT: u32 = 21;
const BPF_CGROUP_SETSOCKOPT: u32 = 22;
const BPF_CGROUP_INET4_GETPEERNAME: u32 = 29;
const BPF_CGROUP_INET6_GETPEERNAME: u32 = 30;
const BPF_CGROUP_INET4_GETSOCKNAME: u32 = 31;
const BPF_CGROUP_INET6_GETSOCKNAME: u32 = 32;
const BPF_CGROUP_INET_SOCK_RELEASE: u32 = 34;
const BPF_SK_LOOKUP: u32 = 36;
const BPF_XDP: u32 = 37;
const BPF_PERF_EVENT: u32 = 41;
const BPF_NETFILTER: u32 = 45;
const BPF_TCX_INGRESS: u32 = 46;
const BPF_TCX_EGRESS: u32 = 47;
const BPF_TRACE_UPROBE_MULTI: u32 = 48;
const BPF_CGROUP_UNIX_CONNECT: u32 = 49;
const BPF_CGROUP_UNIX_SENDMSG: u32 = 50;
const BPF_CGROUP_UNIX_RECVMSG: u32 = 51;
const BPF_CGROUP_UNIX_GETPEERNAME: u32 = 52;
const BPF_CGROUP_UNIX_GETSOCKNAME: u32 = 53;
const BPF_TRACE_UPROBE_SESSION: u32 = 57;

fn link(prog: Option<BorrowedFd<'_>>, target: LinkTarget<'_>, attach: u32, what: &str) -> OwnedFd {
    let prog = prog.unwrap_or_else(|| panic!("`{what}` is not loaded"));
    lskel::sys::bpf::link_create(prog, target, attach, 0)
        .unwrap_or_else(|e| panic!("BPF_LINK_CREATE `{what}` (attach type {attach}): {e}"))
}

/// `BPF_LINK_CREATE` with the type-specific part of the attr (from offset 16) given as bytes:
/// for `netfilter` and `uprobe_multi`, which `lskel::sys::bpf::link_create` does not fill.
fn link_create_raw(
    prog: BorrowedFd<'_>,
    target_fd: u32,
    attach: u32,
    flags: u32,
    extra: &[u8],
) -> Result<OwnedFd, Errno> {
    let mut attr = [0u64; 8];
    {
        // SAFETY: viewing the u64 array as its 64 bytes.
        let b = unsafe { std::slice::from_raw_parts_mut(attr.as_mut_ptr() as *mut u8, 64) };
        b[0..4].copy_from_slice(&(prog.as_raw_fd() as u32).to_ne_bytes());
        b[4..8].copy_from_slice(&target_fd.to_ne_bytes());
        b[8..12].copy_from_slice(&attach.to_ne_bytes());
        b[12..16].copy_from_slice(&flags.to_ne_bytes());
        b[16..16 + extra.len()].copy_from_slice(extra);
    }
    // SAFETY: `attr` is a 64-byte link_create attr whose pointers (in `extra`) the caller keeps alive.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, 28, attr.as_ptr(), 64usize) };
    if fd < 0 {
        return Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    // SAFETY: a new fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

// ----------------------------------------------------------------------------------------------
// Interfaces (the veth pair and namespaces come from lskel_tests::netns)

fn ifindex(name: &str) -> u32 {
    let c = CString::new(name).unwrap();
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(i > 0, "no interface {name}");
    i
}

fn udp_send(dst: [u8; 4], port: u16, n: usize) {
    // SAFETY: plain socket calls on buffers that live for each call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let a = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(dst),
            },
            sin_zero: [0; 8],
        };
        for _ in 0..n {
            libc::sendto(
                fd,
                b"lskel".as_ptr() as *const libc::c_void,
                5,
                0,
                &a as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        libc::close(fd);
    }
}

#[test]
fn veth_xdp_tc_tcx_sk_lookup_netfilter() {
    require_kernel!();
    let _g = lock();
    let have_ip = Command::new("ip").arg("-V").output().is_ok();
    if !need(have_ip, "`ip` (iproute2)") {
        return;
    }
    let pid = std::process::id();
    // Namespaces `a` (veth `va`, 10.201.0.1) and `b` (veth `vb`, 10.201.0.2).
    let pair = match VethPair::new(
        [format!("lskel_sec_a_{pid}"), format!("lskel_sec_b_{pid}")],
        ["va", "vb"],
        ["10.201.0.1", "10.201.0.2"],
    ) {
        Ok(p) => p,
        Err(e) => {
            need(
                false,
                &format!("a veth pair in new network namespaces ({e})"),
            );
            return;
        }
    };
    let net = sec_net::open().load().unwrap();
    let new = sec_new::open().load().unwrap();
    let (pn, pw) = (net.progs(), new.progs());

    // xdp.frags: with the peer's MTU at 9000 only a frags program may attach to vb.
    ip(&["-n", &pair.a, "link", "set", "va", "mtu", "9000"]).unwrap();
    in_netns(&pair.b, || {
        let vb = ifindex("vb");
        let err = lskel::sys::bpf::link_create(
            pn.xdp_prog().unwrap(),
            LinkTarget::Ifindex(vb),
            BPF_XDP,
            0,
        )
        .expect_err("plain xdp with a peer MTU of 9000");
        assert_eq!(err, Errno::RANGE, "plain XDP refused: peer MTU too large");
        drop(link(
            pn.xdp_frags(),
            LinkTarget::Ifindex(vb),
            BPF_XDP,
            "xdp_frags",
        ));
    });
    ip(&["-n", &pair.a, "link", "set", "va", "mtu", "1500"]).unwrap();

    let netns_b = VethPair::netns_file(&pair.b).unwrap();
    let links: Vec<OwnedFd> = in_netns(&pair.b, || {
        let vb = LinkTarget::Ifindex(ifindex("vb"));
        let ns = LinkTarget::Fd(netns_b.as_fd());
        let mut l = vec![
            link(pn.xdp_prog(), vb, BPF_XDP, "xdp_prog"),
            // TCX runs links in order; the ones returning TCX_NEXT first, TCX_PASS last.
            link(pw.tcx_in(), vb, BPF_TCX_INGRESS, "tcx_in"),
            link(pw.tc_in_alias(), vb, BPF_TCX_INGRESS, "tc_in_alias"),
            link(pn.tc_prog(), vb, BPF_TCX_INGRESS, "tc_prog"),
            link(pw.tcx_out(), vb, BPF_TCX_EGRESS, "tcx_out"),
            link(pw.tc_out_alias(), vb, BPF_TCX_EGRESS, "tc_out_alias"),
            link(pn.classifier_prog(), vb, BPF_TCX_EGRESS, "classifier_prog"),
            link(pn.sk_lookup_prog(), ns, BPF_SK_LOOKUP, "sk_lookup_prog"),
            link(pn.flow_prog(), ns, BPF_FLOW_DISSECTOR, "flow_prog"),
        ];
        // struct { u32 pf; u32 hooknum; s32 priority; u32 flags; } netfilter
        let mut nf = Vec::new();
        nf.extend_from_slice(&2u32.to_ne_bytes()); // NFPROTO_IPV4
        nf.extend_from_slice(&1u32.to_ne_bytes()); // NF_INET_LOCAL_IN
        nf.extend_from_slice(&10i32.to_ne_bytes());
        nf.extend_from_slice(&0u32.to_ne_bytes());
        l.push(
            link_create_raw(pw.nf_prog().unwrap(), 0, BPF_NETFILTER, 0, &nf)
                .unwrap_or_else(|e| panic!("netfilter link: {e}")),
        );
        l
    });
    assert_eq!(links.len(), 10);

    let totals = || {
        let (b, w) = (net.bss().read(), new.bss().read());
        [
            ("xdp_prog", b.n_xdp_prog),
            ("tcx_in", w.n_tcx_in),
            ("tc_in_alias", w.n_tc_in_alias),
            ("tc_prog", b.n_tc_prog),
            ("tcx_out", w.n_tcx_out),
            ("tc_out_alias", w.n_tc_out_alias),
            ("classifier_prog", b.n_classifier_prog),
            ("sk_lookup_prog", b.n_sk_lookup_prog),
            ("nf_prog", w.n_nf_prog),
        ]
    };
    // Frames can reach vb while the links are made one by one (IPv6 neighbour discovery), so
    // a program attached earlier may have counted more: count from a settled baseline (two
    // equal readings 20 ms apart, bounded).
    let stable = || {
        let c = totals();
        std::thread::sleep(Duration::from_millis(20));
        (totals() == c).then_some(c)
    };
    let mut base = None;
    wait_until(
        "counters settle before the traffic",
        Duration::from_secs(10),
        || {
            base = stable();
            base.map(|_| ()).ok_or_else(|| format!("{:?}", totals()))
        },
    );
    let base = base.unwrap();
    let counts = || {
        let mut c = totals();
        for (now, before) in c.iter_mut().zip(&base) {
            now.1 -= before.1;
        }
        c
    };
    in_netns(&pair.a, || udp_send([10, 201, 0, 2], 7777, 5));
    // Frames may still be in flight (ARP, IPv6 neighbour discovery, the datagrams) and the
    // counters are read one by one: wait (bounded) for two equal readings, 20 ms apart, in which
    // every program has counted and every frame that vb received passed XDP, then the three
    // ingress programs, alike.
    wait_until(
        "every attached program sees the traffic, the ingress ones alike",
        Duration::from_secs(10),
        || {
            let c = counts();
            let settled =
                c.iter().all(|(_, n)| *n > 0) && c[1].1 == c[2].1 && c[2].1 == c[3].1 && {
                    std::thread::sleep(Duration::from_millis(20));
                    counts() == c
                };
            if settled {
                Ok(())
            } else {
                Err(format!("{c:?}"))
            }
        },
    );
    let c = counts();
    // sk_lookup and netfilter see the UDP datagrams (5, fewer if ARP dropped some).
    assert!(c[7].1 <= 5 && c[8].1 <= 5, "{c:?}");
    drop(links);
    drop(pair);
}

// ----------------------------------------------------------------------------------------------
// A cgroup v2 and a child process inside it

/// The cgroup v2 mount: `/sys/fs/cgroup` itself, or its `unified` hierarchy.
fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == "cgroup2")
        .map(|f| PathBuf::from(f[1]))
}

struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir(&self.0) {
            eprintln!("warning: rmdir {}: {e}", self.0.display());
        }
    }
}

/// What the child does inside the cgroup; only async-signal-safe calls. Returns 0 or the
/// number of the step that failed.
///
/// # Safety
///
/// Runs in a forked child of a multi-threaded process: it must allocate nothing.
unsafe fn child_workload(procs: i32, unix_names: &[libc::sockaddr_un; 2]) -> i32 {
    use libc::*;
    // Move into the cgroup ("0" = the writing process).
    if write(procs, b"0".as_ptr() as *const c_void, 1) != 1 {
        return 1;
    }
    let sin_len = std::mem::size_of::<sockaddr_in>() as socklen_t;
    let sin6_len = std::mem::size_of::<sockaddr_in6>() as socklen_t;
    let mut buf = [0u8; 16];

    // IPv4 UDP: bind, getsockname, connect, getpeername, send, sendto, recvfrom, sockopts.
    let lo4 = sockaddr_in {
        sin_family: AF_INET as u16,
        sin_port: 0,
        sin_addr: in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    let rx = socket(AF_INET, SOCK_DGRAM, 0);
    if rx < 0 || bind(rx, &lo4 as *const _ as *const sockaddr, sin_len) != 0 {
        return 2;
    }
    let mut at = lo4;
    let mut l = sin_len;
    if getsockname(rx, &mut at as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 3;
    }
    let tx = socket(AF_INET, SOCK_DGRAM, 0);
    if connect(tx, &at as *const _ as *const sockaddr, sin_len) != 0 {
        return 4;
    }
    let mut peer = lo4;
    l = sin_len;
    if getpeername(tx, &mut peer as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 5;
    }
    if send(tx, buf.as_ptr() as *const c_void, 4, 0) != 4 {
        return 6;
    }
    let tx2 = socket(AF_INET, SOCK_DGRAM, 0);
    if sendto(
        tx2,
        buf.as_ptr() as *const c_void,
        4,
        0,
        &at as *const _ as *const sockaddr,
        sin_len,
    ) != 4
    {
        return 7;
    }
    for _ in 0..2 {
        l = sin_len;
        if recvfrom(
            rx,
            buf.as_mut_ptr() as *mut c_void,
            buf.len(),
            0,
            &mut peer as *mut _ as *mut sockaddr,
            &mut l,
        ) != 4
        {
            return 8;
        }
    }
    let v: c_int = 65536;
    if setsockopt(
        tx,
        SOL_SOCKET,
        SO_RCVBUF,
        &v as *const _ as *const c_void,
        4,
    ) != 0
    {
        return 9;
    }
    let mut got: c_int = 0;
    let mut gl: socklen_t = 4;
    if getsockopt(
        tx,
        SOL_SOCKET,
        SO_RCVBUF,
        &mut got as *mut _ as *mut c_void,
        &mut gl,
    ) != 0
    {
        return 10;
    }
    close(tx2);
    close(tx);
    close(rx);

    // IPv6 UDP on ::1, the same calls.
    let mut lo6: sockaddr_in6 = std::mem::zeroed();
    lo6.sin6_family = AF_INET6 as u16;
    lo6.sin6_addr.s6_addr[15] = 1;
    let rx = socket(AF_INET6, SOCK_DGRAM, 0);
    if rx < 0 || bind(rx, &lo6 as *const _ as *const sockaddr, sin6_len) != 0 {
        return 12;
    }
    let mut at6 = lo6;
    l = sin6_len;
    if getsockname(rx, &mut at6 as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 13;
    }
    let tx = socket(AF_INET6, SOCK_DGRAM, 0);
    if connect(tx, &at6 as *const _ as *const sockaddr, sin6_len) != 0 {
        return 14;
    }
    let mut peer6 = lo6;
    l = sin6_len;
    if getpeername(tx, &mut peer6 as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 15;
    }
    let tx2 = socket(AF_INET6, SOCK_DGRAM, 0);
    if sendto(
        tx2,
        buf.as_ptr() as *const c_void,
        4,
        0,
        &at6 as *const _ as *const sockaddr,
        sin6_len,
    ) != 4
    {
        return 16;
    }
    l = sin6_len;
    if recvfrom(
        rx,
        buf.as_mut_ptr() as *mut c_void,
        buf.len(),
        0,
        &mut peer6 as *mut _ as *mut sockaddr,
        &mut l,
    ) != 4
    {
        return 17;
    }
    close(tx2);
    close(tx);
    close(rx);

    // TCP on loopback, for sockops: listen, connect, accept.
    let ls = socket(AF_INET, SOCK_STREAM, 0);
    if ls < 0 || bind(ls, &lo4 as *const _ as *const sockaddr, sin_len) != 0 || listen(ls, 4) != 0 {
        return 20;
    }
    l = sin_len;
    if getsockname(ls, &mut at as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 21;
    }
    let c = socket(AF_INET, SOCK_STREAM, 0);
    if connect(c, &at as *const _ as *const sockaddr, sin_len) != 0 {
        return 22;
    }
    let s = accept(ls, std::ptr::null_mut(), std::ptr::null_mut());
    if s < 0 {
        return 23;
    }
    close(s);
    close(c);
    close(ls);

    // Unix datagram sockets with abstract names: connect, getpeername, getsockname, sendto,
    // recvfrom.
    let un_len = std::mem::size_of::<sockaddr_un>() as socklen_t;
    let ua = socket(AF_UNIX, SOCK_DGRAM, 0);
    let ub = socket(AF_UNIX, SOCK_DGRAM, 0);
    if bind(ua, &unix_names[0] as *const _ as *const sockaddr, un_len) != 0
        || bind(ub, &unix_names[1] as *const _ as *const sockaddr, un_len) != 0
    {
        return 30;
    }
    if connect(ua, &unix_names[1] as *const _ as *const sockaddr, un_len) != 0 {
        return 31;
    }
    let mut un: sockaddr_un = std::mem::zeroed();
    l = un_len;
    if getpeername(ua, &mut un as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 32;
    }
    l = un_len;
    if getsockname(ua, &mut un as *mut _ as *mut sockaddr, &mut l) != 0 {
        return 33;
    }
    let uc = socket(AF_UNIX, SOCK_DGRAM, 0);
    if sendto(
        uc,
        buf.as_ptr() as *const c_void,
        4,
        0,
        &unix_names[1] as *const _ as *const sockaddr,
        un_len,
    ) != 4
    {
        return 34;
    }
    l = un_len;
    if recvfrom(
        ub,
        buf.as_mut_ptr() as *mut c_void,
        buf.len(),
        0,
        &mut un as *mut _ as *mut sockaddr,
        &mut l,
    ) != 4
    {
        return 35;
    }
    close(uc);
    close(ub);
    close(ua);

    // A sysctl read and a device open.
    let f = open(c"/proc/sys/kernel/ostype".as_ptr(), O_RDONLY);
    if f < 0 || read(f, buf.as_mut_ptr() as *mut c_void, buf.len()) <= 0 {
        return 40;
    }
    close(f);
    let d = open(c"/dev/null".as_ptr(), O_RDWR);
    if d < 0 {
        return 41;
    }
    close(d);
    0
}

fn abstract_unix(name: &str) -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain data; all zeros is valid.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as u16;
    // sun_path[0] = 0: an abstract name; the rest is the name, NUL padded.
    for (i, b) in name.bytes().enumerate() {
        a.sun_path[i + 1] = b as libc::c_char;
    }
    a
}

#[test]
fn cgroup_programs_see_a_child_in_their_cgroup() {
    require_kernel!();
    let _g = lock();
    let Some(root) = cgroup2_root() else {
        need(false, "a cgroup v2 mount");
        return;
    };
    let dir = root.join(format!("lskel_sections_{}", std::process::id()));
    let _ = std::fs::remove_dir(&dir);
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let cg = Cgroup(dir);
    let cg_fd = std::fs::File::open(&cg.0).unwrap();
    let procs = std::fs::OpenOptions::new()
        .write(true)
        .open(cg.0.join("cgroup.procs"))
        .unwrap();

    let net = sec_net::open().load().unwrap();
    let new = sec_new::open().load().unwrap();
    let (p, w) = (net.progs(), new.progs());
    let t = LinkTarget::Fd(cg_fd.as_fd());

    // Wrong attach types are refused where the kernel enforces the expected attach type
    // (cgroup sock, sock_addr and sockopt programs; not cgroup_skb unless its verdicts need it).
    for (name, prog, wrong) in [
        ("bind4", p.bind4(), BPF_CGROUP_INET4_CONNECT),
        (
            "sock_release",
            p.sock_release(),
            BPF_CGROUP_INET_SOCK_CREATE,
        ),
        (
            "getsockopt_prog",
            p.getsockopt_prog(),
            BPF_CGROUP_SETSOCKOPT,
        ),
        ("connect_unix", w.connect_unix(), BPF_CGROUP_INET4_CONNECT),
    ] {
        let err = lskel::sys::bpf::link_create(prog.unwrap(), t, wrong, 0)
            .map(drop)
            .expect_err(&format!("`{name}` with attach type {wrong}"));
        assert_eq!(err, Errno::INVAL, "`{name}` with attach type {wrong}");
    }

    let links = vec![
        link(
            p.cgskb_ingress(),
            t,
            BPF_CGROUP_INET_INGRESS,
            "cgskb_ingress",
        ),
        link(p.cgskb_egress(), t, BPF_CGROUP_INET_EGRESS, "cgskb_egress"),
        link(
            p.cg_skb_legacy(),
            t,
            BPF_CGROUP_INET_INGRESS,
            "cg_skb_legacy",
        ),
        link(
            p.sock_create(),
            t,
            BPF_CGROUP_INET_SOCK_CREATE,
            "sock_create",
        ),
        link(
            p.sock_release(),
            t,
            BPF_CGROUP_INET_SOCK_RELEASE,
            "sock_release",
        ),
        link(
            p.sock_legacy(),
            t,
            BPF_CGROUP_INET_SOCK_CREATE,
            "sock_legacy",
        ),
        link(p.post_bind4(), t, BPF_CGROUP_INET4_POST_BIND, "post_bind4"),
        link(p.post_bind6(), t, BPF_CGROUP_INET6_POST_BIND, "post_bind6"),
        link(p.bind4(), t, BPF_CGROUP_INET4_BIND, "bind4"),
        link(p.bind6(), t, BPF_CGROUP_INET6_BIND, "bind6"),
        link(p.connect4(), t, BPF_CGROUP_INET4_CONNECT, "connect4"),
        link(p.connect6(), t, BPF_CGROUP_INET6_CONNECT, "connect6"),
        link(p.sendmsg4(), t, BPF_CGROUP_UDP4_SENDMSG, "sendmsg4"),
        link(p.sendmsg6(), t, BPF_CGROUP_UDP6_SENDMSG, "sendmsg6"),
        link(p.recvmsg4(), t, BPF_CGROUP_UDP4_RECVMSG, "recvmsg4"),
        link(p.recvmsg6(), t, BPF_CGROUP_UDP6_RECVMSG, "recvmsg6"),
        link(
            p.getpeername4(),
            t,
            BPF_CGROUP_INET4_GETPEERNAME,
            "getpeername4",
        ),
        link(
            p.getpeername6(),
            t,
            BPF_CGROUP_INET6_GETPEERNAME,
            "getpeername6",
        ),
        link(
            p.getsockname4(),
            t,
            BPF_CGROUP_INET4_GETSOCKNAME,
            "getsockname4",
        ),
        link(
            p.getsockname6(),
            t,
            BPF_CGROUP_INET6_GETSOCKNAME,
            "getsockname6",
        ),
        link(p.sysctl_prog(), t, BPF_CGROUP_SYSCTL, "sysctl_prog"),
        link(
            p.getsockopt_prog(),
            t,
            BPF_CGROUP_GETSOCKOPT,
            "getsockopt_prog",
        ),
        link(
            p.setsockopt_prog(),
            t,
            BPF_CGROUP_SETSOCKOPT,
            "setsockopt_prog",
        ),
        link(p.dev_prog(), t, BPF_CGROUP_DEVICE, "dev_prog"),
        link(p.sockops_prog(), t, BPF_CGROUP_SOCK_OPS, "sockops_prog"),
        link(w.connect_unix(), t, BPF_CGROUP_UNIX_CONNECT, "connect_unix"),
        link(w.sendmsg_unix(), t, BPF_CGROUP_UNIX_SENDMSG, "sendmsg_unix"),
        link(w.recvmsg_unix(), t, BPF_CGROUP_UNIX_RECVMSG, "recvmsg_unix"),
        link(
            w.getpeername_unix(),
            t,
            BPF_CGROUP_UNIX_GETPEERNAME,
            "getpeername_unix",
        ),
        link(
            w.getsockname_unix(),
            t,
            BPF_CGROUP_UNIX_GETSOCKNAME,
            "getsockname_unix",
        ),
    ];
    assert_eq!(links.len(), 30);
    // Nothing runs in the cgroup yet.
    assert_eq!(net.bss().n_sock_create(), 0);

    let pid = std::process::id();
    let names = [
        abstract_unix(&format!("lskel_sec_{pid}_a")),
        abstract_unix(&format!("lskel_sec_{pid}_b")),
    ];
    // SAFETY: the child only makes async-signal-safe calls, then _exit()s.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork: {}", std::io::Error::last_os_error());
    if child == 0 {
        // SAFETY: see child_workload; _exit skips every destructor of the copied process.
        unsafe { libc::_exit(child_workload(procs.as_raw_fd(), &names)) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(r, child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed at step {} (status {status:#x})",
        libc::WEXITSTATUS(status)
    );

    let b = net.bss().read();
    let u = new.bss().read();
    let seen = [
        ("cgskb_ingress", b.n_cgskb_ingress),
        ("cgskb_egress", b.n_cgskb_egress),
        ("cg_skb_legacy", b.n_cg_skb_legacy),
        ("sock_create", b.n_sock_create),
        ("sock_release", b.n_sock_release),
        ("sock_legacy", b.n_sock_legacy),
        ("post_bind4", b.n_post_bind4),
        ("post_bind6", b.n_post_bind6),
        ("bind4", b.n_bind4),
        ("bind6", b.n_bind6),
        ("connect4", b.n_connect4),
        ("connect6", b.n_connect6),
        ("sendmsg4", b.n_sendmsg4),
        ("sendmsg6", b.n_sendmsg6),
        ("recvmsg4", b.n_recvmsg4),
        ("recvmsg6", b.n_recvmsg6),
        ("getpeername4", b.n_getpeername4),
        ("getpeername6", b.n_getpeername6),
        ("getsockname4", b.n_getsockname4),
        ("getsockname6", b.n_getsockname6),
        ("sysctl_prog", b.n_sysctl_prog),
        ("getsockopt_prog", b.n_getsockopt_prog),
        ("setsockopt_prog", b.n_setsockopt_prog),
        ("dev_prog", b.n_dev_prog),
        ("sockops_prog", b.n_sockops_prog),
        ("connect_unix", u.n_connect_unix),
        ("sendmsg_unix", u.n_sendmsg_unix),
        ("recvmsg_unix", u.n_recvmsg_unix),
        ("getpeername_unix", u.n_getpeername_unix),
        ("getsockname_unix", u.n_getsockname_unix),
    ];
    let missing: Vec<&str> = seen
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(s, _)| *s)
        .collect();
    assert!(
        missing.is_empty(),
        "programs that never ran: {missing:?}\n{seen:?}"
    );
    // Exact counts where the child's calls fix them.
    assert_eq!(
        b.n_sock_create, b.n_sock_legacy,
        "two programs on the same hook"
    );
    assert_eq!(
        (b.n_bind4, b.n_post_bind4),
        (2, 2),
        "one UDP and one TCP bind"
    );
    assert_eq!((b.n_bind6, b.n_post_bind6), (1, 1));
    // connect4: the UDP connect and the TCP connect.
    assert_eq!((b.n_connect4, b.n_connect6), (2, 1));
    assert_eq!(
        (b.n_sendmsg4, b.n_sendmsg6),
        (1, 1),
        "sendto without a connect"
    );
    assert_eq!(u.n_connect_unix, 1);
    // sockops: BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB (4) and PASSIVE_ESTABLISHED_CB (5).
    assert_eq!(
        b.sockops_ops & 0b11_0000,
        0b11_0000,
        "ops {:#x}",
        b.sockops_ops
    );
    drop(links);
    drop(cg);
}

// ----------------------------------------------------------------------------------------------
// Uprobes on this binary, tracepoints, perf events

/// The uprobe target. `#[no_mangle]` keeps its symbol in the test binary's `.symtab`.
#[no_mangle]
#[inline(never)]
pub extern "C" fn lskel_sections_uprobe_target(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(3) + 1
}

/// The file offset of symbol `name` in the ELF file `data` (64-bit little-endian): its address
/// minus the address of the PT_LOAD segment holding it, plus that segment's offset.
fn elf_symbol_offset(data: &[u8], name: &str) -> Option<u64> {
    let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap());
    if &data[..4] != b"\x7fELF" || data[4] != 2 {
        return None;
    }
    let (shoff, shentsize, shnum) = (u64_at(0x28) as usize, u16_at(0x3a), u16_at(0x3c));
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
    let mut addr = None;
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        if u32_at(sh + 4) != 2 {
            continue; // SHT_SYMTAB only
        }
        let (off, size, link) = (
            u64_at(sh + 24) as usize,
            u64_at(sh + 32) as usize,
            u32_at(sh + 40),
        );
        let str_sh = shoff + link as usize * shentsize;
        let str_off = u64_at(str_sh + 24) as usize;
        for s in (off..off + size).step_by(24) {
            let n = str_off + u32_at(s) as usize;
            let end = n + data[n..].iter().position(|&c| c == 0)?;
            if &data[n..end] == name.as_bytes() && u64_at(s + 8) != 0 {
                addr = Some(u64_at(s + 8));
            }
        }
    }
    let addr = addr?;
    (0..phnum).find_map(|i| {
        let ph = phoff + i * phentsize;
        let (off, vaddr, filesz) = (u64_at(ph + 8), u64_at(ph + 16), u64_at(ph + 32));
        (u32_at(ph) == 1 && (vaddr..vaddr + filesz).contains(&addr)).then(|| addr - vaddr + off)
    })
}

/// `perf_event_open` with the first fields of `struct perf_event_attr` (size 128).
fn perf_event_open(
    ty: u32,
    config: u64,
    sample_period: u64,
    config1: u64,
    config2: u64,
) -> std::io::Result<OwnedFd> {
    let mut attr = [0u64; 16];
    attr[0] = u64::from(ty) | (128u64 << 32); // type, size
    attr[1] = config;
    attr[2] = sample_period;
    attr[7] = config1;
    attr[8] = config2;
    // SAFETY: a valid 128-byte attr; pid 0 = this thread, cpu -1 = any, no group, no flags.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, 0u64) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[test]
fn uprobes_on_this_binary() {
    require_kernel!();
    let _g = lock();
    let pmu = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type");
    let Ok(pmu) = pmu else {
        need(
            false,
            "the uprobe PMU (/sys/bus/event_source/devices/uprobe)",
        );
        return;
    };
    let pmu: u32 = pmu.trim().parse().unwrap();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let data = std::fs::read(&exe).unwrap();
    let offset = elf_symbol_offset(&data, "lskel_sections_uprobe_target")
        .expect("the target function in the test binary's symbol table");
    let path = CString::new(exe.as_os_str().as_encoded_bytes()).unwrap();

    let mut open = sec_trace::open();
    open.rodata.target_pid = std::process::id() as i32;
    let tr = open.load().unwrap();
    let mut open = sec_new::open();
    open.rodata.target_pid = std::process::id() as i32;
    let nw = open.load().unwrap();
    let (t, w) = (tr.progs(), nw.progs());

    let mut keep = Vec::new();
    // Single uprobes: a perf event of the uprobe PMU (config bit 0 = return probe).
    for (name, prog, ret) in [
        ("up", t.up(), false),
        ("uret", t.uret(), true),
        ("up_s", t.up_s(), false),
        ("uret_s", t.uret_s(), true),
        ("usdt_prog", t.usdt_prog(), false),
        ("usdt_s", w.usdt_s(), false),
    ] {
        let ev = perf_event_open(pmu, u64::from(ret), 0, path.as_ptr() as u64, offset)
            .unwrap_or_else(|e| panic!("perf_event_open uprobe for `{name}`: {e}"));
        keep.push(link(prog, LinkTarget::Fd(ev.as_fd()), BPF_PERF_EVENT, name));
        keep.push(ev);
    }
    // Multi uprobes: BPF_LINK_CREATE with the uprobe_multi attr
    // { u64 path; u64 offsets; u64 ref_ctr_offsets; u64 cookies; u32 cnt; u32 flags; u32 pid; }.
    let offsets = [offset];
    for (name, prog, attach, flags) in [
        ("up_multi", w.up_multi(), BPF_TRACE_UPROBE_MULTI, 0u32),
        ("uret_multi", w.uret_multi(), BPF_TRACE_UPROBE_MULTI, 1), // BPF_F_UPROBE_MULTI_RETURN
        ("up_multi_s", w.up_multi_s(), BPF_TRACE_UPROBE_MULTI, 0),
        ("uret_multi_s", w.uret_multi_s(), BPF_TRACE_UPROBE_MULTI, 1),
        ("up_session", w.up_session(), BPF_TRACE_UPROBE_SESSION, 0),
        (
            "up_session_s",
            w.up_session_s(),
            BPF_TRACE_UPROBE_SESSION,
            0,
        ),
    ] {
        let mut x = Vec::new();
        x.extend_from_slice(&(path.as_ptr() as u64).to_ne_bytes());
        x.extend_from_slice(&(offsets.as_ptr() as u64).to_ne_bytes());
        x.extend_from_slice(&0u64.to_ne_bytes());
        x.extend_from_slice(&0u64.to_ne_bytes());
        x.extend_from_slice(&1u32.to_ne_bytes());
        x.extend_from_slice(&flags.to_ne_bytes());
        x.extend_from_slice(&std::process::id().to_ne_bytes());
        keep.push(
            link_create_raw(prog.unwrap(), 0, attach, 0, &x)
                .unwrap_or_else(|e| panic!("uprobe_multi link `{name}`: {e}")),
        );
    }
    // A uprobe.multi program cannot take a session link, nor a plain uprobe program a multi link.
    let mut x = Vec::new();
    x.extend_from_slice(&(path.as_ptr() as u64).to_ne_bytes());
    x.extend_from_slice(&(offsets.as_ptr() as u64).to_ne_bytes());
    x.extend_from_slice(&[0u8; 16]);
    x.extend_from_slice(&1u32.to_ne_bytes());
    x.extend_from_slice(&[0u8; 8]);
    for (name, prog, attach) in [
        ("up_multi", w.up_multi(), BPF_TRACE_UPROBE_SESSION),
        ("up", t.up(), BPF_TRACE_UPROBE_MULTI),
    ] {
        let err = link_create_raw(prog.unwrap(), 0, attach, 0, &x)
            .expect_err("a link of another uprobe kind");
        assert_eq!(err, Errno::INVAL, "`{name}` with attach type {attach}");
    }

    let mut sum = 0;
    for i in 0..5 {
        sum += lskel_sections_uprobe_target(100 + i);
    }
    assert_eq!(sum, 3 * 510 + 5);
    let (b, u) = (tr.bss().read(), nw.bss().read());
    let got = [
        ("up", b.n_up),
        ("uret", b.n_uret),
        ("up_s", b.n_up_s),
        ("uret_s", b.n_uret_s),
        ("usdt_prog", b.n_usdt_prog),
        ("usdt_s", u.n_usdt_s),
        ("up_multi", u.n_up_multi),
        ("uret_multi", u.n_uret_multi),
        ("up_multi_s", u.n_up_multi_s),
        ("uret_multi_s", u.n_uret_multi_s),
        ("up_session", u.n_up_session),
        ("up_session_s", u.n_up_session_s),
    ];
    for (name, n) in &got {
        let want = if name.contains("session") { 10 } else { 5 };
        assert_eq!(
            *n, want,
            "`{name}`: 5 calls (a session program runs at entry and return): {got:?}"
        );
    }
    assert_eq!(b.up_arg, 104, "%rdi of the last call");
    assert_eq!(b.uret_ret, 3 * 104 + 1, "%rax of the last return");
    drop(keep);
}

#[test]
fn tracepoint_raw_tp_and_perf_event_programs() {
    require_kernel!();
    let _g = lock();
    let mut open = sec_trace::open();
    open.rodata.target_pid = std::process::id() as i32;
    let tr = open.load().unwrap();
    let t = tr.progs();

    let id_path = "/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id";
    let Ok(id) = std::fs::read_to_string(id_path) else {
        need(false, id_path);
        return;
    };
    let id: u64 = id.trim().parse().unwrap();
    let tp = perf_event_open(2, id, 1, 0, 0).expect("perf_event_open tracepoint"); // PERF_TYPE_TRACEPOINT
    let _l1 = link(
        t.tp_prog(),
        LinkTarget::Fd(tp.as_fd()),
        BPF_PERF_EVENT,
        "tp_prog",
    );
    let _l2 = lskel::attach_raw_tp(t.rawtp_named().unwrap(), "sys_exit").unwrap();
    // A raw_tp.w program that writes nothing attaches to any raw tracepoint.
    let _l3 = lskel::attach_raw_tp(t.rawtp_w().unwrap(), "sys_enter").unwrap();
    // PERF_TYPE_SOFTWARE / PERF_COUNT_SW_TASK_CLOCK, a sample every 100 µs of this thread's time.
    let clock = perf_event_open(1, 1, 100_000, 0, 0).expect("perf_event_open task clock");
    let _l4 = link(
        t.perf_prog(),
        LinkTarget::Fd(clock.as_fd()),
        BPF_PERF_EVENT,
        "perf_prog",
    );

    for _ in 0..7 {
        // SAFETY: getppid has no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    let end = Instant::now() + Duration::from_millis(50);
    let mut x = 0u64;
    while Instant::now() < end {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    let b = tr.bss().read();
    assert_eq!(b.n_tp_prog, 7, "sys_enter_getppid of this process");
    assert!(b.n_rawtp_named >= 7, "sys_exit: {}", b.n_rawtp_named);
    assert!(b.n_rawtp_w >= 7, "raw_tp.w on sys_enter: {}", b.n_rawtp_w);
    assert!(b.n_perf_prog > 0, "task-clock samples");
}
