//! map_settings.bpf.o: map shapes set before load (libbpf's `bpf_map__set_*`), a map-in-map
//! whose inner map the user gives, and a loader ctx with an odd program count and a target
//! set before load (its attach-target entry must stay 8-aligned for the kernel).

use std::os::fd::{AsFd, OwnedFd};

use lskel::sys::bpf::{map_create, map_info, map_type, MapCreateAttr};
use lskel::Map;
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("../gen/tests/objects/map_settings.bpf.o");

/// `BPF_F_NO_PREALLOC`
const BPF_F_NO_PREALLOC: u32 = 1;
/// `BPF_F_NUMA_NODE`
const BPF_F_NUMA_NODE: u32 = 1 << 2;

/// An ARRAY of `n` u64 values: the inner map shape `read_inner` expects.
fn u64_array(n: u32) -> OwnedFd {
    map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: n,
        name: "lskel_inner",
        ..Default::default()
    })
    .expect("create the inner map")
}

/// Runs `read_inner` for `outer[slot]`, `inner[key]`: (return value, value read).
fn read_inner(skel: &map_settings::Skel, slot: u32, key: u32) -> (u32, u64) {
    let mut args = [0u8; 16];
    args[..4].copy_from_slice(&slot.to_ne_bytes());
    args[4..8].copy_from_slice(&key.to_ne_bytes());
    let ret = run_syscall_prog(skel.progs().read_inner().unwrap(), &mut args).unwrap();
    (ret, u64::from_ne_bytes(args[8..].try_into().unwrap()))
}

fn open_with_target() -> map_settings::OpenSkel {
    let mut open = map_settings::open();
    open.progs.on_switch.set_attach_target("sched_switch");
    open
}

#[test]
fn sizes_flags_and_extra_set_before_load_reach_the_kernel() {
    require_kernel!();
    let template = u64_array(4);
    let mut open = open_with_target();
    open.maps.stacks.set_value_size(20 * 8);
    open.maps
        .flagged
        .set_map_flags(BPF_F_NO_PREALLOC)
        .set_key_size(8);
    open.maps
        .bloom
        .set_map_extra(3)
        .set_map_flags(BPF_F_NUMA_NODE)
        .set_numa_node(0);
    open.maps.outer.set_inner_map(&template).unwrap();
    assert_eq!(open.maps.stacks.value_size(), Some(160));
    let skel = open.load().expect("load");

    let stacks = map_info(skel.maps().stacks().fd()).unwrap();
    assert_eq!(
        (stacks.key_size, stacks.value_size, stacks.max_entries),
        (4, 160, 16)
    );
    let flagged = map_info(skel.maps().flagged().fd()).unwrap();
    assert_eq!(flagged.map_flags, BPF_F_NO_PREALLOC);
    assert_eq!(flagged.key_size, 8, "key size changed");
    assert_eq!(
        (flagged.btf_key_type_id, flagged.btf_value_type_id),
        (0, 0),
        "a changed key size drops the object's BTF key/value types"
    );
    let bloom = map_info(skel.maps().bloom().fd()).unwrap();
    assert_eq!((bloom.map_extra, bloom.map_flags), (3, BPF_F_NUMA_NODE));
    // Nothing set: the object's own shape.
    let open = open_with_target();
    assert_eq!(open.maps.stacks.value_size(), None);
    drop(skel);
}

#[test]
fn a_map_in_map_without_inner_definition_uses_the_users_inner_map() {
    require_kernel!();
    let template = u64_array(4);
    let mut open = open_with_target();
    open.maps.outer.set_inner_map(template.as_fd()).unwrap();
    drop(template); // set_inner_map keeps its own copy of the fd
    let skel = open.load().expect("load with the user's inner map");
    assert_eq!(read_inner(&skel, 0, 1), (1, 0), "slot 0 starts empty");

    let inner = u64_array(4);
    Map::new(inner.as_fd())
        .unwrap()
        .update(&1u32.to_ne_bytes(), &4242u64.to_ne_bytes(), 0)
        .unwrap();
    let outer = Map::new(skel.maps().outer().fd()).unwrap();
    use std::os::fd::AsRawFd;
    outer
        .update(&0u32.to_ne_bytes(), &inner.as_raw_fd().to_ne_bytes(), 0)
        .expect("an inner map of the template's shape fits");
    assert_eq!(read_inner(&skel, 0, 1), (0, 4242));
    assert_eq!(read_inner(&skel, 0, 9), (2, 0), "key beyond the inner map");

    // The kernel checks inner maps against the template: another shape is refused.
    let other = map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 16,
        max_entries: 4,
        name: "lskel_other",
        ..Default::default()
    })
    .unwrap();
    assert!(outer
        .update(&1u32.to_ne_bytes(), &other.as_raw_fd().to_ne_bytes(), 0)
        .is_err());
}

#[test]
fn without_an_inner_map_the_load_fails_naming_the_map_and_the_remedy() {
    require_kernel!();
    let err = open_with_target()
        .load()
        .err()
        .expect("no inner map: load fails");
    assert_eq!(err.errno(), Some(lskel::Errno::INVAL), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("map `outer` has no inner map definition") && text.contains("set_inner_map"),
        "{text}"
    );
}

#[test]
fn an_odd_program_count_with_a_target_set_before_load_loads_and_attaches() {
    require_kernel!();
    let mut open = open_with_target();
    open.maps.outer.set_inner_map(u64_array(1)).unwrap();
    let skel = open
        .load()
        .expect("the kernel accepts the loader's ctx accesses");
    // Three programs (read_inner, on_switch, count_raw): 12 bytes of program descriptors.
    assert!(skel.progs().read_inner().is_some() && skel.progs().count_raw().is_some());
    let fd = skel.progs().on_switch().expect("loaded");
    let _link = lskel::attach_raw_tp(fd, "").expect("attach tp_btf");
    let before = skel.bss().switches();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    assert!(skel.bss().switches() > before, "sched_switch ran");
}
