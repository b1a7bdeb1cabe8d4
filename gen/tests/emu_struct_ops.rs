//! struct_ops maps in the emulator (the real kernel runs them in tests/tests/struct_ops.rs):
//! the loader finds `bpf_struct_ops_<name>` in kernel BTF, creates the map with the value
//! size the runtime read from kernel BTF and loads each program against its struct member.
//! The value itself (kernel layout, program fds) is written by the runtime at attach time,
//! as libbpf does.

mod common;

use common::*;
use lskel_emu::{kind, set_ctx_u32, Cmd};
use lskel_gen::abi::ctx;
use lskel_gen::maps::MapOrigin;

const VALUE_TYPE_ID: u32 = 77_777;
/// The "running kernel's" value size: bigger than the object's.
const KERNEL_VALUE_SIZE: usize = 256;

fn structops() -> Fixture {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/objects/structops.bpf.o");
    let skel = lskel_gen::generate(&std::fs::read(&path).unwrap(), "structops").unwrap();
    Fixture {
        stem: "structops".into(),
        skel,
    }
}

/// What the runtime gives the loader: the running kernel's value size.
fn give_value_size(c: &mut [u8]) {
    set_ctx_u32(c, ctx::map_desc(0) + ctx::map::SET, ctx::set::VALUE_SIZE);
    set_ctx_u32(
        c,
        ctx::map_desc(0) + ctx::map::VALUE_SIZE,
        KERNEL_VALUE_SIZE as u32,
    );
}

#[test]
fn struct_ops_map_is_created_and_filled_with_program_fds() {
    let f = structops();
    let map = &f.skel.plan.maps[0];
    let MapOrigin::StructOps(s) = &map.origin else {
        panic!("not a struct_ops map: {map:?}")
    };
    assert_eq!((map.map_type, map.key_size, map.max_entries), (26, 4, 1));
    assert_eq!(map.map_flags, 1 << 13, ".struct_ops.link: BPF_F_LINK");
    assert_eq!(s.struct_name, "tcp_congestion_ops");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.add_vmlinux_type(
        "bpf_struct_ops_tcp_congestion_ops",
        kind::STRUCT,
        VALUE_TYPE_ID,
    );
    let mut ctx = fresh_ctx(&f);
    give_value_size(&mut ctx);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, 0, "{}", syscall_list(&k));

    let create = k
        .syscalls()
        .iter()
        .find(|c| c.cmd == Cmd::MapCreate)
        .unwrap();
    assert_eq!(create.u32(0), 26, "map_type");
    assert_eq!(
        create.u32(8) as usize,
        KERNEL_VALUE_SIZE,
        "value_size: the running kernel's"
    );
    assert_eq!(create.u32(60), VALUE_TYPE_ID, "btf_vmlinux_value_type_id");
    assert_eq!(
        (create.u32(52), create.u32(56)),
        (0, 0),
        "no key/value type ids"
    );
    assert_eq!(
        i64::from(create.u32(48)),
        btf_fd(&k),
        "btf_fd: the object's BTF"
    );

    // Programs: attach_btf_id = tcp_congestion_ops, expected_attach_type = member index.
    let loads = prog_loads(&k);
    assert_eq!(loads.len(), 3);
    for (p, load) in f.skel.plan.programs.iter().zip(&loads) {
        let (_, member, _) = s
            .funcs
            .iter()
            .find(|(_, _, n)| *n == p.def.func.name)
            .unwrap();
        assert_eq!(load.u32(0), 27, "BPF_PROG_TYPE_STRUCT_OPS");
        assert_eq!(
            load.u32(68),
            *member,
            "{}: expected_attach_type",
            p.def.func.name
        );
        assert_ne!(load.u32(108), 0, "{}: attach_btf_id", p.def.func.name);
    }
    assert_eq!(
        s.funcs
            .iter()
            .map(|f| (f.2.as_str(), f.1))
            .collect::<Vec<_>>(),
        [
            ("lskel_ssthresh", 0),
            ("lskel_cong_avoid", 1),
            ("lskel_undo_cwnd", 8)
        ],
        "members of the kernel's struct tcp_congestion_ops"
    );

    // The loader writes no value: the runtime does, when the map is attached.
    assert!(
        !k.syscalls().iter().any(|c| c.cmd == Cmd::MapUpdateElem),
        "no struct_ops value update at load"
    );
    assert_loaded(&f, &k, &ctx);
}

#[test]
fn a_kernel_without_the_struct_ops_type_fails_naming_it() {
    let f = structops();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::ENOENT));
    assert_eq!(
        failed_step_text(&f, &ctx),
        Some("find the kernel's struct_ops type `bpf_struct_ops_tcp_congestion_ops` of `lskel_cc` in kernel BTF")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
}
