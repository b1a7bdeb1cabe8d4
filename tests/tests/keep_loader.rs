//! `LoadOptions::keep_loader`: repeated loads of one skeleton rerun one verified loader.
//!
//! Loader programs are counted among this process's own BPF objects (by their name
//! `__loader.prog`, through the fds of /proc/self/fd), so other BPF users on the host do not
//! matter. Every test holds `SERIAL`: the cache is per process, and the counts must not see
//! another test's loads.

use std::collections::BTreeSet;
use std::sync::Mutex;

use lskel::{drop_kept_loaders, Errno, Error, LoadOptions};
use lskel_tests::{open_fds, own_bpf_fds, require_kernel, run_syscall_prog, BpfKind};

lskel::bpf_skeleton!("bpf/globals.bpf.o");
lskel::bpf_skeleton!("bpf/maps.bpf.o");
lskel::bpf_skeleton!("bpf/ksyms.bpf.o");

static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    drop_kept_loaders();
    guard
}

const KEEP: LoadOptions = LoadOptions {
    log_level: 0,
    log_size: 0,
    keep_loader: true,
    keyring: lskel::Keyring::Session,
    signature: lskel::SignatureCheck::Required,
};

/// The ids of the loader programs this process holds an fd of.
fn own_loader_progs() -> BTreeSet<u32> {
    (own_bpf_fds().into_values())
        .filter(|&(kind, _)| kind == BpfKind::Prog)
        .filter(|&(_, id)| {
            let Ok(fd) = lskel::sys::bpf::prog_get_fd_by_id(id) else {
                return false; // freed meanwhile
            };
            lskel::sys::bpf::prog_info(std::os::fd::AsFd::as_fd(&fd))
                .is_ok_and(|info| info.name == lskel::LOADER_PROG_NAME)
        })
        .map(|(_, id)| id)
        .collect()
}

/// Loads globals.bpf.o with `knob` set before load and checks the program sees it.
fn load_globals_and_check(knob: u32) -> lskel::LoadStats {
    let mut open = globals::open();
    open.rodata.knob = knob;
    let (skel, stats) = open.load_with_stats(&KEEP).unwrap();
    assert_eq!(skel.rodata().knob, knob);
    let prog = skel.progs().read_globals().unwrap();
    assert_eq!(run_syscall_prog(prog, &mut []).unwrap(), 0);
    assert_eq!(skel.bss().read().out_knob2, u64::from(knob) * 2);
    stats
}

#[test]
fn repeated_loads_verify_the_loader_once() {
    require_kernel!();
    let _g = lock();
    assert!(own_loader_progs().is_empty());
    let first = load_globals_and_check(1);
    assert!(!first.loader_kept);
    assert!(first.loader_verify > std::time::Duration::ZERO);
    let kept = own_loader_progs();
    assert_eq!(kept.len(), 1, "the loader stays after the load: {kept:?}");
    for knob in 2..8 {
        let stats = load_globals_and_check(knob);
        assert!(stats.loader_kept, "load {knob}: {stats:?}");
        assert_eq!(stats.loader_verify, std::time::Duration::ZERO);
        assert_eq!(
            own_loader_progs(),
            kept,
            "load {knob} reran the same loader"
        );
    }
    assert_eq!(drop_kept_loaders(), 1);
    assert!(own_loader_progs().is_empty());
}

#[test]
fn without_the_option_nothing_is_kept() {
    require_kernel!();
    let _g = lock();
    let fds = open_fds();
    for _ in 0..3 {
        let (skel, stats) = globals::open()
            .load_with_stats(&LoadOptions::default())
            .unwrap();
        assert!(!stats.loader_kept);
        drop(skel);
    }
    assert!(own_loader_progs().is_empty());
    assert_eq!(open_fds(), fds);
    assert_eq!(drop_kept_loaders(), 0);
}

#[test]
fn a_failed_load_leaves_the_cache_usable_and_leaks_nothing() {
    require_kernel!();
    let _g = lock();
    drop(maps::open().load_with(&KEEP).unwrap());
    let kept = own_loader_progs();
    assert_eq!(kept.len(), 1);
    let fds = open_fds();
    // A ring buffer's size must be a power-of-2 multiple of the page size: the loader fails at
    // the map create, after some maps were made, and closes them.
    let mut open = maps::open();
    open.maps.ringbuf.set_max_entries(5000);
    let err = open.load_with(&KEEP).err().expect("load fails");
    let Error::Loader { errno, .. } = &err else {
        panic!("expected Error::Loader, got {err:?}");
    };
    assert_eq!(*errno, Errno::INVAL, "{err}");
    assert_eq!(open_fds(), fds, "the failed run left no fd");
    assert_eq!(own_loader_progs(), kept, "and gave its loader back");
    // The next load reruns that loader from a pristine blob.
    let (skel, stats) = maps::open().load_with_stats(&KEEP).unwrap();
    assert!(stats.loader_kept);
    let mut args = [0u8; 16];
    args[..4].copy_from_slice(&3u32.to_ne_bytes());
    args[8..].copy_from_slice(&100u64.to_ne_bytes());
    let prog = skel.progs().write_maps().unwrap();
    assert_eq!(run_syscall_prog(prog, &mut args).unwrap(), 0);
    assert_eq!(skel.bss().read().err_ringbuf, 0);
    drop(skel);
    assert_eq!(open_fds(), fds);
    assert_eq!(drop_kept_loaders(), 1);
}

#[test]
fn two_threads_load_at_once() {
    require_kernel!();
    let _g = lock();
    let threads: Vec<_> = (0..2u32)
        .map(|t| {
            std::thread::spawn(move || {
                (0..10u32)
                    .map(|i| load_globals_and_check(100 * (t + 1) + i).loader_kept)
                    .filter(|&kept| kept)
                    .count()
            })
        })
        .collect();
    let kept: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // Each thread makes a loader of its own only when it finds none free (its first load, or
    // a moment the other thread held the cache's lock).
    assert!(kept >= 10, "{kept} of 20 loads reran a kept loader");
    // The cache is only try_locked: a thread that finds it busy when taking builds a loader of
    // its own and may still put it back later, so up to the cache's cap of 4 pairs can be kept.
    let progs = own_loader_progs();
    assert!((1..=4).contains(&progs.len()), "{progs:?}");
    assert_eq!(drop_kept_loaders(), progs.len());
}

/// ksyms.bpf.o resolves a kernel symbol in the loader (the blob's instructions are patched on
/// every run): a kept loader still reruns from a fresh blob.
#[test]
fn a_loader_that_patches_kernel_symbols_is_kept_too() {
    require_kernel!();
    let _g = lock();
    for load in 0..3 {
        let (skel, stats) = ksyms::open().load_with_stats(&KEEP).unwrap();
        assert_eq!(stats.loader_kept, load > 0, "load {load}: {stats:?}");
        let prog = skel.progs().ksym_run().unwrap();
        assert_eq!(run_syscall_prog(prog, &mut []).unwrap(), 0);
        assert_eq!(skel.bss().runs(), 1);
        assert_ne!(skel.bss().text_addr(), 0, "load {load}: _text resolved");
    }
    assert_eq!(own_loader_progs().len(), 1);
    assert_eq!(drop_kept_loaders(), 1);
}
