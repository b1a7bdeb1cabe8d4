//! Ownership of what a load creates: every fd, mapping and kernel object of a skeleton goes away
//! when it drops (and nothing is left behind by the loader or by a failed load); two loads are
//! independent; `load_with` log options work.
//!
//! The tests count this process's descriptors, mappings and the BPF objects behind its descriptors
//! (never other processes' objects), so they run one at a time.

use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lskel::sys::bpf;
use lskel::{Errno, Error, LoadOptions, Map, LOADER_MAP_NAME, LOADER_PROG_NAME};
use lskel_tests::{
    open_fds, own_bpf_fds, own_bpf_objects, require_kernel, run_syscall_prog, still_alive, BpfKind,
};

lskel::bpf_skeleton!("bpf/maps.bpf.o");
lskel::bpf_skeleton!("bpf/globals.bpf.o");
lskel::bpf_skeleton!("bpf/tp_btf.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn fd_target(fd: i32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Lines of `/proc/self/maps` backed by a BPF map.
fn bpf_mappings() -> Vec<String> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains("bpf-map") || l.contains("bpf_map"))
        .map(str::to_owned)
        .collect()
}

fn id(fd: BorrowedFd<'_>) -> u32 {
    bpf::prog_or_map_id(fd).unwrap()
}

/// Waits (up to 5 s: maps and BTF are freed after an RCU grace period) until `alive` is false.
fn eventually(what: &str, mut alive: impl FnMut() -> Vec<u32>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = alive();
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what} still alive: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Which of `ids` (recorded while held) the kernel still has.
fn live(ids: &BTreeSet<u32>, kind: BpfKind) -> Vec<u32> {
    still_alive(kind, ids)
}

fn btf_id_of_map(fd: BorrowedFd<'_>) -> u32 {
    bpf::map_info(fd).unwrap().btf_id
}

#[test]
fn drop_closes_every_fd_mapping_and_object() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();

    let skel = maps::open().load().unwrap();
    run_syscall_prog(
        skel.progs().write_maps().unwrap(),
        &mut [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(skel.bss().runs(), 1);

    // Exactly the object's 8 maps and 1 program are new fds: the loader closed its own.
    let fds_loaded = open_fds();
    let new: Vec<i32> = fds_loaded.difference(&fds_before).copied().collect();
    let m = skel.maps();
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
    let prog_fds = [skel.progs().write_maps().unwrap()];
    let mut ours: Vec<i32> = map_fds
        .iter()
        .chain(&prog_fds)
        .map(|f| f.as_raw_fd())
        .collect();
    ours.sort_unstable();
    assert_eq!(new, ours, "new fds after load are exactly the skeleton's");
    for fd in map_fds {
        assert!(fd_target(fd.as_raw_fd()).contains("bpf-map"), "{fd:?}");
    }
    assert!(fd_target(prog_fds[0].as_raw_fd()).contains("bpf-prog"));
    // .bss is mmaped once.
    assert_eq!(bpf_mappings().len(), mappings_before.len() + 1);

    let map_ids: BTreeSet<u32> = map_fds.iter().map(|&f| id(f)).collect();
    let prog_ids: BTreeSet<u32> = prog_fds.iter().map(|&f| id(f)).collect();
    assert_eq!(map_ids.len(), 8);
    let btf_ids: BTreeSet<u32> = map_fds
        .iter()
        .map(|&f| btf_id_of_map(f))
        .chain(prog_fds.iter().map(|&f| bpf::prog_info(f).unwrap().btf_id))
        .filter(|&b| b != 0)
        .collect();
    assert_eq!(
        btf_ids.len(),
        1,
        "one object BTF shared by maps and program"
    );
    assert_eq!(live(&map_ids, BpfKind::Map).len(), 8);
    assert_eq!(live(&prog_ids, BpfKind::Prog).len(), 1);

    drop(skel);

    assert_eq!(open_fds(), fds_before, "every fd closed");
    assert_eq!(bpf_mappings(), mappings_before, "every mapping unmapped");
    eventually("programs", || live(&prog_ids, BpfKind::Prog));
    eventually("maps", || live(&map_ids, BpfKind::Map));
    eventually("object BTF", || live(&btf_ids, BpfKind::Btf));
}

#[test]
fn drop_of_a_skeleton_with_every_global_kind() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let skel = globals::open().load().unwrap();
    let m = skel.maps();
    let map_fds = [
        m.data().fd(),
        m.rodata().fd(),
        m.data_custom().fd(),
        m.rodata_custom().fd(),
        m.bss().fd(),
    ];
    assert_eq!(open_fds().len(), fds_before.len() + 5 + 1);
    assert_eq!(
        bpf_mappings().len(),
        mappings_before.len() + 5,
        "each data section mmaped once"
    );
    let map_ids: BTreeSet<u32> = map_fds.iter().map(|&f| id(f)).collect();
    let prog_ids: BTreeSet<u32> = [id(skel.progs().read_globals().unwrap())].into();
    drop(skel);
    assert_eq!(open_fds(), fds_before);
    assert_eq!(bpf_mappings(), mappings_before);
    eventually("programs", || live(&prog_ids, BpfKind::Prog));
    eventually("maps", || live(&map_ids, BpfKind::Map));
}

#[test]
fn links_keep_programs_alive_until_dropped() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let skel = tp_btf::open().load().unwrap();
    let prog_ids: BTreeSet<u32> = [
        id(skel.progs().btf_sys_enter().unwrap()),
        id(skel.progs().dump_task().unwrap()),
    ]
    .into();
    let link = lskel::attach_raw_tp(skel.progs().btf_sys_enter().unwrap(), "").unwrap();
    drop(skel);
    // The link still holds btf_sys_enter.
    assert_eq!(open_fds().len(), fds_before.len() + 1);
    let alive = live(&prog_ids, BpfKind::Prog);
    assert!(alive.len() == 1 || alive.len() == 2, "{alive:?}");
    drop(link);
    assert_eq!(open_fds(), fds_before);
    eventually("programs", || live(&prog_ids, BpfKind::Prog));
}

/// The names of the maps and programs behind this process's fds that are not in `before`.
fn own_names_since(before: &BTreeSet<(BpfKind, u32)>) -> Vec<(BpfKind, String)> {
    let mut names = Vec::new();
    for (fd, (kind, id)) in own_bpf_fds() {
        if before.contains(&(kind, id)) {
            continue;
        }
        // SAFETY: `fd` is open in this process for the duration of this borrow (listed just now,
        // and the test's own skeleton holds it).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let name = match kind {
            BpfKind::Map => bpf::map_info(fd).unwrap().name,
            BpfKind::Prog => bpf::prog_info(fd).unwrap().name,
            _ => continue,
        };
        names.push((kind, name));
    }
    names.sort();
    names
}

#[test]
fn loader_map_and_program_do_not_survive_the_load() {
    require_kernel!();
    let _g = lock();
    let before = own_bpf_objects();
    let skel = maps::open().load().unwrap();
    // The loader's map and program only exist behind this process's fds: once the load returns
    // none is held, and what is held is exactly the skeleton's.
    let names = own_names_since(&before);
    assert!(
        !names
            .iter()
            .any(|(_, n)| n == LOADER_MAP_NAME || n == LOADER_PROG_NAME),
        "{names:?}"
    );
    let maps: Vec<&str> = names
        .iter()
        .filter(|(k, _)| *k == BpfKind::Map)
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(maps.len(), 8, "{names:?}");
    assert_eq!(maps.iter().filter(|n| **n == "array_map").count(), 1);
    let held: BTreeSet<(BpfKind, u32)> = own_bpf_objects().difference(&before).copied().collect();
    assert!(held.contains(&(BpfKind::Map, id(skel.maps().array_map().fd()))));
    assert_eq!(held.len(), 9, "8 maps and 1 program: {held:?}");
    drop(skel);
    assert_eq!(own_bpf_objects(), before);
}

#[test]
fn failed_load_leaks_nothing() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let objects_before = own_bpf_objects();
    let mut open = maps::open();
    // A ring buffer's size must be a power-of-two multiple of the page size: map creation fails
    // inside the loader, after the maps before it were created.
    open.maps.ringbuf.set_max_entries(5000);
    let err = match open.load() {
        Ok(_) => panic!("a 5000-byte ring buffer was accepted"),
        Err(e) => e,
    };
    assert!(
        matches!(err, Error::Loader { errno, .. } if errno == Errno::INVAL),
        "{err:?}"
    );
    assert_eq!(err.errno(), Some(Errno::INVAL));
    assert_eq!(open_fds(), fds_before, "no fd left open");
    assert_eq!(bpf_mappings(), mappings_before);
    // The maps created before the failing one, and the loader's own map and program, were
    // closed by the loader's cleanup: this process holds no new BPF object.
    assert_eq!(own_bpf_objects(), objects_before, "BPF objects held");

    // The same failure with a log level: still a loader error, still nothing left open.
    let mut open = maps::open();
    open.maps.ringbuf.set_max_entries(5000);
    let err = match open.load_with(&LoadOptions {
        log_level: 1,
        log_size: 0,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    }) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
    assert_eq!(open_fds(), fds_before);
    assert_eq!(own_bpf_objects(), objects_before);
}

#[test]
fn two_loads_are_independent() {
    require_kernel!();
    let _g = lock();
    let a = maps::open().load().unwrap();
    let b = maps::open().load().unwrap();
    assert_ne!(id(a.maps().array_map().fd()), id(b.maps().array_map().fd()));
    assert_ne!(id(a.maps().bss().fd()), id(b.maps().bss().fd()));
    assert_ne!(
        id(a.progs().write_maps().unwrap()),
        id(b.progs().write_maps().unwrap())
    );

    let mut args = [0u8; 16];
    args[0] = 2;
    args[8] = 9;
    run_syscall_prog(a.progs().write_maps().unwrap(), &mut args).unwrap();
    assert_eq!(a.bss().runs(), 1);
    assert_eq!(b.bss().runs(), 0, "b's .bss is its own");
    let key = 2u32.to_ne_bytes();
    let va = Map::new(a.maps().array_map().fd())
        .unwrap()
        .get(&key)
        .unwrap();
    let vb = Map::new(b.maps().array_map().fd())
        .unwrap()
        .get(&key)
        .unwrap();
    assert_eq!(va, Some(9u64.to_ne_bytes().to_vec()));
    assert_eq!(
        vb,
        Some(0u64.to_ne_bytes().to_vec()),
        "b's array is untouched"
    );
    assert_eq!(
        Map::new(b.maps().hash_map().fd()).unwrap().keys().count(),
        0,
        "b's hash is empty"
    );

    // Dropping one leaves the other working.
    drop(a);
    run_syscall_prog(b.progs().write_maps().unwrap(), &mut args).unwrap();
    assert_eq!(b.bss().runs(), 1);
}

#[test]
fn load_with_log_level_works() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    for opts in [
        LoadOptions {
            log_level: 1,
            log_size: 0,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        },
        LoadOptions {
            log_level: 2,
            log_size: 0,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        },
        LoadOptions {
            log_level: 1,
            log_size: 1 << 20,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        },
    ] {
        let skel = maps::open()
            .load_with(&opts)
            .unwrap_or_else(|e| panic!("{opts:?}: {e}"));
        let mut args = [0u8; 16];
        args[8] = 3;
        run_syscall_prog(skel.progs().write_maps().unwrap(), &mut args).unwrap();
        assert_eq!(skel.bss().runs(), 1, "{opts:?}");
        assert_eq!(skel.bss().err_array(), 0, "{opts:?}");

        let mut open = globals::open();
        open.rodata.knob = 4;
        let g = open.load_with(&opts).unwrap();
        run_syscall_prog(g.progs().read_globals().unwrap(), &mut []).unwrap();
        assert_eq!(g.bss().out_knob2(), 8, "{opts:?}");
    }
    assert_eq!(open_fds(), fds_before);
}

#[test]
fn open_skeleton_dropped_without_load_opens_nothing() {
    require_kernel!();
    let _g = lock();
    let fds_before = open_fds();
    let mut open = maps::open();
    open.maps.small_hash.set_max_entries(100);
    drop(open);
    let _ = globals::open();
    assert_eq!(open_fds(), fds_before);
}
