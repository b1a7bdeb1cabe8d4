//! The blob comes from user space: fd slots it carries with numbers in them must not make the
//! loader's cleanup close descriptors it never created (issue 13). The prologue zeroes them.

mod common;

use common::*;
use lskel_emu::{run, Cmd, Event, MockKernel};

/// A descriptor the mock kernel never hands out (it allocates from 3): the process's stderr.
const FOREIGN_FD: i32 = 2;

/// `f`'s blob with every fd slot the cleanup reads (fd_array, BTF fd, inner map fd) set to
/// [`FOREIGN_FD`].
fn poisoned_blob(f: &Fixture) -> Vec<u8> {
    let mut blob = f.skel.loader.blob.clone();
    let mut poisoned = 0;
    for (off, len, what) in &f.skel.loader.blob_map {
        if what.starts_with("fd_array")
            || what == "BTF fd"
            || what.starts_with("fd of the inner map")
        {
            let off = *off as usize;
            for slot in blob[off..off + len].chunks_exact_mut(4) {
                slot.copy_from_slice(&FOREIGN_FD.to_ne_bytes());
            }
            poisoned += 1;
        }
    }
    assert!(
        poisoned >= 2,
        "{}: fd slots not found in the blob map",
        f.stem
    );
    blob
}

fn closes_foreign(k: &MockKernel) -> bool {
    (k.events().iter()).any(|e| matches!(e, Event::Close { fd, .. } if *fd == FOREIGN_FD))
}

fn run_poisoned(f: &Fixture, k: &mut MockKernel) -> i64 {
    let mut ctx = fresh_ctx(f);
    let blob = poisoned_blob(f);
    let out = run(&f.skel.loader.insns, &blob, &mut ctx, k)
        .unwrap_or_else(|e| panic!("{}: emulator error: {e}", f.stem));
    out.retval
}

#[test]
fn garbage_fd_slots_in_the_blob_are_never_closed() {
    for f in fixtures() {
        // Failing at the first step: nothing made, nothing to close.
        let mut k = kernel_for(&f.skel, Home::Modules);
        k.fail_nth(Cmd::BtfLoad, 1, lskel_emu::EINVAL);
        let ret = run_poisoned(&f, &mut k);
        assert_eq!(ret, -i64::from(lskel_emu::EINVAL), "{}", f.stem);
        assert!(
            !closes_foreign(&k),
            "{}: cleanup closed fd {FOREIGN_FD}",
            f.stem
        );
        assert!(k.open_fds().is_empty(), "{}: fds left open", f.stem);

        // Failing at the last program: everything made so far is closed, and only that.
        if n_progs(&f) > 0 {
            let mut k = kernel_for(&f.skel, Home::Modules);
            k.fail_nth(Cmd::ProgLoad, n_progs(&f) as u32, lskel_emu::EACCES);
            let ret = run_poisoned(&f, &mut k);
            assert_eq!(ret, -i64::from(lskel_emu::EACCES), "{}", f.stem);
            assert!(
                !closes_foreign(&k),
                "{}: cleanup closed fd {FOREIGN_FD}",
                f.stem
            );
            assert!(k.open_fds().is_empty(), "{}: fds left open", f.stem);
        }

        // Success: the slots are the ones this run filled.
        let mut k = kernel_for(&f.skel, Home::Modules);
        assert_eq!(run_poisoned(&f, &mut k), 0, "{}", f.stem);
        assert!(!closes_foreign(&k), "{}: closed fd {FOREIGN_FD}", f.stem);
    }
}
