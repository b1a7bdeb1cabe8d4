//! The typed `lskel::attach` functions, each observed running its program
//! (tests/bpf/autoattach.bpf.c; netfilter from sec_new.bpf.o).

use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use lskel::attach::{self, TcxDirection, UprobeTarget};
use lskel_tests::getpid_syscalls;
use lskel_tests::netns::{in_netns, VethPair};

lskel::bpf_skeleton!("bpf/autoattach.bpf.o");
lskel::bpf_skeleton!("bpf/sec_new.bpf.o");

/// Network tests run one at a time (they share the loopback traffic they count).
static NET: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    NET.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the typed uprobe test probes by symbol.
#[no_mangle]
#[inline(never)]
pub extern "C" fn lskel_typed_probe(x: u64) -> u64 {
    std::hint::black_box(x ^ 0x55)
}

fn load() -> autoattach::Skel {
    let skel = autoattach::open().load().expect("load autoattach");
    skel.bss().set_my_pid(std::process::id() as i32);
    skel
}

fn require_all() -> bool {
    std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1")
}

#[test]
fn tracepoint_raw_tp_tracing_iter() {
    lskel_tests::require_kernel!();
    let skel = load();
    let p = skel.progs();
    let tp = attach::tracepoint(p.tp_getpid().unwrap(), "syscalls", "sys_enter_getpid").unwrap();
    let raw = attach::raw_tp(p.rawtp_enter().unwrap(), "sys_enter").unwrap();
    let btf = attach::tracing(p.btf_enter().unwrap()).unwrap();
    getpid_syscalls(8);
    let b = skel.bss();
    assert!(b.n_tp_getpid() >= 8 && b.n_rawtp_enter() >= 8 && b.n_btf_enter() >= 8);
    drop((tp, raw, btf));
    let n = b.n_tp_getpid();
    getpid_syscalls(8);
    assert_eq!(b.n_tp_getpid(), n, "dropped tracepoint link still runs");

    let it = attach::iter(p.task_iter().unwrap()).unwrap();
    let out = lskel::read_iter_to_string(&it).unwrap();
    let me = format!("{} ", std::process::id());
    assert!(out.lines().any(|l| l.starts_with(&me)), "{out}");
    // A second run reads from the start again.
    let mut again = String::new();
    std::io::Read::read_to_string(&mut it.iter_reader().unwrap(), &mut again).unwrap();
    assert!(again.lines().any(|l| l.starts_with(&me)));

    // Errors name what was not found.
    let e = attach::tracepoint(p.tp_getpid().unwrap(), "syscalls", "sys_enter_nope").unwrap_err();
    assert!(e.to_string().contains("syscalls/sys_enter_nope"), "{e}");
    let e = attach::raw_tp(p.rawtp_enter().unwrap(), "no_such_raw_tp").unwrap_err();
    assert!(e.to_string().contains("no_such_raw_tp"), "{e}");
}

#[test]
fn uprobe_by_symbol_offset_and_library_name() {
    lskel_tests::require_kernel!();
    let skel = load();
    let prog = skel.progs().up_typed().unwrap();
    let pid = std::process::id() as i32;
    let link = attach::uprobe(
        prog,
        &UprobeTarget::new("/proc/self/exe")
            .func("lskel_typed_probe")
            .pid(pid),
    )
    .unwrap();
    for i in 0..4 {
        lskel_typed_probe(i);
    }
    assert_eq!(skel.bss().n_up_typed(), 4);
    link.detach().unwrap();
    lskel_typed_probe(9);
    assert_eq!(skel.bss().n_up_typed(), 4);

    // libc by name, found in this process's maps; a return probe, only this process.
    let ret = attach::uprobe(
        prog,
        &UprobeTarget::new("libc.so.6")
            .func("getpid")
            .pid(pid)
            .retprobe(true),
    )
    .unwrap();
    for _ in 0..3 {
        // SAFETY: getpid has no preconditions.
        std::hint::black_box(unsafe { libc::getpid() });
    }
    assert!(
        skel.bss().n_up_typed() >= 7,
        "libc getpid uretprobe: {}",
        skel.bss().n_up_typed()
    );
    drop(ret);

    let e = attach::uprobe(
        prog,
        &UprobeTarget::new("/proc/self/exe").func("no_such_function_q"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no_such_function_q"), "{e}");
    let e = attach::uprobe(prog, &UprobeTarget::new("libnot_here.so.3").func("f")).unwrap_err();
    assert!(e.to_string().contains("libnot_here.so.3"), "{e}");
}

#[test]
fn kprobes_say_what_is_missing() {
    lskel_tests::require_kernel!();
    let skel = load();
    let prog = skel.progs().up_typed().unwrap();
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists() {
        eprintln!("kernel has kprobes; the kprobe fixtures are not in this test");
        return;
    }
    for e in [
        attach::kprobe(prog, "do_sys_openat2", 0, false).unwrap_err(),
        attach::ksyscall(prog, "openat", true).unwrap_err(),
    ] {
        assert!(e.to_string().contains("no kprobe PMU"), "{e}");
    }
    let e = attach::kprobe(prog, "do_sys_openat2", 0, false).unwrap_err();
    assert!(e.to_string().contains("do_sys_openat2"), "{e}");
}

#[test]
fn perf_event_on_a_software_cpu_clock() {
    lskel_tests::require_kernel!();
    use lskel::sys::perf_attach::{
        perf_attr, perf_event_open, PerfScope, PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE,
    };
    let skel = load();
    let mut attr = perf_attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, 0, 0);
    attr.0[2] = 100_000; // a sample every 100 us of CPU time
                         // This thread, any CPU.
    let ev = perf_event_open(
        &attr,
        PerfScope {
            pid: Some(0),
            cpu: -1,
        },
    )
    .expect("perf_event_open cpu-clock");
    let link = attach::perf_event(skel.progs().perf_tick().unwrap(), ev.as_fd()).unwrap();
    drop(ev); // the link keeps its own reference
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(100) {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    assert!(skel.bss().n_perf_tick() > 0, "perf_event program never ran");
    drop(link);
    // A sample already in flight when the link went may still finish: take the count once the
    // detach has settled, then check it no longer moves.
    std::thread::sleep(Duration::from_millis(20));
    let n = skel.bss().n_perf_tick();
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_millis(50) {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    assert_eq!(
        skel.bss().n_perf_tick(),
        n,
        "detached perf_event program still runs"
    );
}

#[test]
fn socket_filter_on_a_udp_pair() {
    lskel_tests::require_kernel!();
    let _g = lock();
    let skel = load();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let link = attach::socket_filter(skel.progs().sock_filter().unwrap(), rx.as_fd()).unwrap();
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
        assert_eq!(rx.recv(&mut buf).unwrap(), 5);
    }
    assert_eq!(skel.bss().n_sock_filter(), 3);
    link.detach().expect("SO_DETACH_BPF");
    tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
    rx.recv(&mut buf).unwrap();
    assert_eq!(skel.bss().n_sock_filter(), 3, "detached filter still runs");
}

#[test]
fn sk_lookup_and_netfilter_on_loopback() {
    lskel_tests::require_kernel!();
    let _g = lock();
    let skel = load();
    let netns = std::fs::File::open("/proc/self/ns/net").unwrap();
    let link = attach::sk_lookup(skel.progs().lookup().unwrap(), netns.as_fd()).unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
    rx.recv(&mut [0u8; 4]).unwrap();
    assert!(skel.bss().n_lookup() >= 1, "sk_lookup never ran");
    drop(link);

    let new = sec_new::open().load().unwrap();
    // NFPROTO_IPV4, NF_INET_LOCAL_OUT, priority 10.
    match attach::netfilter(new.progs().nf_prog().unwrap(), 2, 3, 10, 0) {
        Ok(link) => {
            tx.send_to(b"y", rx.local_addr().unwrap()).unwrap();
            rx.recv(&mut [0u8; 4]).unwrap();
            assert!(
                new.bss().read().n_nf_prog >= 1,
                "netfilter program never ran"
            );
            drop(link);
        }
        Err(e) if !require_all() && e.errno() == Some(lskel::Errno::NOTSUP) => {
            eprintln!("skipping netfilter: {e}")
        }
        Err(e) => panic!("netfilter: {e}"),
    }
}

#[test]
fn cgroup_skb_egress_in_a_fresh_cgroup() {
    lskel_tests::require_kernel!();
    let _g = lock();
    let skel = load();
    // The cgroup v2 mount: /sys/fs/cgroup itself or its `unified` hierarchy.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let Some(root) = mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[2] == "cgroup2").then(|| f[1].to_string())
    }) else {
        assert!(!require_all(), "no cgroup v2 mount");
        eprintln!("skipping: no cgroup v2 mount");
        return;
    };
    let dir = format!("{root}/lskel_typed_attach_{}", std::process::id());
    if let Err(e) = std::fs::create_dir(&dir) {
        assert!(!require_all(), "cgroup v2 dir {dir}: {e}");
        eprintln!("skipping: {dir}: {e}");
        return;
    }
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _rm = Rm(dir.clone());
    let cg = std::fs::File::open(&dir).unwrap();
    let link = attach::cgroup(
        skel.progs().cg_egress().unwrap(),
        cg.as_fd(),
        1, /* BPF_CGROUP_INET_EGRESS */
    )
    .unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    // A child moves itself into the cgroup, then sends one datagram.
    let st = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "echo $$ > {dir}/cgroup.procs && echo hi > /dev/udp/127.0.0.1/{port}"
        ))
        .status()
        .expect("bash");
    assert!(st.success());
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    rx.recv(&mut [0u8; 8]).unwrap();
    assert!(skel.bss().n_cg_egress() >= 1, "cgroup_skb/egress never ran");
    drop(link);
    let _ = rx.as_raw_fd();
}

// ---------------------------------------------------------------------------------------------
// xdp and tcx on a veth pair between two fresh network namespaces

#[test]
fn xdp_and_tcx_on_a_veth_pair() {
    lskel_tests::require_kernel!();
    let _g = lock();
    let pid = std::process::id();
    // Namespaces `a` (veth `ta`, 10.202.0.1) and `b` (veth `tb`, 10.202.0.2).
    let veth = match VethPair::new(
        [format!("lskel_ta_{pid}"), format!("lskel_tb_{pid}")],
        ["ta", "tb"],
        ["10.202.0.1", "10.202.0.2"],
    ) {
        Ok(v) => v,
        Err(e) => {
            assert!(!require_all(), "veth pair: {e}");
            eprintln!("skipping: {e}");
            return;
        }
    };
    let skel = load();
    let p = skel.progs();
    let links = in_netns(&veth.b, || {
        let tb = attach::ifindex("tb").unwrap();
        let e = attach::ifindex("no_such_if").unwrap_err();
        assert!(e.to_string().contains("no_such_if"), "{e}");
        // A classic `SEC("tc")` program goes on a tcx link too.
        (
            attach::xdp(p.xdp_count().unwrap(), tb, 0).unwrap(),
            attach::tcx(p.tc_count().unwrap(), tb, TcxDirection::Ingress).unwrap(),
        )
    });
    in_netns(&veth.a, || {
        let s = UdpSocket::bind("10.202.0.1:0").unwrap();
        for _ in 0..5 {
            s.send_to(b"ping", "10.202.0.2:9").unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    lskel_tests::wait_until(
        "xdp and tcx counted the datagrams",
        Duration::from_secs(3),
        || {
            let (x, t) = (skel.bss().n_xdp_count(), skel.bss().n_tc_count());
            if x >= 5 && t >= 5 {
                Ok(())
            } else {
                Err(format!("xdp {x}, tcx {t}"))
            }
        },
    );
    drop(links);
    drop(veth);
}

#[test]
fn sockmap_stream_verdict_on_a_tcp_pair() {
    lskel_tests::require_kernel!();
    let _g = lock();
    use std::io::{Read, Write};
    let skel = load();
    let socks = skel.maps().socks();
    let map = socks.fd();
    // BPF_SK_SKB_STREAM_VERDICT
    let link = attach::sockmap(skel.progs().verdict().unwrap(), map, 5).unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut server, _) = l.accept().unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let fd = server.as_raw_fd() as u64;
    socks
        .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), 0)
        .unwrap();
    client.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert!(skel.bss().n_verdict() >= 1, "stream verdict never ran");
    link.detach().expect("BPF_PROG_DETACH");
    // Detached: there is nothing left to detach.
    let e =
        lskel::sys::perf_attach::prog_detach(map, skel.progs().verdict().unwrap(), 5).unwrap_err();
    assert_eq!(e, lskel::Errno::NOENT);
}
