//! Leaks: failed loads at several real steps, and thousands of load/attach/drop cycles, leave no
//! file descriptor, mapping or kernel object (program, map, BTF, link) behind.
//!
//! Only what this process holds is counted, so the tests pass while anything else on the host
//! (another run of them, other BPF users) loads BPF: its descriptors (`/proc/self/fd`), its
//! mappings (`/proc/self/maps`) and the BPF objects behind its descriptors (kind and id from
//! `/proc/self/fdinfo`). That the kernel freed an object is checked on the ids recorded while it
//! was held (`BPF_*_GET_FD_BY_ID` returns ENOENT), polled for up to 5 s since objects are freed
//! after an RCU grace period. The loader's own map and program only ever exist behind this
//! process's descriptors, so a loader object left alive shows as a descriptor left open.
//!
//! The tests count process-wide state, so they run one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use lskel::abi::LoaderCtx;
use lskel::sys::bpf;
use lskel::{Errno, Error, LoadOptions};
use lskel_tests::{
    fixture, getpid_syscalls, open_fds, own_bpf_objects, require_kernel, still_alive, wait_freed,
    BpfKind,
};

lskel::bpf_skeleton!("bpf/maps.bpf.o");
lskel::bpf_skeleton!("bpf/kconfig.bpf.o");
lskel::bpf_skeleton!("bpf/counter.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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

// ------------------------------------------------------------------------------------------------
// What this process holds

/// The objects of this process's descriptors that are not in `before`, by kind.
fn new_objects(before: &BTreeSet<(BpfKind, u32)>) -> BTreeMap<BpfKind, BTreeSet<u32>> {
    let mut by_kind: BTreeMap<BpfKind, BTreeSet<u32>> = BTreeMap::new();
    for (kind, id) in own_bpf_objects().difference(before) {
        by_kind.entry(*kind).or_default().insert(*id);
    }
    by_kind
}

/// This process holds exactly the BPF objects of `before` again, and the kernel has freed
/// every object of `seen` (ids recorded while they were held).
fn all_freed(
    what: &str,
    before: &BTreeSet<(BpfKind, u32)>,
    seen: &BTreeMap<BpfKind, BTreeSet<u32>>,
) {
    assert_eq!(
        &own_bpf_objects(),
        before,
        "{what}: BPF objects held by fds"
    );
    for (kind, ids) in seen {
        wait_freed(&format!("{what}: {kind:?} freed"), *kind, ids);
    }
}

/// The leak detector itself: it sees every kind of object a live skeleton holds, and nothing
/// once the skeleton is gone.
#[test]
fn detector_sees_live_objects() {
    require_kernel!();
    let _g = lock();
    let before = own_bpf_objects();
    let skel = counter::open().load().unwrap();
    let link = lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter").unwrap();
    let mut seen = new_objects(&before);
    let count = |k| seen.get(&k).map_or(0, BTreeSet::len);
    assert_eq!(
        (
            count(BpfKind::Prog),
            count(BpfKind::Map),
            count(BpfKind::Link)
        ),
        (1, 4, 1),
        "{seen:?}"
    );
    // The object BTF is held by the maps and the program, not by an fd of ours.
    let btf = bpf::map_info(skel.maps().syscall_counts().fd())
        .unwrap()
        .btf_id;
    assert_ne!(btf, 0);
    seen.entry(BpfKind::Btf).or_default().insert(btf);
    assert!(still_alive(BpfKind::Btf, &seen[&BpfKind::Btf]) == vec![btf]);
    drop(link);
    drop(skel);
    all_freed("counter", &before, &seen);
}

// ------------------------------------------------------------------------------------------------
// (a) failed loads

/// Checks that `load` fails as `check` wants and leaves no fd, mapping or object of `path`.
fn failed_load_leaves_nothing(
    what: &str,
    path: &Path,
    load: impl Fn() -> Error,
    check: impl Fn(&Error),
) {
    assert!(path.exists(), "{}", path.display());
    // The same failure three times: nothing accumulates either. What the loader creates lives
    // in this process's descriptors (the loader's map and program, the maps and programs made
    // before the failure) until the runtime closes them: none may be left open.
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let before = own_bpf_objects();
    for _ in 0..3 {
        let err = load();
        check(&err);
        eprintln!(
            "{what}: {}",
            err.to_string().lines().next().unwrap_or_default()
        );
    }
    assert_eq!(open_fds(), fds_before, "{what}: no fd left open");
    assert_eq!(bpf_mappings(), mappings_before, "{what}: no mapping left");
    assert_eq!(own_bpf_objects(), before, "{what}: no BPF object held");
}

/// Loads fixture `name` through a runtime-generated loader (as load_all does); `None` if the
/// fixture does not exist (yet).
fn load_fixture(name: &str, log_level: u32) -> Option<lskel::Result<lskel::LoadedFds>> {
    let path = fixture(&format!("{name}.bpf.o"));
    let data = std::fs::read(&path).ok()?;
    let skel = lskel_gen::generate(&data, name).unwrap();
    let mut ctx = LoaderCtx::new(skel.plan.maps.len(), skel.plan.programs.len());
    let opts = LoadOptions {
        log_level,
        log_size: 0,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    // SAFETY: the loader lskel-gen generated for this ctx's layout; the ctx holds no address.
    let area = skel.loader.ctx_area.map(|a| a as usize);
    // SAFETY: as above; `area` is where an interpreter loader leaves its fds.
    Some(unsafe {
        lskel::bpf_load_and_run_at(&mut ctx, &skel.loader.blob, &skel.loader.insns, area, &opts)
    })
}

#[test]
fn refused_map_leaves_nothing() {
    require_kernel!();
    let _g = lock();
    // A ring buffer of 5000 bytes is refused (EINVAL) after the maps before it were created.
    failed_load_leaves_nothing(
        "ringbuf max_entries 5000",
        &fixture("maps.bpf.o"),
        || {
            let mut open = maps::open();
            open.maps.ringbuf.set_max_entries(5000);
            open.load()
                .err()
                .expect("a 5000-byte ring buffer was accepted")
        },
        |e| assert_eq!(e.errno(), Some(Errno::INVAL), "{e}"),
    );
}

#[test]
fn missing_kfunc_leaves_nothing() {
    require_kernel!();
    let _g = lock();
    let path = fixture("missing_kfunc.bpf.o");
    if !path.exists() {
        eprintln!("skipping: {} does not exist", path.display());
        return;
    }
    for log_level in [0, 1] {
        failed_load_leaves_nothing(
            "missing kfunc",
            &path,
            || match load_fixture("missing_kfunc", log_level).unwrap() {
                Ok(_) => panic!("a missing strong kfunc was accepted"),
                Err(e) => e,
            },
            |e| {
                assert_eq!(e.errno(), Some(Errno::NOENT), "{e}");
                assert!(matches!(e, Error::Loader { .. }), "{e:?}");
            },
        );
    }
}

#[test]
fn verifier_rejection_leaves_nothing() {
    require_kernel!();
    let _g = lock();
    let path = fixture("bad_prog.bpf.o");
    if !path.exists() {
        eprintln!("skipping: {} does not exist", path.display());
        return;
    }
    for log_level in [0, 1] {
        failed_load_leaves_nothing(
            "verifier rejection",
            &path,
            || match load_fixture("bad_prog", log_level).unwrap() {
                Ok(_) => panic!("bad_prog was accepted"),
                Err(e) => e,
            },
            // good_run loaded before bad_read was refused: the loader must close it.
            |e| assert_eq!(e.errno(), Some(Errno::ACCES), "{e}"),
        );
    }
}

#[test]
fn missing_kconfig_value_leaves_nothing() {
    require_kernel!();
    let _g = lock();
    // A config that has every strong option of kconfig.bpf.o except CONFIG_HZ.
    let path = std::env::temp_dir().join(format!("lskel_leaks_{}.config", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        "CONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\nCONFIG_NR_CPUS=256\n\
         CONFIG_LOCALVERSION=\"-x\"\n# CONFIG_KALLSYMS_ALL is not set"
    )
    .unwrap();
    drop(f);
    // Only kconfig.bpf.o reads the variable, and this binary's tests run one at a time.
    std::env::set_var("LSKEL_KCONFIG_PATH", &path);
    let result = std::panic::catch_unwind(|| {
        failed_load_leaves_nothing(
            "CONFIG_HZ missing",
            &fixture("kconfig.bpf.o"),
            || {
                kconfig::open()
                    .load()
                    .err()
                    .expect("a config without CONFIG_HZ was accepted")
            },
            |e| {
                assert!(e.to_string().contains("CONFIG_HZ"), "{e}");
                assert!(
                    !matches!(e, Error::Loader { .. } | Error::LoaderVerifier { .. }),
                    "the runtime fails before the loader runs: {e:?}"
                );
            },
        );
    });
    std::env::remove_var("LSKEL_KCONFIG_PATH");
    let _ = std::fs::remove_file(&path);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

// ------------------------------------------------------------------------------------------------
// (b) many cycles

/// Cycles of open/load/attach/drop; `LSKEL_LEAK_CYCLES` overrides.
const CYCLES: usize = 2000;

#[test]
fn load_attach_drop_cycles_leave_nothing() {
    require_kernel!();
    let _g = lock();
    let cycles: usize = std::env::var("LSKEL_LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CYCLES);
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let before = own_bpf_objects();
    let pid = std::process::id() as i32;

    let (mut progs, mut maps, mut btfs, mut links) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    let start = Instant::now();
    for cycle in 0..cycles {
        let mut open = counter::open();
        open.rodata.target_pid = pid;
        let skel = open.load().unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        let prog = skel.progs().count_syscalls().expect("loaded");
        let link: lskel::Link = lskel::attach_raw_tp(prog, "sys_enter")
            .unwrap_or_else(|e| panic!("cycle {cycle}: attach: {e}"));
        let link_fd: OwnedFd = link.into_fd();
        progs.insert(bpf::prog_or_map_id(prog).unwrap());
        links.insert(bpf::prog_or_map_id(&link_fd).unwrap());
        let m = skel.maps();
        for map in [
            m.syscall_counts().fd(),
            m.rodata().fd(),
            m.data().fd(),
            m.bss().fd(),
        ] {
            maps.insert(bpf::prog_or_map_id(map).unwrap());
        }
        btfs.insert(bpf::map_info(m.syscall_counts().fd()).unwrap().btf_id);
        if cycle % 100 == 0 {
            // The attached program runs.
            getpid_syscalls(3);
            assert!(
                skel.bss().count() >= 3,
                "cycle {cycle}: {}",
                skel.bss().count()
            );
        }
        drop(link_fd);
        drop(skel);
    }
    let took = start.elapsed();
    eprintln!(
        "{cycles} open/load/attach/drop cycles of counter.bpf.o took {took:?} ({:?} per cycle)",
        took / cycles as u32
    );
    assert_eq!(progs.len(), cycles);
    assert_eq!(links.len(), cycles);
    assert_eq!(maps.len(), 4 * cycles);
    assert_eq!(btfs.len(), cycles, "one BTF object per load");

    assert_eq!(open_fds(), fds_before, "fd count changed");
    assert_eq!(bpf_mappings(), mappings_before, "mappings changed");
    let wait = Instant::now();
    let seen: BTreeMap<BpfKind, BTreeSet<u32>> = [
        (BpfKind::Link, links),
        (BpfKind::Prog, progs),
        (BpfKind::Map, maps),
        (BpfKind::Btf, btfs),
    ]
    .into();
    all_freed("counter cycles", &before, &seen);
    eprintln!("objects freed within {:?}", wait.elapsed());
}
