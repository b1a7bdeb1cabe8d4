//! struct_ops maps in the emulator (the real kernel runs them in tests/tests/struct_ops.rs):
//! the loader finds `bpf_struct_ops_<name>` in kernel BTF, creates the map with the value
//! size the runtime read from kernel BTF, loads each program against its struct member, and
//! writes the runtime's kernel-layout value with the program fds at the slot offsets the
//! ctx gives.

mod common;

use common::*;
use lskel_emu::{ctx_prog_fd, kind, set_ctx_u32, set_ctx_u64, Cmd, MockKernel};
use lskel_gen::abi::ctx;
use lskel_gen::maps::MapOrigin;
use lskel_gen::struct_ops::StructOps;

const VALUE_TYPE_ID: u32 = 77_777;
/// The "running kernel's" value: bigger than the object's, its struct at byte 64.
const KERNEL_VALUE_SIZE: usize = 256;
const KERNEL_DATA_OFFSET: usize = 64;

/// What the runtime gives the loader: the kernel-layout value (the object's name bytes at
/// the kernel's offset of `name`, here 100) and each function slot's kernel offset (here
/// 8 * (member index) past the data offset, unlike the object's layout).
fn give_layout(f: &Fixture, k: &mut MockKernel, c: &mut [u8], s: &StructOps) -> Vec<usize> {
    let mut value = vec![0u8; KERNEL_VALUE_SIZE];
    value[100..108].copy_from_slice(b"lskel_cc");
    let addr = k.add_user_mem(&value);
    set_ctx_u64(c, ctx::map_initial_value(0), addr);
    set_ctx_u32(c, ctx::map_desc(0) + ctx::map::SET, ctx::set::VALUE_SIZE);
    set_ctx_u32(
        c,
        ctx::map_desc(0) + ctx::map::VALUE_SIZE,
        KERNEL_VALUE_SIZE as u32,
    );
    let (n_maps, n_progs) = (n_maps(f), n_progs(f));
    s.funcs
        .iter()
        .enumerate()
        .map(|(m, (_, member, _))| {
            let off = KERNEL_DATA_OFFSET + 8 * *member as usize;
            set_ctx_u32(c, ctx::struct_ops_slot(n_maps, n_progs, 0, m), off as u32);
            off
        })
        .collect()
}

fn structops() -> Fixture {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/objects/structops.bpf.o");
    let skel = lskel_gen::generate(&std::fs::read(&path).unwrap(), "structops").unwrap();
    Fixture {
        stem: "structops".into(),
        skel,
    }
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
    let slots = give_layout(&f, &mut k, &mut ctx, s);
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

    // The value: the runtime's kernel-layout bytes, fds at the kernel's slot offsets.
    let update = k
        .syscalls()
        .iter()
        .rfind(|c| c.cmd == Cmd::MapUpdateElem)
        .unwrap();
    let value = update.mem.value.clone().unwrap();
    assert_eq!(value.len(), KERNEL_VALUE_SIZE);
    assert_eq!(&value[..8], &[0; 8], "bpf_struct_ops_common_value");
    for ((_, _, prog), off) in s.funcs.iter().zip(&slots) {
        let j = f
            .skel
            .plan
            .programs
            .iter()
            .position(|p| &p.def.func.name == prog)
            .unwrap();
        let slot = u64::from_le_bytes(value[*off..*off + 8].try_into().unwrap());
        assert_eq!(
            slot as i32,
            ctx_prog_fd(&ctx, n_maps(&f), j),
            "{prog}'s slot holds its fd"
        );
    }
    assert_eq!(
        &value[100..108],
        b"lskel_cc",
        "the runtime's bytes are used"
    );
    assert_loaded(&f, &k, &ctx);
}

fn struct_ops_of(f: &Fixture) -> StructOps {
    match &f.skel.plan.maps[0].origin {
        MapOrigin::StructOps(s) => (**s).clone(),
        other => panic!("not a struct_ops map: {other:?}"),
    }
}

#[test]
fn a_missing_or_oversized_kernel_layout_fails_naming_the_map() {
    let f = structops();
    let s = struct_ops_of(&f);
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.add_vmlinux_type(
        "bpf_struct_ops_tcp_congestion_ops",
        kind::STRUCT,
        VALUE_TYPE_ID,
    );
    let mut c = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut c);
    assert_eq!(out.retval, -i64::from(lskel_emu::EINVAL));
    assert_eq!(
        failed_step_text(&f, &c),
        Some("struct_ops `lskel_cc`: the running kernel's layout was not given in the ctx")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());

    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.add_vmlinux_type(
        "bpf_struct_ops_tcp_congestion_ops",
        kind::STRUCT,
        VALUE_TYPE_ID,
    );
    let mut c = fresh_ctx(&f);
    give_layout(&f, &mut k, &mut c, &s);
    let cap = lskel_gen::loader::struct_ops_value_cap(&s);
    set_ctx_u32(
        &mut c,
        ctx::map_desc(0) + ctx::map::VALUE_SIZE,
        cap as u32 + 8,
    );
    let out = run_loader(&f, &mut k, &mut c);
    assert_eq!(out.retval, -7, "E2BIG");
    assert!(failed_step_text(&f, &c)
        .unwrap()
        .contains(&format!("over the {cap} bytes reserved")));
    assert_eq!(k.open_fds(), Vec::<i32>::new());
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
