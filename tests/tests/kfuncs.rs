//! kfuncs.bpf.o: kernel functions resolved from vmlinux BTF at load time: task acquire/release,
//! the RCU read lock, a kfunc with two call sites, weak kfuncs present and missing, and a
//! `tp_btf` program calling kfuncs.

use std::sync::Mutex;
use std::time::Duration;

use lskel::sys::bpf::prog_type;
use lskel_tests::{getpid_syscalls, gettid, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/kfuncs.bpf.o");

/// The tracing test counts this process's syscalls: keep the other tests of this file out of
/// its way.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pid no task has (pid_max is at most 2^22).
const NO_SUCH_PID: i32 = 0x3fff_ffff;

fn own_pid() -> i32 {
    std::process::id() as i32
}

fn parent_pid() -> i32 {
    // SAFETY: getppid has no arguments and cannot fail.
    unsafe { libc::getppid() }
}

/// `struct kfunc_args { s32 pid; s32 pid2; }`.
fn run(skel: &kfuncs::Skel, pid: i32, pid2: i32) {
    let mut ctx = [0u8; 8];
    ctx[..4].copy_from_slice(&pid.to_ne_bytes());
    ctx[4..].copy_from_slice(&pid2.to_ne_bytes());
    let ret = run_syscall_prog(skel.progs().kfunc_run().unwrap(), &mut ctx).unwrap();
    assert_eq!(ret, 0);
}

#[test]
fn task_acquire_release_and_rcu_read_lock() {
    let _g = lock();
    require_kernel!();
    let skel = kfuncs::open().load().unwrap();
    run(&skel, own_pid(), parent_pid());
    let b = skel.bss().read();
    assert_eq!(b.runs, 1);
    assert_eq!(b.not_found, 0, "{b:?}");
    // bpf_task_from_pid (call site 1) found us.
    assert_eq!(b.task_pid, own_pid(), "task_pid");
    assert_eq!(b.task_tgid, own_pid(), "task_tgid");
    // bpf_task_acquire gave a second reference to the same task.
    assert_eq!(b.acquired_pid, own_pid(), "acquired_pid");
    // real_parent->tgid, read between bpf_rcu_read_lock and bpf_rcu_read_unlock.
    assert_eq!(b.rcu_parent_tgid, parent_pid(), "rcu_parent_tgid");
    // bpf_task_from_pid (call site 2).
    assert_eq!(b.task2_pid, parent_pid(), "task2_pid");
    // The tracing program was not attached.
    assert_eq!(b.tp_hits, 0);
}

#[test]
fn kfunc_with_two_call_sites_resolves_both() {
    let _g = lock();
    require_kernel!();
    let skel = kfuncs::open().load().unwrap();

    // Call site 1 misses, call site 2 finds us.
    run(&skel, NO_SUCH_PID, own_pid());
    let b = skel.bss().read();
    assert_eq!(b.not_found, 1, "{b:?}");
    assert_eq!(b.task_pid, -1, "call site 1: not found");
    assert_eq!(b.task2_pid, own_pid(), "call site 2");
    assert_eq!(b.acquired_pid, 0, "nothing acquired yet");
    assert_eq!(b.vpid_pid, -1, "bpf_task_from_vpid of a missing pid");

    // Call site 1 finds us, call site 2 misses.
    run(&skel, own_pid(), NO_SUCH_PID);
    let b = skel.bss().read();
    assert_eq!(b.not_found, 2, "{b:?}");
    assert_eq!(b.task_pid, own_pid(), "call site 1");
    assert_eq!(b.acquired_pid, own_pid());
    assert_eq!(b.task2_pid, -1, "call site 2: not found");

    // Both find kthreadd (pid 2), whose parent tgid is 0.
    run(&skel, 2, 2);
    let b = skel.bss().read();
    assert_eq!(b.not_found, 2, "{b:?}");
    assert_eq!((b.task_pid, b.task_tgid, b.task2_pid), (2, 2, 2));
    assert_eq!(b.acquired_pid, 2);
    assert_eq!(b.rcu_parent_tgid, 0, "kthreadd's parent is the idle task");
    assert_eq!(b.runs, 3);
}

#[test]
fn weak_kfuncs_present_and_missing() {
    let _g = lock();
    require_kernel!();
    // The load succeeds although `bpf_lskel_no_such_kfunc` exists in no kernel: it is weak.
    let skel = kfuncs::open().load().unwrap();
    run(&skel, own_pid(), own_pid());
    let b = skel.bss().read();
    assert_eq!(b.exists_present, 1, "bpf_ksym_exists(bpf_task_from_vpid)");
    assert_eq!(b.vpid_pid, own_pid(), "bpf_task_from_vpid was called");
    assert_eq!(
        b.exists_missing, 0,
        "bpf_ksym_exists(bpf_lskel_no_such_kfunc)"
    );
    assert_eq!(b.missing_called, 0, "the missing kfunc's branch is dead");
    assert_eq!(b.not_found, 0);
}

#[test]
fn kfunc_tp_is_attached_and_counts() {
    let _g = lock();
    require_kernel!();
    let mut open = kfuncs::open();
    open.rodata.target_pid = own_pid();
    let skel = open.load().unwrap();
    assert_eq!({ skel.rodata().target_pid }, own_pid());

    // Its attach target is the running kernel's `btf_trace_sys_enter`.
    let info = lskel::sys::bpf::prog_info(skel.progs().kfunc_tp().unwrap()).unwrap();
    assert_eq!(info.prog_type, prog_type::BPF_PROG_TYPE_TRACING);
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let vmlinux = lskel_gen::btf::Btf::parse(&vmlinux).unwrap();
    assert_eq!(
        Some(info.attach_btf_id),
        vmlinux.find("btf_trace_sys_enter", lskel_gen::btf::kind::TYPEDEF)
    );

    getpid_syscalls(10);
    assert_eq!(skel.bss().tp_hits(), 0, "not attached yet");

    let link = lskel::attach_raw_tp(skel.progs().kfunc_tp().unwrap(), "").unwrap();
    let before = skel.bss().tp_hits();
    getpid_syscalls(30);
    let b = skel.bss().read();
    assert!(b.tp_hits >= before + 30, "{b:?}");
    assert_eq!(b.tp_tgid, own_pid(), "tgid through the acquired task");
    // The tid is the last matching thread's: ours, unless another thread of this process made
    // a syscall in between (hence the retries).
    let me = gettid() as i32;
    let mut seen_me = false;
    for _ in 0..100 {
        getpid_syscalls(1);
        if skel.bss().tp_pid() == me {
            seen_me = true;
            break;
        }
    }
    assert!(seen_me, "tp_pid never showed this thread ({me})");

    drop(link);
    std::thread::sleep(Duration::from_millis(20));
    let after = skel.bss().tp_hits();
    getpid_syscalls(10);
    assert_eq!(skel.bss().tp_hits(), after, "detached");
    // The syscall program was never run.
    assert_eq!(skel.bss().runs(), 0);
}
