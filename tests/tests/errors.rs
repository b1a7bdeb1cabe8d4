//! Load failures name the step that failed: `lskel::Error::Loader { errno, step, what, log }`.
//!
//! - `missing_kfunc.bpf.o` calls a strong kfunc no kernel has: ENOENT at
//!   "find kernel function `bpf_lskel_missing_kfunc` in kernel BTF";
//! - `maps.bpf.o` with `ringbuf` resized to 5000 bytes (not a power-of-2 multiple of the page size):
//!   EINVAL at "create map `ringbuf`";
//! - `bad_prog.bpf.o` has a program the verifier rejects: EACCES at "load program `bad_read`",
//!   with the verifier log when a log level is set.
//!
//! Every failure must also leave nothing behind: no fd and no map.

use std::sync::Mutex;

use lskel::{Errno, Error, LoadOptions};
use lskel_tests::{open_fds, own_bpf_objects, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/missing_kfunc.bpf.o");
lskel::bpf_skeleton!("bpf/bad_prog.bpf.o");
lskel::bpf_skeleton!("bpf/maps.bpf.o");

/// The fd and BPF-object checks must not see another test's objects.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const WITH_LOG: LoadOptions = LoadOptions {
    log_level: 1,
    log_size: 0,
    keep_loader: false,
    keyring: lskel::Keyring::Session,
    signature: lskel::SignatureCheck::Required,
};

/// The parts of an `Error::Loader`, or a panic naming what came instead.
fn loader_error(
    e: &Error,
) -> (
    Errno,
    u32,
    Option<&'static str>,
    Option<&lskel::VerifierLog>,
) {
    match e {
        Error::Loader {
            errno,
            step,
            what,
            log,
        } => (*errno, *step, *what, log.as_ref()),
        other => panic!("expected Error::Loader, got {other:?}"),
    }
}

/// Runs `f` (a failing load) and checks that it leaves no fd open and no BPF object held: what
/// the loader creates (its own map and program, the maps made before the failure) exists only
/// behind this process's fds until the runtime closes them. Only this process is looked at, so
/// other BPF users on the host do not matter.
fn leaves_nothing_behind<T>(f: impl FnOnce() -> T) -> T {
    let fds = open_fds();
    let objects = own_bpf_objects();
    let out = f();
    assert_eq!(open_fds(), fds, "fds left open by a failed load");
    assert_eq!(
        own_bpf_objects(),
        objects,
        "BPF objects held after a failed load"
    );
    out
}

#[test]
fn strong_missing_kfunc_is_named() {
    let _g = lock();
    require_kernel!();
    let err = leaves_nothing_behind(|| missing_kfunc::open().load().err().expect("load fails"));
    let (errno, step, what, log) = loader_error(&err);
    assert_eq!(errno, Errno::NOENT, "{err}");
    assert_eq!(
        what,
        Some("find kernel function `bpf_lskel_missing_kfunc` in kernel BTF"),
        "{err}"
    );
    assert!(step > 0, "the loader reports its step: {err}");
    assert!(log.is_none(), "a BTF lookup writes no log: {log:?}");
    let text = err.to_string();
    assert!(text.contains("bpf_lskel_missing_kfunc"), "{text}");
    assert!(text.contains(&format!("step {step}")), "{text}");
    assert_eq!(err.errno(), Some(Errno::NOENT));
}

#[test]
fn strong_missing_kfunc_with_log_level_still_names_it() {
    let _g = lock();
    require_kernel!();
    let err = missing_kfunc::open()
        .load_with(&WITH_LOG)
        .err()
        .expect("load fails");
    let (errno, _, what, log) = loader_error(&err);
    assert_eq!(errno, Errno::NOENT);
    assert_eq!(
        what,
        Some("find kernel function `bpf_lskel_missing_kfunc` in kernel BTF")
    );
    // The buffer holds the BTF load's log at that point: not this step's, so not reported.
    assert!(log.is_none(), "{log:?}");
}

#[test]
fn invalid_max_entries_names_the_map() {
    let _g = lock();
    require_kernel!();
    let mut open = maps::open();
    // A ring buffer's size must be a power-of-2 multiple of the page size.
    open.maps.ringbuf.set_max_entries(5000);
    let err = leaves_nothing_behind(|| open.load_with(&WITH_LOG).err().expect("load fails"));
    let (errno, step, what, log) = loader_error(&err);
    assert_eq!(errno, Errno::INVAL, "{err}");
    assert_eq!(what, Some("create map `ringbuf`"), "{err}");
    assert!(step > 1, "{err}");
    assert!(log.is_none(), "map creation writes no log: {log:?}");
    assert!(err.to_string().contains("create map `ringbuf`"), "{err}");

    // Another map, another step: a hash table of more than 2^31 entries (E2BIG, refused before
    // any allocation).
    let mut open = maps::open();
    open.maps.hash_map.set_max_entries(u32::MAX);
    let err = open.load().err().expect("load fails");
    let (errno, step2, what, _) = loader_error(&err);
    assert_eq!(errno, Errno::TOOBIG, "{err}");
    assert_eq!(what, Some("create map `hash_map`"), "{err}");
    assert!(step2 < step, "hash_map is created before ringbuf");

    // The same skeleton with valid sizes loads.
    let mut open = maps::open();
    open.maps.ringbuf.set_max_entries(8192);
    let skel = open.load().unwrap();
    drop(skel);
}

#[test]
fn verifier_rejection_names_the_program_and_carries_its_log() {
    let _g = lock();
    require_kernel!();
    let err = leaves_nothing_behind(|| {
        bad_prog::open()
            .load_with(&WITH_LOG)
            .err()
            .expect("load fails")
    });
    let (errno, step, what, log) = loader_error(&err);
    assert_eq!(errno, Errno::ACCES, "{err}");
    assert_eq!(what, Some("load program `bad_read`"), "{err}");
    assert!(step > 0, "the loader reports its step: {err}");
    let log = log.expect("the verifier log of bad_read");
    assert!(
        log.as_str().contains("unbounded memory access"),
        "verifier message missing: {log:?}"
    );
    // The log is bad_read's: it ends with the verifier's summary of the rejected program.
    assert!(log.as_str().contains("processed"), "{log:?}");
    let text = err.to_string();
    assert!(text.contains("load program `bad_read`"), "{text}");
    assert!(text.contains("unbounded memory access"), "{text}");
    assert_eq!(err.log().map(|l| l.as_str()), Some(log.as_str()));
}

#[test]
fn verifier_rejection_without_log_level() {
    let _g = lock();
    require_kernel!();
    let err = bad_prog::open().load().err().expect("load fails");
    let (errno, _, what, log) = loader_error(&err);
    assert_eq!(errno, Errno::ACCES);
    assert_eq!(what, Some("load program `bad_read`"));
    assert!(log.is_none_or(|l| l.is_empty()), "{log:?}");
}

#[test]
fn programs_before_the_failure_were_fine() {
    // The good program of bad_prog.bpf.o loads on its own terms: maps.bpf.o's write_maps is an
    // unrelated syscall program that must keep working after the failed loads above.
    let _g = lock();
    require_kernel!();
    let _ = bad_prog::open().load().err().expect("load fails");
    let skel = maps::open().load().unwrap();
    let mut args = [0u8; 16];
    assert_eq!(
        run_syscall_prog(skel.progs().write_maps().unwrap(), &mut args).unwrap(),
        0
    );
    assert_eq!(skel.bss().runs(), 1);
}
