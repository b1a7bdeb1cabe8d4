//! Map BTF fallback: when the kernel refuses a map with its BTF key/value types, the loader
//! creates it again without them (as libbpf does), and only a second refusal fails the load.

mod common;

use common::*;
use lskel_emu::Cmd;

/// MAP_CREATE attr offsets of `btf_fd`, `btf_key_type_id`, `btf_value_type_id`.
const BTF_FIELDS: [usize; 3] = [48, 52, 56];

#[test]
fn a_map_refused_with_btf_is_created_without_it() {
    let f = fixture("counter");
    let map = f
        .skel
        .plan
        .maps
        .iter()
        .position(|m| m.name == "syscall_counts")
        .unwrap();
    assert!(f.skel.plan.maps[map].btf_key_type_id != 0);
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    // `syscall_counts` is the first map: refuse its first create, once.
    k.fail_nth_once(Cmd::MapCreate, 1, lskel_emu::EINVAL);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, 0, "{}", syscall_list(&k));
    let creates: Vec<_> = k
        .syscalls()
        .iter()
        .filter(|s| s.cmd == Cmd::MapCreate)
        .collect();
    let (first, retry) = (creates[0], creates[1]);
    assert_eq!(first.ret, -i64::from(lskel_emu::EINVAL));
    assert!(
        BTF_FIELDS.iter().all(|&o| first.u32(o) != 0),
        "the first try carries BTF"
    );
    assert!(
        BTF_FIELDS.iter().all(|&o| retry.u32(o) == 0),
        "the retry carries none"
    );
    // Everything else of the attr is the same map.
    assert_eq!(first.attr[..48], retry.attr[..48]);
    assert!(retry.ret > 0);
    assert_eq!(i64::from(lskel_emu::ctx_map_fd(&ctx, map)), retry.ret);
    assert_loaded(&f, &k, &ctx);
}

#[test]
fn a_second_refusal_fails_the_load_naming_the_map() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    k.fail_nth(Cmd::MapCreate, 1, lskel_emu::EPERM);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EPERM));
    assert_eq!(
        k.syscalls()
            .iter()
            .filter(|s| s.cmd == Cmd::MapCreate)
            .count(),
        2,
        "tried twice"
    );
    assert_eq!(
        failed_step_text(&f, &ctx),
        Some("create map `syscall_counts`")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
}

#[test]
fn maps_without_btf_types_are_not_retried() {
    // `.rodata` is a data map: value type only from its DATASEC; `raw_array` in maps.bpf.o has
    // no BTF types at all.
    let f = fixture("maps");
    let raw = f
        .skel
        .plan
        .maps
        .iter()
        .position(|m| m.name == "raw_array")
        .unwrap();
    assert_eq!(f.skel.plan.maps[raw].btf_value_type_id, 0);
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    k.fail_nth_once(Cmd::MapCreate, raw as u32 + 1, lskel_emu::EINVAL);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EINVAL));
    assert_eq!(failed_step_text(&f, &ctx), Some("create map `raw_array`"));
    assert_eq!(k.open_fds(), Vec::<i32>::new());
}
