//! Map-type breadth: maptypes.bpf.o (LRU, LPM trie, perf event array sized at load time, stack trace,
//! cgroup array, prog array), queues.bpf.o (queue, stack, bloom filter), netmaps.bpf.o (devmap,
//! devmap hash, cpumap, xskmap, sockmap, sockhash, reuseport array) and cgstorage.bpf.o (cgroup
//! storage, per-CPU cgroup storage). Each map's kernel info is checked, then a few behaviours.

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use lskel::sys::bpf::{map_info, prog_or_map_id, prog_test_run, LinkTarget, TestRunAttr};
use lskel::{possible_cpus, Map};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/maptypes.bpf.o");
lskel::bpf_skeleton!("bpf/queues.bpf.o");
lskel::bpf_skeleton!("bpf/netmaps.bpf.o");
lskel::bpf_skeleton!("bpf/cgstorage.bpf.o");

const BPF_F_NO_PREALLOC: u32 = 1;
const BPF_F_RDONLY_PROG: u32 = 1 << 7;

/// (type, key_size, value_size, max_entries, map_flags, map_extra) as the kernel reports it.
fn info(fd: BorrowedFd<'_>) -> (u32, u32, u32, u32, u32, u64) {
    let i = map_info(fd).unwrap();
    (
        i.map_type,
        i.key_size,
        i.value_size,
        i.max_entries,
        i.map_flags,
        i.map_extra,
    )
}

/// Runs a raw_tp program with `args[0] = op, args[1] = arg`; returns its return value.
fn raw_tp_run(prog: BorrowedFd<'_>, op: u64, arg: u64) -> u32 {
    let mut ctx = [0u8; 16];
    ctx[..8].copy_from_slice(&op.to_ne_bytes());
    ctx[8..].copy_from_slice(&arg.to_ne_bytes());
    run_syscall_prog(prog, &mut ctx).unwrap()
}

fn u64_of(v: &[u8]) -> u64 {
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

fn u32_of(v: &[u8]) -> u32 {
    u32::from_ne_bytes(v[..4].try_into().unwrap())
}

/// The cgroup v2 mount point (from /proc/self/mountinfo).
fn cgroup2_root() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split(' ').next()? == "cgroup2").then(|| pre.split(' ').nth(4).unwrap().to_string())
    })
}

fn open_dir(path: &str) -> OwnedFd {
    let c = CString::new(path).unwrap();
    // SAFETY: a valid NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A child cgroup (no processes), removed on drop.
struct ChildCgroup(String);

impl ChildCgroup {
    fn new(root: &str, tag: &str) -> ChildCgroup {
        let path = format!("{root}/lskel_{tag}_{}", std::process::id());
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {path}: {e}"));
        ChildCgroup(path)
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

// ------------------------------------------------------------------------------------------------
// maptypes.bpf.o

#[test]
fn maptypes_maps_have_the_declared_shapes() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    let m = skel.maps();
    let cpus = possible_cpus().unwrap() as u32;
    assert_eq!(info(m.jmp().fd()), (3, 4, 4, 4, 0, 0), "PROG_ARRAY");
    assert_eq!(info(m.lru_hash().fd()), (9, 4, 8, 8, 0, 0), "LRU_HASH");
    assert_eq!(
        info(m.lru_percpu_hash().fd()),
        (10, 4, 8, 8, 0, 0),
        "LRU_PERCPU_HASH"
    );
    assert_eq!(
        info(m.lpm().fd()),
        (11, 8, 4, 16, BPF_F_NO_PREALLOC, 0),
        "LPM_TRIE"
    );
    assert_eq!(
        info(m.perf_events().fd()),
        (4, 4, 4, cpus, 0, 0),
        "PERF_EVENT_ARRAY without max_entries: one slot per possible CPU"
    );
    assert_eq!(
        info(m.stacks().fd()),
        (7, 4, 127 * 8, 64, 0, 0),
        "STACK_TRACE"
    );
    assert_eq!(info(m.cgroups().fd()), (8, 4, 4, 2, 0, 0), "CGROUP_ARRAY");
    // BTF key/value types where the kernel takes them.
    let lpm = map_info(m.lpm().fd()).unwrap();
    assert_ne!(lpm.btf_key_type_id, 0, "LPM_TRIE keeps its BTF key type");
}

#[test]
fn perf_event_array_size_can_still_be_overridden() {
    require_kernel!();
    let mut open = maptypes::open();
    assert_eq!(
        open.maps.perf_events.max_entries(),
        0,
        "declared without max_entries"
    );
    open.maps.perf_events.set_max_entries(7);
    let skel = open.load().unwrap();
    assert_eq!(info(skel.maps().perf_events().fd()).3, 7);
}

#[test]
fn lru_hashes_evict_and_keep_the_newest() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    let prog = skel.progs().mt_run().unwrap();
    for k in 0..20u64 {
        assert_eq!(raw_tp_run(prog, 1, k), 1);
        let b = skel.bss().read();
        assert_eq!((b.out_lru_err, b.out_lru_percpu_err), (0, 0), "key {k}");
    }
    let lru = Map::new(skel.maps().lru_hash().fd()).unwrap();
    let n = lru.keys().count();
    assert!(
        (1..=8).contains(&n),
        "LRU holds at most max_entries keys, got {n}"
    );
    assert_eq!(
        lru.get(&19u32.to_ne_bytes()).unwrap().map(|v| u64_of(&v)),
        Some(190),
        "the newest key survives"
    );
    let pl = Map::new(skel.maps().lru_percpu_hash().fd()).unwrap();
    assert!(pl.is_percpu());
    let per_cpu = pl.lookup_percpu(&19u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(per_cpu.len(), possible_cpus().unwrap());
    assert_eq!(per_cpu.iter().map(|v| u64_of(v)).sum::<u64>(), 20);
    assert!(pl.keys().count() <= 8);
}

fn lpm_key(prefix: u32, addr: [u8; 4]) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&prefix.to_ne_bytes());
    k[4..].copy_from_slice(&addr);
    k
}

#[test]
fn lpm_trie_finds_the_longest_prefix() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    let lpm = Map::new(skel.maps().lpm().fd()).unwrap();
    for (prefix, addr, v) in [
        (8, [10, 0, 0, 0], 1u32),
        (16, [10, 1, 0, 0], 2),
        (24, [10, 1, 2, 0], 3),
        (32, [10, 1, 2, 3], 4),
    ] {
        lpm.update(&lpm_key(prefix, addr), &v.to_ne_bytes(), 0)
            .unwrap();
    }
    let prog = skel.progs().mt_run().unwrap();
    let lookup = |addr: [u8; 4]| {
        raw_tp_run(prog, 2, u64::from(u32::from_ne_bytes(addr)));
        skel.bss().out_lpm()
    };
    assert_eq!(lookup([10, 1, 2, 3]), 4, "/32 exact");
    assert_eq!(lookup([10, 1, 2, 4]), 3, "/24");
    assert_eq!(lookup([10, 1, 9, 9]), 2, "/16");
    assert_eq!(lookup([10, 200, 0, 1]), 1, "/8");
    assert_eq!(lookup([11, 1, 2, 3]), 0, "no prefix matches");
    // The same from user space.
    assert_eq!(
        lpm.get(&lpm_key(32, [10, 1, 7, 7]))
            .unwrap()
            .map(|v| u32_of(&v)),
        Some(2)
    );
    assert!(lpm.delete(&lpm_key(16, [10, 1, 0, 0])).unwrap());
    assert_eq!(lookup([10, 1, 9, 9]), 1, "/16 gone: the /8 matches");
}

/// `perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, sample_type RAW)` on `cpu`.
fn bpf_output_event(cpu: i32) -> OwnedFd {
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&1u32.to_ne_bytes()); // type PERF_TYPE_SOFTWARE
    attr[4..8].copy_from_slice(&128u32.to_ne_bytes()); // size
    attr[8..16].copy_from_slice(&10u64.to_ne_bytes()); // config PERF_COUNT_SW_BPF_OUTPUT
    attr[16..24].copy_from_slice(&1u64.to_ne_bytes()); // sample_period
    attr[24..32].copy_from_slice(&(1u64 << 10).to_ne_bytes()); // sample_type PERF_SAMPLE_RAW
    attr[48..52].copy_from_slice(&1u32.to_ne_bytes()); // wakeup_events
                                                       // SAFETY: attr is a live 128-byte perf_event_attr with size = 128.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1i32,
            cpu,
            -1i32,
            8u64, // PERF_FLAG_FD_CLOEXEC
        )
    };
    assert!(
        fd >= 0,
        "perf_event_open cpu {cpu}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// A perf event's ring (1 header page + 1 data page), mapped from user space: without a ring,
/// `bpf_perf_event_output` fails with -ENOSPC.
struct PerfRing {
    base: *mut libc::c_void,
    page: usize,
}

impl PerfRing {
    fn new(fd: BorrowedFd<'_>) -> PerfRing {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a shared mapping of a perf event fd, checked below, unmapped on drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            base,
            libc::MAP_FAILED,
            "{}",
            std::io::Error::last_os_error()
        );
        PerfRing { base, page }
    }

    /// The RAW payloads of the PERF_RECORD_SAMPLE records written so far.
    fn samples(&self) -> Vec<Vec<u8>> {
        // SAFETY: perf_event_mmap_page.data_head is at 0x400 of the mapped header page.
        let head =
            unsafe { std::ptr::read_volatile((self.base as *const u8).add(0x400) as *const u64) };
        // SAFETY: the data page follows the header page; `head` stays below one page here.
        let data = unsafe {
            std::slice::from_raw_parts((self.base as *const u8).add(self.page), self.page)
        };
        let mut out = Vec::new();
        let mut off = 0usize;
        while (off as u64) < head {
            let ty = u32_of(&data[off..]);
            let size = u16::from_ne_bytes(data[off + 6..off + 8].try_into().unwrap()) as usize;
            if ty == 9 {
                // PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: u32 size, then the bytes.
                let raw = u32_of(&data[off + 8..]) as usize;
                out.push(data[off + 12..off + 12 + raw].to_vec());
            }
            off += size;
        }
        out
    }
}

impl Drop for PerfRing {
    fn drop(&mut self) {
        // SAFETY: unmapping what new() mapped.
        unsafe { libc::munmap(self.base, 2 * self.page) };
    }
}

#[test]
fn perf_event_array_delivers_to_the_event_of_the_cpu() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    let prog = skel.progs().mt_run().unwrap();
    raw_tp_run(prog, 3, 7);
    assert_eq!(skel.bss().out_perf_err(), -2, "empty slot: -ENOENT");

    let cpus = possible_cpus().unwrap();
    let events: Vec<OwnedFd> = (0..cpus as i32).map(bpf_output_event).collect();
    let pa = Map::new(skel.maps().perf_events().fd()).unwrap();
    for (cpu, ev) in events.iter().enumerate() {
        pa.update(
            &(cpu as u32).to_ne_bytes(),
            &(ev.as_raw_fd() as u32).to_ne_bytes(),
            0,
        )
        .unwrap();
    }
    let rings: Vec<PerfRing> = events.iter().map(|e| PerfRing::new(e.as_fd())).collect();
    raw_tp_run(prog, 3, 0x1122_3344_5566_7788);
    assert_eq!(skel.bss().out_perf_err(), 0);
    let samples: Vec<Vec<u8>> = rings.iter().flat_map(PerfRing::samples).collect();
    assert_eq!(
        samples.len(),
        1,
        "one sample, on the CPU that ran the program"
    );
    assert!(samples[0].len() >= 8);
    assert_eq!(u64_of(&samples[0]), 0x1122_3344_5566_7788);
}

#[test]
fn stack_trace_map_stores_the_kernel_stack() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    raw_tp_run(skel.progs().mt_run().unwrap(), 4, 0);
    let id = skel.bss().out_stackid();
    assert!(id >= 0, "bpf_get_stackid: {id}");
    let stacks = Map::new(skel.maps().stacks().fd()).unwrap();
    let frames = stacks.get(&(id as u32).to_ne_bytes()).unwrap().unwrap();
    assert_eq!(frames.len(), 127 * 8);
    let first = u64_of(&frames);
    assert!(
        first >= 0xffff_0000_0000_0000,
        "a kernel address, got {first:#x}"
    );
}

#[test]
fn cgroup_array_tells_whether_current_is_under_the_cgroup() {
    require_kernel!();
    let Some(root) = cgroup2_root() else {
        eprintln!("skipping: no cgroup2 mount");
        return;
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let v2_path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_string();
    let skel = maptypes::open().load().unwrap();
    let prog = skel.progs().mt_run().unwrap();
    raw_tp_run(prog, 5, 0);
    assert_eq!(skel.bss().out_under_cgroup(), -11, "empty slot: -EAGAIN");
    raw_tp_run(prog, 5, 2);
    assert_eq!(
        skel.bss().out_under_cgroup(),
        -7,
        "index >= max_entries: -E2BIG"
    );

    let child = ChildCgroup::new(&root, "maptypes");
    let own_dir = open_dir(&format!("{root}{v2_path}"));
    let child_dir = open_dir(&child.0);
    let cg = Map::new(skel.maps().cgroups().fd()).unwrap();
    let set = |slot: u32, fd: &OwnedFd| {
        cg.update(
            &slot.to_ne_bytes(),
            &(fd.as_raw_fd() as u32).to_ne_bytes(),
            0,
        )
        .unwrap()
    };
    set(0, &own_dir);
    set(1, &child_dir);
    raw_tp_run(prog, 5, 0);
    let own_result = skel.bss().out_under_cgroup();
    raw_tp_run(prog, 5, 1);
    let child_result = skel.bss().out_under_cgroup();
    assert_eq!(own_result, 1, "this process is in {v2_path}");
    assert_eq!(
        child_result, 0,
        "this process is not in the empty child cgroup"
    );
}

#[test]
fn prog_array_static_slot_tail_calls() {
    require_kernel!();
    let skel = maptypes::open().load().unwrap();
    let prog = skel.progs().mt_run().unwrap();
    assert_eq!(raw_tp_run(prog, 6, 1), 100, "slot 1 = mt_tail");
    assert_eq!(skel.bss().tail_hits(), 1);
    assert_eq!(skel.bss().out_tail_fallthrough(), 0);
    assert_eq!(raw_tp_run(prog, 6, 0), 6, "slot 0 is empty: falls through");
    assert_eq!(skel.bss().out_tail_fallthrough(), 1);
    let jmp = Map::new(skel.maps().jmp().fd()).unwrap();
    let slot = jmp.get(&1u32.to_ne_bytes()).unwrap().map(|v| u32_of(&v));
    assert_eq!(
        slot,
        Some(prog_or_map_id(skel.progs().mt_tail().unwrap()).unwrap()),
        "user space sees the program id"
    );
}

// ------------------------------------------------------------------------------------------------
// queues.bpf.o

fn q(skel: &queues::Skel, op: u64, value: u64) -> queues::Bss {
    raw_tp_run(skel.progs().q_run().unwrap(), op, value);
    skel.bss().read()
}

#[test]
fn queues_maps_have_the_declared_shapes() {
    require_kernel!();
    let skel = queues::open().load().unwrap();
    let m = skel.maps();
    assert_eq!(info(m.queue().fd()), (22, 0, 4, 4, 0, 0), "QUEUE");
    assert_eq!(info(m.stack().fd()), (23, 0, 4, 4, 0, 0), "STACK");
    assert_eq!(
        info(m.bloom().fd()),
        (30, 0, 4, 64, 0, 3),
        "BLOOM_FILTER with map_extra = 3 hash functions"
    );
}

#[test]
fn queue_is_fifo_and_stack_is_lifo() {
    require_kernel!();
    let skel = queues::open().load().unwrap();
    for v in [1, 2, 3] {
        let b = q(&skel, 1, v);
        assert_eq!((b.err_queue, b.err_stack), (0, 0));
    }
    // Peek from user space (BPF_MAP_LOOKUP_ELEM without a key).
    let queue = Map::new(skel.maps().queue().fd()).unwrap();
    let stack = Map::new(skel.maps().stack().fd()).unwrap();
    assert_eq!(queue.get(&[]).unwrap().map(|v| u32_of(&v)), Some(1));
    assert_eq!(stack.get(&[]).unwrap().map(|v| u32_of(&v)), Some(3));

    let mut popped = Vec::new();
    for _ in 0..3 {
        let b = q(&skel, 2, 0);
        assert_eq!((b.err_queue, b.err_stack), (0, 0));
        popped.push((b.out_queue, b.out_stack));
    }
    assert_eq!(popped, vec![(1, 3), (2, 2), (3, 1)]);
    let b = q(&skel, 2, 0);
    assert_eq!((b.err_queue, b.err_stack), (-2, -2), "empty: -ENOENT");
    assert_eq!(queue.get(&[]).unwrap(), None);

    // Full at max_entries = 4: the 5th push is refused with -E2BIG.
    for v in 10..14 {
        assert_eq!(q(&skel, 1, v).err_queue, 0);
    }
    let b = q(&skel, 1, 14);
    assert_eq!((b.err_queue, b.err_stack), (-7, -7));
    // User space pushes too (BPF_MAP_UPDATE_ELEM without a key) once there is room.
    q(&skel, 2, 0);
    queue.update(&[], &99u32.to_ne_bytes(), 0).unwrap();
    let order: Vec<u32> = (0..4).map(|_| q(&skel, 2, 0).out_queue).collect();
    assert_eq!(order, vec![11, 12, 13, 99]);
}

#[test]
fn bloom_filter_answers_membership() {
    require_kernel!();
    let skel = queues::open().load().unwrap();
    for v in [10, 20, 30] {
        assert_eq!(q(&skel, 1, v).err_bloom, 0);
    }
    for v in [10, 20, 30] {
        assert_eq!(q(&skel, 3, v).err_bloom, 0, "{v} was added");
    }
    // Absent values are (almost always: false positives are possible) reported absent.
    let absent = (1000..1020)
        .filter(|&v| q(&skel, 3, v).err_bloom == -2)
        .count();
    assert!(
        absent >= 19,
        "only {absent} of 20 absent values were reported absent"
    );

    // From user space: add (update without key) and test (lookup with the value as input).
    let bloom = Map::new(skel.maps().bloom().fd()).unwrap();
    bloom.update(&[], &77u32.to_ne_bytes(), 0).unwrap();
    assert_eq!(q(&skel, 3, 77).err_bloom, 0, "added by user space");
    let mut v = 20u32.to_ne_bytes();
    assert!(bloom.lookup(&[], &mut v).unwrap(), "20 is in");
    let mut v = 5555u32.to_ne_bytes();
    assert!(!bloom.lookup(&[], &mut v).unwrap(), "5555 is not");
}

// ------------------------------------------------------------------------------------------------
// netmaps.bpf.o

const XDP_PASS: u32 = 2;
const XDP_REDIRECT: u32 = 4;

fn xdp_run(skel: &mut netmaps::Skel, which: u32, key: u32) -> u32 {
    skel.bss().set_which(which);
    skel.bss().set_key(key);
    let frame = [0u8; 64];
    let mut out = [0u8; 64];
    let attr = TestRunAttr {
        data_in: &frame,
        data_out: Some(&mut out),
        ..Default::default()
    };
    prog_test_run(skel.progs().xdp_redir().unwrap(), attr)
        .unwrap()
        .retval
}

fn so_cookie(fd: BorrowedFd<'_>) -> u64 {
    let mut cookie = 0u64;
    let mut len = 8 as libc::socklen_t;
    // SAFETY: cookie/len are live and sized for SO_COOKIE (u64).
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    cookie
}

#[test]
fn netmaps_maps_have_the_declared_shapes() {
    require_kernel!();
    let skel = netmaps::open().load().unwrap();
    let m = skel.maps();
    // The kernel adds BPF_F_RDONLY_PROG to both devmaps (libbpf's maps show 0x80 as well).
    assert_eq!(
        info(m.devmap().fd()),
        (14, 4, 8, 4, BPF_F_RDONLY_PROG, 0),
        "DEVMAP"
    );
    assert_eq!(
        info(m.devmap_hash().fd()),
        (25, 4, 4, 4, BPF_F_RDONLY_PROG, 0),
        "DEVMAP_HASH"
    );
    assert_eq!(info(m.cpumap().fd()), (16, 4, 8, 2, 0, 0), "CPUMAP");
    assert_eq!(info(m.xskmap().fd()), (17, 4, 4, 4, 0, 0), "XSKMAP");
    assert_eq!(info(m.sockmap().fd()), (15, 4, 8, 4, 0, 0), "SOCKMAP");
    assert_eq!(info(m.sockhash().fd()), (18, 4, 8, 4, 0, 0), "SOCKHASH");
    assert_eq!(
        info(m.reuseport().fd()),
        (20, 4, 8, 4, 0, 0),
        "REUSEPORT_SOCKARRAY"
    );
}

#[test]
fn xdp_redirect_maps_redirect_only_to_filled_slots() {
    require_kernel!();
    let mut skel = netmaps::open().load().unwrap();
    for which in 0..4 {
        assert_eq!(xdp_run(&mut skel, which, 0), XDP_PASS, "map {which} empty");
    }
    let lo = 1u32; // the loopback device's ifindex
    let m = skel.maps();
    // struct bpf_devmap_val { u32 ifindex; u32 prog fd (0: none) }
    let mut devval = [0u8; 8];
    devval[..4].copy_from_slice(&lo.to_ne_bytes());
    Map::new(m.devmap().fd())
        .unwrap()
        .update(&0u32.to_ne_bytes(), &devval, 0)
        .unwrap();
    Map::new(m.devmap_hash().fd())
        .unwrap()
        .update(&5u32.to_ne_bytes(), &lo.to_ne_bytes(), 0)
        .unwrap();
    // struct bpf_cpumap_val { u32 qsize; u32 prog fd (0: none) }
    let mut cpuval = [0u8; 8];
    cpuval[..4].copy_from_slice(&192u32.to_ne_bytes());
    Map::new(m.cpumap().fd())
        .unwrap()
        .update(&0u32.to_ne_bytes(), &cpuval, 0)
        .unwrap();
    let got = Map::new(m.devmap().fd())
        .unwrap()
        .get(&0u32.to_ne_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(u32_of(&got), lo);

    assert_eq!(xdp_run(&mut skel, 0, 0), XDP_REDIRECT, "devmap[0] = lo");
    assert_eq!(xdp_run(&mut skel, 0, 1), XDP_PASS);
    assert_eq!(
        xdp_run(&mut skel, 1, 5),
        XDP_REDIRECT,
        "devmap_hash[5] = lo"
    );
    assert_eq!(xdp_run(&mut skel, 1, 0), XDP_PASS);
    assert_eq!(xdp_run(&mut skel, 2, 0), XDP_REDIRECT, "cpumap[0]");
    assert_eq!(xdp_run(&mut skel, 2, 1), XDP_PASS);
    assert_eq!(xdp_run(&mut skel, 3, 0), XDP_PASS, "xskmap stays empty");
    assert_eq!(skel.bss().runs(), 11);
}

#[test]
fn sock_maps_take_sockets_and_report_cookies() {
    require_kernel!();
    let skel = netmaps::open().load().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let cookie = so_cookie(client.as_fd());

    let fdval = (client.as_raw_fd() as u64).to_ne_bytes();
    let sockmap = Map::new(skel.maps().sockmap().fd()).unwrap();
    sockmap.update(&2u32.to_ne_bytes(), &fdval, 0).unwrap();
    assert_eq!(
        sockmap
            .get(&2u32.to_ne_bytes())
            .unwrap()
            .map(|v| u64_of(&v)),
        Some(cookie),
        "a SOCKMAP lookup gives the socket cookie"
    );
    let sockhash = Map::new(skel.maps().sockhash().fd()).unwrap();
    sockhash.update(&77u32.to_ne_bytes(), &fdval, 0).unwrap();
    assert_eq!(
        sockhash
            .get(&77u32.to_ne_bytes())
            .unwrap()
            .map(|v| u64_of(&v)),
        Some(cookie)
    );
    // The sockets still work with no verdict program attached.
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    assert!(sockmap.delete(&2u32.to_ne_bytes()).unwrap());
    assert!(sockhash.delete(&77u32.to_ne_bytes()).unwrap());
}

#[test]
fn reuseport_sockarray_takes_a_reuseport_socket() {
    require_kernel!();
    let skel = netmaps::open().load().unwrap();
    // SAFETY: plain socket calls on a descriptor we own, with live, correctly sized arguments.
    let sock = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let sock = OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        assert_eq!(
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEPORT,
                (&one as *const libc::c_int).cast(),
                4
            ),
            0
        );
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        assert_eq!(
            libc::bind(
                fd,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32
            ),
            0,
            "{}",
            std::io::Error::last_os_error()
        );
        sock
    };
    let cookie = so_cookie(sock.as_fd());
    let ra = Map::new(skel.maps().reuseport().fd()).unwrap();
    ra.update(
        &1u32.to_ne_bytes(),
        &(sock.as_raw_fd() as u64).to_ne_bytes(),
        0,
    )
    .unwrap();
    assert_eq!(
        ra.get(&1u32.to_ne_bytes()).unwrap().map(|v| u64_of(&v)),
        Some(cookie)
    );
    assert_eq!(ra.get(&0u32.to_ne_bytes()).unwrap(), None);
}

// ------------------------------------------------------------------------------------------------
// cgstorage.bpf.o

#[test]
fn cgroup_storage_maps_have_the_declared_shapes() {
    require_kernel!();
    let skel = cgstorage::open().load().unwrap();
    let m = skel.maps();
    // key struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; } = 16 bytes
    assert_eq!(
        info(m.cg_store().fd()),
        (19, 16, 16, 0, 0, 0),
        "CGROUP_STORAGE"
    );
    assert_eq!(
        info(m.pcpu_store().fd()),
        (21, 16, 8, 0, 0, 0),
        "PERCPU_CGROUP_STORAGE"
    );
}

#[test]
fn cgroup_storage_lives_for_one_test_run() {
    require_kernel!();
    let skel = cgstorage::open().load().unwrap();
    let frame = [0u8; 64];
    let run = |repeat: u32| {
        let attr = TestRunAttr {
            data_in: &frame,
            repeat,
            ..Default::default()
        };
        prog_test_run(skel.progs().cg_egress().unwrap(), attr)
            .unwrap()
            .retval
    };
    assert_eq!(run(5), 1);
    let b = skel.bss().read();
    assert_eq!((b.runs, b.out_packets, b.out_bytes), (5, 5, 5 * 50));
    assert_eq!(run(1), 1);
    let b = skel.bss().read();
    assert_eq!(
        (b.runs, b.out_packets, b.out_bytes),
        (6, 1, 50),
        "a fresh storage for each test run"
    );
}

#[test]
fn cgroup_storage_appears_when_attached() {
    require_kernel!();
    let Some(root) = cgroup2_root() else {
        eprintln!("skipping: no cgroup2 mount");
        return;
    };
    let child = ChildCgroup::new(&root, "cgstorage");
    let skel = cgstorage::open().load().unwrap();
    let ino = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&child.0).unwrap().ino()
    };
    let dir = open_dir(&child.0);
    const BPF_CGROUP_INET_EGRESS: u32 = 1;
    let _link = lskel::attach_link(
        skel.progs().cg_egress().unwrap(),
        LinkTarget::Fd(dir.as_fd()),
        BPF_CGROUP_INET_EGRESS,
        0,
    )
    .unwrap();
    let cg = Map::new(skel.maps().cg_store().fd()).unwrap();
    let keys: Vec<Vec<u8>> = cg.keys().map(Result::unwrap).collect();
    let mut want = [0u8; 16];
    want[..8].copy_from_slice(&ino.to_ne_bytes());
    want[8..12].copy_from_slice(&BPF_CGROUP_INET_EGRESS.to_ne_bytes());
    assert_eq!(
        keys,
        vec![want.to_vec()],
        "one storage: (cgroup id, EGRESS)"
    );
    assert_eq!(cg.get(&want).unwrap(), Some(vec![0u8; 16]), "no packet yet");
    let pc = Map::new(skel.maps().pcpu_store().fd()).unwrap();
    let slots = pc.lookup_percpu(&want).unwrap().unwrap();
    assert_eq!(slots.len(), possible_cpus().unwrap());
    // User space can write the storage.
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&3u64.to_ne_bytes());
    cg.update(&want, &v, 0).unwrap();
    assert_eq!(cg.get(&want).unwrap().map(|v| u64_of(&v)), Some(3));
}
