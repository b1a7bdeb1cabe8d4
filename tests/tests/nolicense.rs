//! An object without a `license` section loads, as with libbpf: the license is empty, so its
//! programs are not GPL-compatible. A program calling a GPL-only helper is then refused by the
//! verifier, and the error says that the object has no `license` section.

use lskel::{Errno, Error, LoadOptions};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/nolicense.bpf.o");

/// The step description of a failed load of `read_kernel`.
const READ_KERNEL_STEP: &str =
    "load program `read_kernel` (the object has no `license` section: GPL-only helpers are refused)";

#[test]
fn object_without_license_loads_and_runs() {
    require_kernel!();
    let open = nolicense::open();
    assert!(
        !open.progs.read_kernel.autoload(),
        "`?syscall` starts switched off"
    );
    let skel = open
        .load()
        .expect("an object without a license section loads");
    assert!(skel.progs().read_kernel().is_none(), "switched off: no fd");
    let prog = skel.progs().count_runs().expect("count_runs is loaded");
    assert_eq!(run_syscall_prog(prog, &mut []).unwrap(), 7);
    assert_eq!(run_syscall_prog(prog, &mut []).unwrap(), 7);
    assert_eq!(skel.bss().runs(), 2);
    assert_ne!(
        skel.bss().last_ns(),
        0,
        "bpf_ktime_get_ns (not GPL-only) ran"
    );
}

#[test]
fn gpl_only_helper_is_refused_and_the_error_says_why() {
    require_kernel!();
    let mut open = nolicense::open();
    open.progs.read_kernel.set_autoload(true);
    let err = open
        .load_with(&LoadOptions {
            log_level: 1,
            log_size: 0,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        })
        .err()
        .expect("bpf_probe_read_kernel is GPL-only: the load fails");
    let Error::Loader {
        errno, what, log, ..
    } = &err
    else {
        panic!("expected Error::Loader, got {err:?}");
    };
    assert_eq!(*errno, Errno::INVAL, "{err}");
    assert_eq!(*what, Some(READ_KERNEL_STEP), "{err}");
    let log = log.as_ref().expect("the verifier log of read_kernel");
    assert!(
        log.as_str()
            .contains("cannot call GPL-restricted function from non-GPL compatible program"),
        "{log:?}"
    );
    let text = err.to_string();
    assert!(text.contains(READ_KERNEL_STEP), "{text}");
    assert!(text.contains("GPL-restricted"), "{text}");

    // Without a log level the hint is still there.
    let mut open = nolicense::open();
    open.progs.read_kernel.set_autoload(true);
    let err = open.load().err().expect("load fails");
    assert!(err.to_string().contains(READ_KERNEL_STEP), "{err}");
}
