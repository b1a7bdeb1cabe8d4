//! `freplace` programs (checked in the emulator: this kernel refuses extension programs): the
//! target program's fd and the replaced function's BTF id come through the ctx, land in
//! `attach_prog_fd` / `attach_btf_id`, and the target fd, which is the user's, is not closed.

mod common;

use common::*;
use lskel_emu::{set_ctx_u32, Cmd};

fn freplace() -> Fixture {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/objects/freplace.bpf.o");
    let skel = lskel_gen::generate(&std::fs::read(&path).unwrap(), "freplace").unwrap();
    Fixture {
        stem: "freplace".into(),
        skel,
    }
}

#[test]
fn target_program_and_function_reach_prog_load() {
    let f = freplace();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let entry = lskel_gen::abi::ctx::target(n_maps(&f), n_progs(&f), 0);
    // A stand-in for the user's target program fd, well above what the loader allocates.
    set_ctx_u32(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_PROG_FD, 40);
    set_ctx_u32(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_BTF_ID, 17);
    let out = run_loader(&f, &mut k, &mut ctx);
    let load = k
        .syscalls()
        .iter()
        .find(|s| s.cmd == Cmd::ProgLoad)
        .expect("a PROG_LOAD");
    assert_eq!(load.u32(0), 28, "BPF_PROG_TYPE_EXT");
    assert_eq!(load.u32(112), 40, "attach_prog_fd");
    assert_eq!(load.u32(108), 17, "attach_btf_id");
    // The mock kernel does not know fd 40 as a program, so it refuses; what matters is that
    // the loader never closes the user's fd.
    let _ = out;
    assert!(
        !k.events()
            .iter()
            .any(|e| matches!(e, lskel_emu::Event::Close { fd: 40, .. })),
        "the target program's fd is not the loader's to close"
    );
}

#[test]
fn no_target_program_fails_naming_the_program() {
    let f = freplace();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EINVAL));
    assert_eq!(
        failed_step_text(&f, &ctx),
        Some("program `new_check` has no target program: set one with `set_attach_target_prog` before load")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
}
