//! core.bpf.o: CO-RE relocations (field offsets, field/type existence, field size, enum value)
//! resolved against the running kernel, checked through what the program reads about this process.

use std::sync::Mutex;
use std::time::Duration;

use lskel_tests::{c_chars, getpid_syscalls, gettid, require_kernel};

lskel::bpf_skeleton!("bpf/core.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Attaches `core_probe` filtered on this process, makes syscalls from this thread, detaches, and
/// returns a snapshot of `.bss`.
fn probe(skel: &core::Skel) -> core::Bss {
    let link = lskel::attach_raw_tp(skel.progs().core_probe().unwrap(), "sys_enter").unwrap();
    getpid_syscalls(20);
    // The close of the link is itself a syscall of this thread, recorded before the detach.
    drop(link);
    std::thread::sleep(Duration::from_millis(20));
    skel.bss().read()
}

#[test]
fn core_reads_give_our_process() {
    require_kernel!();
    let _g = lock();
    let me = std::process::id();
    let mut open = core::open();
    open.rodata.target_pid = me as i32;
    let skel = open.load().unwrap();
    assert_eq!(skel.bss().hits(), 0);
    let b = probe(&skel);

    assert!(b.hits >= 20, "hits = {}", b.hits);
    assert_eq!(b.out_tgid, me, "task_struct.tgid");
    // SAFETY: getppid has no arguments and cannot fail.
    let ppid = unsafe { libc::getppid() } as u32;
    assert_eq!(b.out_ppid, ppid, "task_struct.real_parent->tgid");

    // The last syscall recorded came from a thread of this process; normally this one (the main
    // test-harness thread is blocked meanwhile). Its comm must match that thread's.
    let tid = b.out_pid;
    let comm_path = format!("/proc/self/task/{tid}/comm");
    let comm = std::fs::read_to_string(&comm_path)
        .unwrap_or_else(|e| panic!("out_pid {tid} is not a thread of ours: {e}"));
    let comm = comm.trim_end_matches('\n');
    assert_eq!(c_chars(&b.out_comm), comm, "task_struct.comm of {tid}");
    assert_eq!(b.out_comm_len, comm.len() as i32 + 1, "strlen(comm) + 1");

    assert_eq!(b.has_pid_field, 1, "bpf_core_field_exists(task_struct.pid)");
    assert_eq!(
        b.has_fake_field, 0,
        "bpf_core_field_exists(task_struct___lskel.lskel_no_such_field)"
    );
    assert_eq!(
        b.has_task_type, 1,
        "bpf_core_type_exists(struct task_struct)"
    );
    assert_eq!(
        b.has_fake_type, 0,
        "bpf_core_type_exists(struct lskel_no_such_type)"
    );
    assert_eq!(b.comm_size, 16, "bpf_core_field_size(task_struct.comm)");
    assert_eq!(b.ringbuf_type, 27, "BPF_MAP_TYPE_RINGBUF");
}

#[test]
fn thread_name_and_tid_come_from_the_current_task() {
    require_kernel!();
    let _g = lock();
    let me = std::process::id();
    let mut open = core::open();
    open.rodata.target_pid = me as i32;
    let skel = open.load().unwrap();
    // A thread with a name of our choosing: the last syscalls recorded are its own (or, rarely, a
    // harness thread's: retry a few times).
    let (tid, b) = std::thread::Builder::new()
        .name("lskel-core-t".into())
        .spawn(move || {
            let tid = gettid();
            for _ in 0..20 {
                let b = probe(&skel);
                if b.out_pid == tid {
                    return (tid, b);
                }
            }
            panic!("never saw this thread's syscalls as the last ones");
        })
        .unwrap()
        .join()
        .unwrap();
    assert_ne!(tid, me, "spawned thread has its own tid");
    assert_eq!(b.out_pid, tid, "task_struct.pid is the thread id");
    assert_eq!(b.out_tgid, me, "task_struct.tgid is the process id");
    assert_eq!(c_chars(&b.out_comm), "lskel-core-t");
    assert_eq!(b.out_comm_len, 13);
}

#[test]
fn filter_excludes_other_processes() {
    require_kernel!();
    let _g = lock();
    // pid 1 (init) is not us: with the knob set to it, our own syscalls are not counted.
    let mut open = core::open();
    open.rodata.target_pid = 1;
    let skel = open.load().unwrap();
    let b = probe(&skel);
    assert_ne!(b.out_tgid, std::process::id());
    if b.hits > 0 {
        assert_eq!(b.out_tgid, 1, "only init's syscalls are recorded");
    }
}
