//! attach.bpf.o: programs whose BTF attach target the loader resolves at run time: a
//! `tp_btf/sched_process_fork` program, an `iter/bpf_map` iterator and a sleepable `iter.s/task`
//! iterator.

use std::io::Read;
use std::os::fd::BorrowedFd;
use std::sync::Mutex;
use std::time::Duration;

use lskel::sys::bpf::{attach_type, prog_info, prog_or_map_id, prog_type, LinkTarget};
use lskel_tests::{gettid, require_kernel};

lskel::bpf_skeleton!("bpf/attach.bpf.o");

/// The fork counter sees every clone of this process, threads included: keep the other tests
/// of this file (and their threads) out of its way.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn attach_iter(prog: BorrowedFd<'_>) -> lskel::Link {
    lskel::attach_link(prog, LinkTarget::None, attach_type::BPF_TRACE_ITER, 0).unwrap()
}

fn read_iter(link: &lskel::Link) -> String {
    let fd = lskel::iter_create(link).expect("BPF_ITER_CREATE");
    let mut out = String::new();
    std::fs::File::from(fd).read_to_string(&mut out).unwrap();
    out
}

fn own_pid() -> i32 {
    std::process::id() as i32
}

#[test]
fn attach_btf_ids_are_the_kernels() {
    let _g = lock();
    require_kernel!();
    let skel = attach::open().load().unwrap();
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let vmlinux = lskel_gen::btf::Btf::parse(&vmlinux).unwrap();
    use lskel_gen::btf::kind;
    let expected = [
        (
            skel.progs().on_fork().unwrap(),
            "on_fork",
            "btf_trace_sched_process_fork",
            kind::TYPEDEF,
        ),
        (
            skel.progs().dump_maps().unwrap(),
            "dump_maps",
            "bpf_iter_bpf_map",
            kind::FUNC,
        ),
        (
            skel.progs().dump_tasks_s().unwrap(),
            "dump_tasks_s",
            "bpf_iter_task",
            kind::FUNC,
        ),
    ];
    for (fd, name, target, k) in expected {
        let id = vmlinux
            .find(target, k)
            .unwrap_or_else(|| panic!("{target} not in vmlinux BTF"));
        let info = prog_info(fd).unwrap();
        assert_eq!(info.name, name);
        assert_eq!(info.prog_type, prog_type::BPF_PROG_TYPE_TRACING, "{name}");
        assert_eq!(info.attach_btf_id, id, "{name}: attach_btf_id of {target}");
        assert_ne!(info.attach_btf_obj_id, 0, "{name}: vmlinux BTF object id");
    }
}

#[test]
fn tp_btf_sched_process_fork_counts_forks() {
    let _g = lock();
    require_kernel!();
    let mut open = attach::open();
    open.rodata.target_pid = own_pid();
    let skel = open.load().unwrap();

    // Not attached: nothing counted.
    std::process::Command::new("true").status().unwrap();
    assert_eq!(skel.bss().fork_hits(), 0);

    let link = lskel::attach_raw_tp(skel.progs().on_fork().unwrap(), "").unwrap();
    let mut matched = false;
    for _ in 0..5 {
        let before = skel.bss().fork_hits();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let child_pid = child.id() as i32;
        assert!(child.wait().unwrap().success());
        let b = skel.bss().read();
        assert!(b.fork_hits > before, "spawning a child counted: {b:?}");
        assert_eq!(b.fork_parent, own_pid(), "parent->tgid");
        // Another thread of this process may clone in between; retry then.
        if b.fork_child == child_pid {
            matched = true;
            break;
        }
    }
    assert!(matched, "fork_child never showed the spawned child's pid");

    // A new thread is a clone of this process too: child->pid is its tid.
    let before = skel.bss().fork_hits();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        tx.send(gettid() as i32).unwrap();
    });
    let tid = rx.recv().unwrap();
    t.join().unwrap();
    let b = skel.bss().read();
    assert!(b.fork_hits > before);
    assert!(
        b.fork_child == tid || b.fork_hits > before + 1,
        "fork_child {} != thread {tid}",
        b.fork_child
    );

    drop(link);
    std::thread::sleep(Duration::from_millis(20));
    let after = skel.bss().fork_hits();
    std::process::Command::new("true").status().unwrap();
    assert_eq!(skel.bss().fork_hits(), after, "detached");
}

#[test]
fn tp_btf_with_other_target_pid_ignores_our_forks() {
    let _g = lock();
    require_kernel!();
    let mut open = attach::open();
    // kthreadd: it forks kernel threads, not ours.
    open.rodata.target_pid = 2;
    let skel = open.load().unwrap();
    let _link = lskel::attach_raw_tp(skel.progs().on_fork().unwrap(), "").unwrap();
    std::process::Command::new("true").status().unwrap();
    let b = skel.bss().read();
    assert!(b.fork_hits == 0 || b.fork_parent == 2, "{b:?}");
}

#[test]
fn map_iterator_lists_our_maps() {
    let _g = lock();
    require_kernel!();
    let skel = attach::open().load().unwrap();
    let link = attach_iter(skel.progs().dump_maps().unwrap());
    let out = read_iter(&link);
    let mut ids = Vec::new();
    for line in out.lines() {
        let (id, name) = line.split_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let id: u32 = id.parse().unwrap_or_else(|_| panic!("{line:?}"));
        assert!(name.len() < 16, "{line:?}");
        ids.push((id, name.to_string()));
    }
    let rodata = prog_or_map_id(skel.maps().rodata().fd()).unwrap();
    let bss = prog_or_map_id(skel.maps().bss().fd()).unwrap();
    assert!(
        ids.contains(&(rodata, "attach.rodata".to_string())),
        "attach.rodata ({rodata}) missing:\n{out}"
    );
    assert!(
        ids.contains(&(bss, "attach.bss".to_string())),
        "attach.bss ({bss}) missing:\n{out}"
    );
    // Ids come in increasing order, one line per map.
    assert!(ids.windows(2).all(|w| w[0].0 < w[1].0), "{out}");
    let b = skel.bss().read();
    assert_eq!(b.maps_seen, ids.len() as u64);
    assert_eq!(b.max_map_id, ids.last().unwrap().0);
    assert!(b.max_map_id >= bss.max(rodata));

    // Cumulative over reads.
    let again = read_iter(&link);
    assert_eq!(
        skel.bss().maps_seen(),
        (ids.len() + again.lines().count()) as u64
    );
}

#[test]
fn sleepable_task_iterator_reads_our_argv() {
    let _g = lock();
    require_kernel!();
    let mut open = attach::open();
    open.rodata.target_pid = own_pid();
    let skel = open.load().unwrap();
    let link = attach_iter(skel.progs().dump_tasks_s().unwrap());
    let out = read_iter(&link);

    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    let mut head = [0u8; 8];
    let n = cmdline.len().min(8);
    head[..n].copy_from_slice(&cmdline[..n]);

    let me = own_pid();
    let mut tids = Vec::new();
    for line in out.lines() {
        let mut it = line.splitn(3, ' ');
        let tgid: i32 = it.next().unwrap().parse().unwrap();
        let tid: i32 = it.next().unwrap().parse().unwrap();
        let argv = it.next().unwrap_or("");
        assert_eq!(tgid, me, "only our threads are printed: {line:?}");
        // %s stops at the first NUL of the 8 bytes.
        let first: Vec<u8> = head.iter().copied().take_while(|&c| c != 0).collect();
        assert_eq!(argv.as_bytes(), &first[..], "{line:?}");
        tids.push(tid);
    }
    assert!(tids.contains(&me), "main thread missing:\n{out}");
    assert!(
        tids.contains(&(gettid() as i32)),
        "this thread missing:\n{out}"
    );

    let b = skel.bss().read();
    // A thread that is exiting has no mm: counted, not printed.
    assert!(b.matched_s >= tids.len() as u64, "{b:?}");
    assert_eq!(b.copy_err, 0, "bpf_copy_from_user_task");
    let argv: Vec<u8> = b.argv_head.iter().map(|&c| c as u8).collect();
    assert_eq!(argv, head, "first 8 bytes of /proc/self/cmdline");
    // Every thread of the system was visited, ours among them.
    assert!(b.tasks_seen_s > b.matched_s);
    assert_eq!((b.maps_seen, b.fork_hits), (0, 0), "other programs not run");
}
