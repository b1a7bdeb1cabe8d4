//! tp_btf.bpf.o: programs whose attach target is a BTF id resolved by the loader at load time: a
//! `tp_btf/sys_enter` program and an `iter/task` iterator.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use lskel::sys::bpf::{attach_type, prog_type, LinkTarget};
use lskel_tests::{getpid_syscalls, gettid, require_kernel};

lskel::bpf_skeleton!("bpf/tp_btf.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_iter(link: &lskel::Link) -> String {
    let fd = lskel::iter_create(link).expect("BPF_ITER_CREATE");
    let mut out = String::new();
    std::fs::File::from(fd).read_to_string(&mut out).unwrap();
    out
}

#[test]
fn programs_are_tracing_programs_with_btf_targets() {
    require_kernel!();
    let skel = tp_btf::open().load().unwrap();
    // The targets the loader resolved at run time are the running kernel's BTF ids.
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let vmlinux = lskel_gen::btf::Btf::parse(&vmlinux).unwrap();
    let expected = [
        (
            skel.progs().btf_sys_enter().unwrap(),
            vmlinux.find("btf_trace_sys_enter", lskel_gen::btf::kind::TYPEDEF),
        ),
        (
            skel.progs().dump_task().unwrap(),
            vmlinux.find("bpf_iter_task", lskel_gen::btf::kind::FUNC),
        ),
    ];
    for (fd, target) in expected {
        let info = lskel::sys::bpf::prog_info(fd).unwrap();
        assert_eq!(
            info.prog_type,
            prog_type::BPF_PROG_TYPE_TRACING,
            "{}",
            info.name
        );
        assert_eq!(
            Some(info.attach_btf_id),
            target,
            "{}: attach_btf_id",
            info.name
        );
        assert_ne!(
            info.attach_btf_obj_id, 0,
            "{}: attach BTF object",
            info.name
        );
    }
    // The static format string of BPF_SEQ_PRINTF sits in .rodata after target_pid.
    let ro = *skel.rodata();
    assert_eq!(&{ ro.__pad_4 }[..10], b"%d %d %s\n\0");
}

#[test]
fn tp_btf_counts_syscalls() {
    require_kernel!();
    let _g = lock();
    let mut open = tp_btf::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    assert_eq!({ skel.rodata().target_pid }, std::process::id() as i32);
    let link = lskel::attach_raw_tp(skel.progs().btf_sys_enter().unwrap(), "").unwrap();
    let mut seen_getpid = false;
    for _ in 0..100 {
        getpid_syscalls(1);
        // Read with no syscall in between: the last id seen is getpid (unless another thread of
        // ours made a syscall meanwhile, hence the retries).
        let b = skel.bss().read();
        if b.last_id == libc::SYS_getpid {
            assert_eq!(b.last_orig_ax, libc::SYS_getpid as u64, "regs->orig_ax");
            seen_getpid = true;
            break;
        }
    }
    assert!(seen_getpid, "last_id never showed getpid");
    let before = skel.bss().enter_hits();
    getpid_syscalls(25);
    assert!(skel.bss().enter_hits() >= before + 25);
    drop(link);
    std::thread::sleep(Duration::from_millis(20));
    let b = skel.bss().read();
    assert_eq!(
        b.last_orig_ax as i64, b.last_id,
        "orig_ax equals the syscall id"
    );
    getpid_syscalls(10);
    assert_eq!(skel.bss().enter_hits(), b.enter_hits, "detached");
    assert_eq!(b.tasks_seen, 0, "iterator not run");
}

#[test]
fn tp_btf_attach_through_link_create() {
    require_kernel!();
    let _g = lock();
    let mut open = tp_btf::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    let link = lskel::attach_link(
        skel.progs().btf_sys_enter().unwrap(),
        LinkTarget::None,
        attach_type::BPF_TRACE_RAW_TP,
        0,
    )
    .unwrap();
    getpid_syscalls(10);
    assert!(skel.bss().enter_hits() >= 10);
    drop(link);
}

#[test]
fn task_iterator_prints_every_task() {
    require_kernel!();
    let skel = tp_btf::open().load().unwrap();
    let link = lskel::attach_link(
        skel.progs().dump_task().unwrap(),
        LinkTarget::None,
        attach_type::BPF_TRACE_ITER,
        0,
    )
    .unwrap();

    let out = read_iter(&link);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() > 2, "{out}");
    let me = std::process::id();
    let mut tids = Vec::new();
    for line in &lines {
        let mut it = line.splitn(3, ' ');
        let tgid: u32 = it
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{line:?}"));
        let tid: u32 = it
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{line:?}"));
        let comm = it.next().unwrap_or_else(|| panic!("{line:?}"));
        assert!(comm.len() <= 15, "{line:?}");
        if tgid == me {
            tids.push(tid);
        }
    }
    // Our process appears, with its main thread (tid == tgid), and kthreadd (pid 2) too.
    assert!(tids.contains(&me), "our tgid {me} not listed:\n{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("2 2 kthreadd")),
        "kthreadd missing"
    );
    // This test's thread, alive during the read, is listed under our tgid.
    assert!(tids.contains(&gettid()), "this thread missing:\n{out}");
    let seen = skel.bss().tasks_seen();
    assert_eq!(seen, lines.len() as u64, "one line per task visited");

    // A second read walks the tasks again: the counter accumulates.
    let again = read_iter(&link);
    assert!(again.lines().count() > 2);
    assert_eq!(skel.bss().tasks_seen(), seen + again.lines().count() as u64);
    let comm_of_main = std::fs::read_to_string("/proc/self/comm").unwrap();
    let comm_of_main = comm_of_main.trim_end();
    assert!(
        again
            .lines()
            .any(|l| l == format!("{me} {me} {comm_of_main}")),
        "main thread line missing"
    );
}
