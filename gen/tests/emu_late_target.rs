//! Attach targets named before load (sections without a target), in the emulator: the name
//! comes through the ctx from user memory, is looked up in kernel BTF (vmlinux or a module),
//! and lands in the program's attach_btf_id / attach_btf_obj_fd. fentry is refused by this
//! kernel, so this is where its path is checked.

mod common;

use common::*;
use lskel_emu::{kind, set_ctx_u32, set_ctx_u64, Cmd};

fn late_target() -> Fixture {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/objects/late_target.bpf.o");
    let skel = lskel_gen::generate(&std::fs::read(&path).unwrap(), "late_target").unwrap();
    Fixture {
        stem: "late_target".into(),
        skel,
    }
}

/// Offset of attach-target entry `k` of `f`'s ctx.
fn entry(f: &Fixture, k: usize) -> usize {
    lskel_gen::abi::ctx::target(n_maps(f), n_progs(f), k)
}

/// Sets entry `k` to `name` (NUL added) in user memory.
fn set_target(
    f: &Fixture,
    k: &mut lskel_emu::MockKernel,
    ctx_bytes: &mut [u8],
    e: usize,
    name: &str,
) {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    let addr = k.add_user_mem(&bytes);
    set_ctx_u64(ctx_bytes, entry(f, e), addr);
    set_ctx_u32(ctx_bytes, entry(f, e) + 8, bytes.len() as u32);
}

#[test]
fn fentry_target_set_at_load_time_in_vmlinux_and_in_a_module() {
    let f = late_target();
    assert_eq!(
        f.skel.loader.ctx_size,
        entry(&f, 2),
        "two programs name no target"
    );
    for module in [false, true] {
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        k.add_vmlinux_type("btf_trace_sys_enter", kind::TYPEDEF, 4_001);
        if module {
            k.add_module("mod_x", &[("do_nanosleep", kind::FUNC, 4_002)]);
        } else {
            k.add_vmlinux_type("do_nanosleep", kind::FUNC, 4_002);
        }
        let mut c = fresh_ctx(&f);
        set_target(&f, &mut k, &mut c, 0, "btf_trace_sys_enter");
        set_target(&f, &mut k, &mut c, 1, "do_nanosleep");
        // `?fentry` starts off; switch it on as `set_autoload(true)` does (slot 0, not -1).
        let out = run_loader(&f, &mut k, &mut c);
        assert_eq!(out.retval, 0, "{}", syscall_list(&k));
        let loads = prog_loads(&k);
        assert_eq!(loads.len(), 2);
        assert_eq!(
            (loads[0].u32(68), loads[0].u32(108), loads[0].u32(112)),
            (23, 4_001, 0),
            "tp_btf: BPF_TRACE_RAW_TP, id, vmlinux"
        );
        assert_eq!(
            (loads[1].u32(68), loads[1].u32(108)),
            (24, 4_002),
            "fentry: BPF_TRACE_FENTRY, id"
        );
        if module {
            assert!(loads[1].u32(112) > 0, "the module's BTF fd");
        } else {
            assert_eq!(loads[1].u32(112), 0);
        }
        assert_loaded(&f, &k, &c);
    }
}

#[test]
fn no_target_set_fails_naming_the_program() {
    let f = late_target();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut c = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut c);
    assert_eq!(out.retval, -i64::from(lskel_emu::EINVAL));
    assert_eq!(
        failed_step_text(&f, &c),
        Some(
            "program `late_tp` has no attach target: set one with `set_attach_target` before load"
        )
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
    assert!(k.syscalls().iter().all(|s| s.cmd != Cmd::ProgLoad));
}

#[test]
fn an_unknown_or_oversized_target_fails_naming_it() {
    let f = late_target();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut c = fresh_ctx(&f);
    set_target(&f, &mut k, &mut c, 0, "btf_trace_nope");
    assert_eq!(
        run_loader(&f, &mut k, &mut c).retval,
        -i64::from(lskel_emu::ENOENT)
    );
    assert_eq!(
        failed_step_text(&f, &c),
        Some("find the attach target set for program `late_tp` in kernel BTF")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());

    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut c = fresh_ctx(&f);
    set_target(&f, &mut k, &mut c, 0, &"x".repeat(600));
    assert!(run_loader(&f, &mut k, &mut c).retval < 0);
    assert!(failed_step_text(&f, &c)
        .unwrap()
        .contains("empty or longer than 511 bytes"));
}
