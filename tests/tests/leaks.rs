//! Leaks: failed loads at several real steps, and thousands of load/attach/drop cycles, leave no
//! file descriptor, mapping or kernel object (program, map, BTF, link) behind.
//!
//! Descriptors are counted exactly (`/proc/self/fd`). Kernel objects are global and other
//! processes (other test binaries) create them concurrently, so an object counts as *ours* when it
//! is new since the test began (its id was not alive then) and it is recognisably ours: a program
//! or map with one of the object's names or the loader's, a BTF with the object's exact bytes, a
//! link to one of those programs. Ids are freed after an RCU grace period: the checks poll for up
//! to 5 s before failing.
//!
//! The tests count process-wide state, so they run one at a time.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lskel::abi::LoaderCtx;
use lskel::sys::bpf;
use lskel::{Errno, Error, LoadOptions, LOADER_MAP_NAME, LOADER_PROG_NAME};
use lskel_tests::{fixture, getpid_syscalls, open_fds, require_kernel};

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
// BPF_OBJ_GET_INFO_BY_FD for BTF and links (the runtime has program and map info only)

const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD)` into `info` (8-byte aligned words).
fn obj_info(fd: BorrowedFd<'_>, info: &mut [u64]) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: (info.len() * 8) as u32,
        info: info.as_mut_ptr() as u64,
    };
    // SAFETY: `attr` points at `info`, borrowed mutably for the call, with its length; any
    // pointer set inside `info` by the caller points at a live buffer of the stated size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &mut attr as *mut InfoAttr,
            std::mem::size_of::<InfoAttr>(),
        )
    };
    if r < 0 {
        return Err(Errno::last_os_error());
    }
    Ok(())
}

/// The raw bytes of BTF object `id` (`struct bpf_btf_info`: btf @0, btf_size @8).
fn btf_bytes(id: u32) -> Option<Vec<u8>> {
    let fd = bpf::btf_get_fd_by_id(id).ok()?;
    let mut info = [0u64; 4];
    obj_info(fd.as_fd(), &mut info).ok()?;
    let size = info[1] as u32 as usize;
    let mut buf = vec![0u8; size];
    let mut info = [0u64; 4];
    info[0] = buf.as_mut_ptr() as u64;
    info[1] = size as u64;
    obj_info(fd.as_fd(), &mut info).ok()?;
    Some(buf)
}

/// The program id of link `id` (`struct bpf_link_info`: type @0, id @4, prog_id @8).
fn link_prog_id(id: u32) -> Option<u32> {
    let fd = bpf::link_get_fd_by_id(id).ok()?;
    let mut info = [0u64; 8];
    obj_info(fd.as_fd(), &mut info).ok()?;
    Some(info[1] as u32)
}

fn map_name(id: u32) -> Option<String> {
    let fd = bpf::map_get_fd_by_id(id).ok()?;
    Some(bpf::map_info(fd.as_fd()).ok()?.name)
}

fn prog_name(id: u32) -> Option<String> {
    let fd = bpf::prog_get_fd_by_id(id).ok()?;
    Some(bpf::prog_info(fd.as_fd()).ok()?.name)
}

// ------------------------------------------------------------------------------------------------
// What an object creates, and what is alive

/// Names and BTF of what loading one object creates, from the generated plan.
struct Footprint {
    maps: BTreeSet<String>,
    progs: BTreeSet<String>,
    btf: Vec<u8>,
}

impl Footprint {
    fn of(path: &Path) -> Footprint {
        let stem = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.split('.').next())
            .unwrap();
        let data = std::fs::read(path).unwrap();
        let skel = lskel_gen::generate(&data, stem).unwrap();
        let (off, len, _) = skel
            .loader
            .blob_map
            .iter()
            .find(|(_, _, what)| what == "BTF")
            .expect("the blob holds the object's BTF");
        let off = *off as usize;
        let mut maps: BTreeSet<String> = skel
            .plan
            .maps
            .iter()
            .map(|m| m.kernel_name.clone())
            .collect();
        maps.insert(LOADER_MAP_NAME.to_string());
        // The kernel keeps 15 bytes of a name.
        let mut progs: BTreeSet<String> = skel
            .plan
            .programs
            .iter()
            .map(|p| p.def.func.name.chars().take(15).collect())
            .collect();
        progs.insert(LOADER_PROG_NAME.to_string());
        Footprint {
            maps,
            progs,
            btf: skel.loader.blob[off..off + len].to_vec(),
        }
    }
}

/// The ids alive at one moment, per kind.
struct Alive {
    progs: BTreeSet<u32>,
    maps: BTreeSet<u32>,
    btfs: BTreeSet<u32>,
    links: BTreeSet<u32>,
}

impl Alive {
    fn now() -> Alive {
        let ids = |next| -> BTreeSet<u32> { bpf::all_ids(next).unwrap().into_iter().collect() };
        Alive {
            progs: ids(bpf::prog_get_next_id),
            maps: ids(bpf::map_get_next_id),
            btfs: ids(bpf::btf_get_next_id),
            links: ids(bpf::link_get_next_id),
        }
    }

    /// Objects alive now, not alive at `before`, that belong to `fp`: a description of each.
    fn ours_since(before: &Alive, fp: &Footprint) -> Vec<String> {
        let now = Alive::now();
        let mut left = Vec::new();
        let mut our_progs = BTreeSet::new();
        for &id in now.progs.difference(&before.progs) {
            if let Some(name) = prog_name(id).filter(|n| fp.progs.contains(n)) {
                our_progs.insert(id);
                left.push(format!("program {id} `{name}`"));
            }
        }
        for &id in now.maps.difference(&before.maps) {
            if let Some(name) = map_name(id).filter(|n| fp.maps.contains(n)) {
                left.push(format!("map {id} `{name}`"));
            }
        }
        for &id in now.btfs.difference(&before.btfs) {
            if btf_bytes(id).is_some_and(|b| b == fp.btf) {
                left.push(format!("BTF {id} ({} bytes)", fp.btf.len()));
            }
        }
        for &id in now.links.difference(&before.links) {
            if let Some(prog) = link_prog_id(id) {
                if our_progs.contains(&prog)
                    || prog_name(prog).is_some_and(|n| fp.progs.contains(&n))
                {
                    left.push(format!("link {id} of program {prog}"));
                }
            }
        }
        left
    }

    /// The number of objects of each kind (for the report).
    fn counts(&self) -> [usize; 4] {
        [
            self.progs.len(),
            self.maps.len(),
            self.btfs.len(),
            self.links.len(),
        ]
    }
}

/// Polls (up to 5 s) until nothing of `fp` created since `before` is alive.
fn nothing_left(what: &str, before: &Alive, fp: &Footprint) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = Alive::ours_since(before, fp);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: still alive after 5 s: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls (up to 5 s) until none of `ids` is alive in `next`'s id space.
fn gone(what: &str, ids: &BTreeSet<u32>, next: fn(u32) -> Result<Option<u32>, Errno>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: BTreeSet<u32> = bpf::all_ids(next).unwrap().into_iter().collect();
        let left: Vec<u32> = ids.intersection(&alive).copied().collect();
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: {} still alive after 5 s: {left:?}", left.len());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The leak detector itself: it sees every kind of object a live skeleton holds, and nothing
/// once the skeleton is gone.
#[test]
fn detector_sees_live_objects() {
    require_kernel!();
    let _g = lock();
    let fp = Footprint::of(&fixture("counter.bpf.o"));
    let before = Alive::now();
    let skel = counter::open().load().unwrap();
    let link = lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter").unwrap();
    // The loader's own map and program may still be alive for an RCU grace period: not counted.
    let seen: Vec<String> = Alive::ours_since(&before, &fp)
        .into_iter()
        .filter(|s| !s.contains("`__loader."))
        .collect();
    let kinds = |k: &str| seen.iter().filter(|s| s.starts_with(k)).count();
    assert_eq!(
        (kinds("program"), kinds("map"), kinds("BTF"), kinds("link")),
        (1, 4, 1, 1),
        "{seen:?}"
    );
    drop(link);
    drop(skel);
    nothing_left("counter", &before, &fp);
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
    let fp = Footprint::of(path);
    // The same failure three times: nothing accumulates either.
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let before = Alive::now();
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
    nothing_left(what, &before, &fp);
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
    };
    // SAFETY: the loader lskel-gen generated for this ctx's layout; the ctx holds no address.
    Some(unsafe { lskel::bpf_load_and_run(&mut ctx, &skel.loader.blob, &skel.loader.insns, &opts) })
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
    let fp = Footprint::of(&fixture("counter.bpf.o"));
    let fds_before = open_fds();
    let mappings_before = bpf_mappings();
    let before = Alive::now();
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
        for map in [m.syscall_counts(), m.rodata(), m.data(), m.bss()] {
            maps.insert(bpf::prog_or_map_id(map).unwrap());
        }
        btfs.insert(bpf::map_info(m.syscall_counts()).unwrap().btf_id);
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
    gone("links", &links, bpf::link_get_next_id);
    gone("programs", &progs, bpf::prog_get_next_id);
    gone("maps", &maps, bpf::map_get_next_id);
    gone("BTF objects", &btfs, bpf::btf_get_next_id);
    // Nor did the loaders leave anything (their map and program are never handed out).
    nothing_left("counter cycles", &before, &fp);
    let after = Alive::now();
    eprintln!(
        "objects freed within {:?}; kernel-wide counts [progs, maps, btfs, links] before {:?}, \
         after {:?}",
        wait.elapsed(),
        before.counts(),
        after.counts()
    );
}
