//! Concurrency: 8 threads load the same skeleton at the same moment (a `Barrier` releases them
//! together). Every load succeeds with its own maps and programs (distinct kernel ids), each one
//! works on its own (attached and observed, or run with test_run), and once all are dropped no
//! descriptor and no kernel object is left: this process holds no BPF object any more and the
//! kernel has freed every id the skeletons had (other processes' objects are never counted).
//!
//! The tests count this process's descriptors, so they run one at a time.

use std::collections::BTreeSet;
use std::sync::{Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use lskel::sys::bpf;
use lskel::Map;
use lskel_tests::{
    getpid_syscalls, open_fds, own_bpf_objects, require_kernel, run_syscall_prog, wait_freed,
    BpfKind,
};

lskel::bpf_skeleton!("bpf/counter.bpf.o");
lskel::bpf_skeleton!("bpf/maps.bpf.o");

const THREADS: usize = 8;

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A reusable barrier whose wait gives up (panics) after 30 s, so that a thread failing between
/// two meeting points fails the test instead of hanging the others.
struct Meet {
    n: usize,
    state: Mutex<(usize, u64)>,
    cv: Condvar,
}

impl Meet {
    fn new(n: usize) -> Meet {
        Meet {
            n,
            state: Mutex::new((0, 0)),
            cv: Condvar::new(),
        }
    }

    fn wait(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let generation = s.1;
        s.0 += 1;
        if s.0 == self.n {
            *s = (0, generation + 1);
            self.cv.notify_all();
            return;
        }
        let (_s, timeout) = self
            .cv
            .wait_timeout_while(s, Duration::from_secs(30), |s| s.1 == generation)
            .unwrap_or_else(|e| e.into_inner());
        assert!(
            !timeout.timed_out(),
            "another thread did not arrive (it failed)"
        );
    }
}

fn id(fd: impl std::os::fd::AsFd) -> u32 {
    bpf::prog_or_map_id(fd).unwrap()
}

/// Kernel ids one thread's skeleton held.
#[derive(Default)]
struct Ids {
    progs: Vec<u32>,
    maps: Vec<u32>,
    btfs: Vec<u32>,
    links: Vec<u32>,
}

/// Waits (up to 5 s: objects are freed after an RCU grace period) until the kernel has none of
/// `ids` (recorded while held); other processes' objects are not looked at.
fn gone(what: &str, ids: &[u32], kind: BpfKind) {
    wait_freed(what, kind, &ids.iter().copied().collect());
}

/// Ids are distinct across threads, and everything is gone after the drops.
fn check_ids(all: &[Ids], per_thread: (usize, usize, usize)) {
    let flat = |f: fn(&Ids) -> &Vec<u32>| -> Vec<u32> { all.iter().flat_map(f).copied().collect() };
    let (progs, maps, links) = (flat(|i| &i.progs), flat(|i| &i.maps), flat(|i| &i.links));
    let btfs = flat(|i| &i.btfs);
    let distinct = |v: &[u32]| v.iter().collect::<BTreeSet<_>>().len();
    assert_eq!(progs.len(), THREADS * per_thread.0);
    assert_eq!(distinct(&progs), progs.len(), "program ids: {progs:?}");
    assert_eq!(maps.len(), THREADS * per_thread.1);
    assert_eq!(distinct(&maps), maps.len(), "map ids: {maps:?}");
    assert_eq!(links.len(), THREADS * per_thread.2);
    assert_eq!(distinct(&links), links.len(), "link ids: {links:?}");
    assert_eq!(
        distinct(&btfs),
        THREADS,
        "one object BTF per load: {btfs:?}"
    );
    gone("links", &links, BpfKind::Link);
    gone("programs", &progs, BpfKind::Prog);
    gone("maps", &maps, BpfKind::Map);
    gone("BTF objects", &btfs, BpfKind::Btf);
}

#[test]
fn eight_threads_load_counter_at_once() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let objects_before = own_bpf_objects();
    let start = Barrier::new(THREADS);
    let loaded = Meet::new(THREADS);
    let counted = Meet::new(THREADS);
    let t0 = Instant::now();
    let all: Vec<Ids> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (start, loaded, counted) = (&start, &loaded, &counted);
                s.spawn(move || {
                    let mut open = counter::open();
                    // Only this process's syscalls; each skeleton adds its own increment.
                    open.rodata.target_pid = std::process::id() as i32;
                    open.data.increment = t as u64 + 1;
                    start.wait();
                    let skel = open.load();
                    // Every thread reaches this point (a failed load too).
                    loaded.wait();
                    let skel = skel.unwrap_or_else(|e| panic!("thread {t}: {e}"));
                    let prog = skel.progs().count_syscalls().expect("loaded");
                    let link = lskel::attach_raw_tp(prog, "sys_enter")
                        .unwrap_or_else(|e| panic!("thread {t}: attach: {e}"));
                    getpid_syscalls(10);
                    // All 8 programs are attached at the same time while all threads call getpid.
                    counted.wait();
                    getpid_syscalls(10);
                    let count = skel.bss().count();
                    assert!(count >= 10 * (t as u64 + 1), "thread {t}: count {count}");
                    assert_eq!(
                        count % (t as u64 + 1),
                        0,
                        "thread {t}: its own increment only"
                    );
                    let getpid = Map::new(skel.maps().syscall_counts().fd())
                        .unwrap()
                        .get(&(libc::SYS_getpid as u32).to_ne_bytes())
                        .unwrap()
                        .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()));
                    assert!(getpid.unwrap_or(0) >= 10, "thread {t}: getpid {getpid:?}");
                    let m = skel.maps();
                    let ids = Ids {
                        progs: vec![id(prog)],
                        maps: [
                            m.syscall_counts().fd(),
                            m.rodata().fd(),
                            m.data().fd(),
                            m.bss().fd(),
                        ]
                        .into_iter()
                        .map(id)
                        .collect(),
                        btfs: vec![bpf::map_info(m.syscall_counts().fd()).unwrap().btf_id],
                        links: vec![id(link.into_fd())],
                    };
                    // Hold every skeleton until all have read their ids.
                    loaded.wait();
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread panicked"))
            .collect()
    });
    eprintln!("8 concurrent counter loads: {:?}", t0.elapsed());
    // Every fd these loads opened is closed. (The test harness may close an fd of its own
    // meanwhile: only fds that were not open before count.)
    let left: Vec<i32> = open_fds().difference(&fds_before).copied().collect();
    assert!(left.is_empty(), "fds left open: {left:?}");
    // The loaders' maps and programs only exist behind this process's fds: none is held.
    assert_eq!(own_bpf_objects(), objects_before, "BPF objects held");
    check_ids(&all, (1, 4, 1));
}

#[test]
fn eight_threads_load_maps_at_once() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let objects_before = own_bpf_objects();
    let start = Barrier::new(THREADS);
    let loaded = Meet::new(THREADS);
    let all: Vec<Ids> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (start, loaded) = (&start, &loaded);
                s.spawn(move || {
                    let mut open = maps::open();
                    open.maps.small_hash.set_max_entries(4 + t as u32);
                    start.wait();
                    let skel = open.load();
                    loaded.wait();
                    let skel = skel.unwrap_or_else(|e| panic!("thread {t}: {e}"));
                    // args { key @0, value @8 }: key t, value 100 + t.
                    let mut args = [0u8; 16];
                    args[0] = t as u8;
                    args[8..].copy_from_slice(&(100 + t as u64).to_ne_bytes());
                    let prog = skel.progs().write_maps().expect("loaded");
                    run_syscall_prog(prog, &mut args).unwrap();
                    assert_eq!(skel.bss().runs(), 1, "thread {t}: its own .bss");
                    assert_eq!(skel.bss().err_array(), 0);
                    assert_eq!(skel.bss().err_hash(), 0);
                    let m = skel.maps();
                    let small = bpf::map_info(m.small_hash().fd()).unwrap();
                    assert_eq!(small.max_entries, 4 + t as u32, "thread {t}: its own size");
                    let arr = Map::new(m.array_map().fd()).unwrap();
                    for key in 0..16u32 {
                        let v = arr.get(&key.to_ne_bytes()).unwrap().unwrap();
                        let v = u64::from_ne_bytes(v[..8].try_into().unwrap());
                        let want = if key == t as u32 { 100 + t as u64 } else { 0 };
                        assert_eq!(v, want, "thread {t}: array_map[{key}]");
                    }
                    let hash = Map::new(m.hash_map().fd()).unwrap();
                    let keys: Vec<Vec<u8>> = hash.keys().map(|k| k.unwrap()).collect();
                    assert_eq!(keys, vec![(t as u32).to_ne_bytes().to_vec()], "thread {t}");
                    let map_fds = [
                        m.array_map().fd(),
                        m.hash_map().fd(),
                        m.percpu_array().fd(),
                        m.percpu_hash().fd(),
                        m.small_hash().fd(),
                        m.raw_array().fd(),
                        m.ringbuf().fd(),
                        m.bss().fd(),
                    ];
                    let ids = Ids {
                        progs: vec![id(prog)],
                        maps: map_fds.into_iter().map(id).collect(),
                        btfs: vec![bpf::map_info(m.array_map().fd()).unwrap().btf_id],
                        links: Vec::new(),
                    };
                    loaded.wait();
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread panicked"))
            .collect()
    });
    // Every fd these loads opened is closed. (The test harness may close an fd of its own
    // meanwhile: only fds that were not open before count.)
    let left: Vec<i32> = open_fds().difference(&fds_before).copied().collect();
    assert!(left.is_empty(), "fds left open: {left:?}");
    // The loaders' maps and programs only exist behind this process's fds: none is held.
    assert_eq!(own_bpf_objects(), objects_before, "BPF objects held");
    check_ids(&all, (1, 8, 0));
}
