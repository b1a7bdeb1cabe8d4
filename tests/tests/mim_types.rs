//! mimtypes.bpf.o: map-in-map with inner maps that are not arrays (RINGBUF, HASH,
//! PERF_EVENT_ARRAY declared without max_entries, LRU_HASH), static slots filled by the loader.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use lskel::sys::bpf::{map_create, map_info, prog_or_map_id, MapCreateAttr};
use lskel::{possible_cpus, Errno, Map, RingBuffer};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/mimtypes.bpf.o");

fn run(skel: &mimtypes::Skel, op: u64, arg: u64) -> i64 {
    let mut ctx = [0u8; 16];
    ctx[..8].copy_from_slice(&op.to_ne_bytes());
    ctx[8..].copy_from_slice(&arg.to_ne_bytes());
    assert_eq!(
        u64::from(run_syscall_prog(skel.progs().mim_types().unwrap(), &mut ctx).unwrap()),
        op
    );
    skel.bss().err()
}

/// (type, key_size, value_size, max_entries)
fn shape(fd: BorrowedFd<'_>) -> (u32, u32, u32, u32) {
    let i = map_info(fd).unwrap();
    (i.map_type, i.key_size, i.value_size, i.max_entries)
}

fn slot(outer: BorrowedFd<'_>, key: u32) -> Option<u32> {
    Map::new(outer)
        .unwrap()
        .get(&key.to_ne_bytes())
        .unwrap()
        .map(|v| u32::from_ne_bytes(v[..4].try_into().unwrap()))
}

#[test]
fn outer_and_inner_maps_have_the_declared_shapes() {
    require_kernel!();
    let skel = mimtypes::open().load().unwrap();
    let m = skel.maps();
    let cpus = possible_cpus().unwrap() as u32;
    assert_eq!(shape(m.inner_rb().fd()), (27, 0, 0, 4096));
    assert_eq!(shape(m.inner_h().fd()), (1, 4, 8, 8));
    assert_eq!(
        shape(m.inner_pe().fd()),
        (4, 4, 4, cpus),
        "a PERF_EVENT_ARRAY without max_entries gets one slot per possible CPU"
    );
    assert_eq!(shape(m.inner_lru().fd()), (9, 4, 4, 4));
    assert_eq!(shape(m.outer_rb().fd()), (12, 4, 4, 2));
    assert_eq!(shape(m.outer_hash().fd()), (13, 4, 4, 4));
    assert_eq!(shape(m.outer_pe().fd()), (12, 4, 4, 2));
    assert_eq!(shape(m.outer_lru().fd()), (13, 4, 4, 2));

    let id = |fd| prog_or_map_id(fd).unwrap();
    assert_eq!(slot(m.outer_rb().fd(), 0), Some(id(m.inner_rb().fd())));
    assert_eq!(slot(m.outer_rb().fd(), 1), None);
    assert_eq!(slot(m.outer_hash().fd(), 3), Some(id(m.inner_h().fd())));
    assert_eq!(slot(m.outer_pe().fd(), 0), Some(id(m.inner_pe().fd())));
    assert_eq!(slot(m.outer_lru().fd(), 7), Some(id(m.inner_lru().fd())));
}

#[test]
fn programs_use_each_inner_map_type_through_its_outer_map() {
    require_kernel!();
    let skel = mimtypes::open().load().unwrap();
    let m = skel.maps();

    assert_eq!(
        run(&skel, 1, 0xabcd),
        0,
        "ringbuf output through outer_rb[0]"
    );
    let mut rb = RingBuffer::new(m.inner_rb().fd()).unwrap();
    let mut got = Vec::new();
    rb.consume(|r| got.push(u64::from_ne_bytes(r[..8].try_into().unwrap())));
    assert_eq!(got, vec![0xabcd]);

    assert_eq!(run(&skel, 2, 5), 0, "hash update through outer_hash[3]");
    let h = Map::new(m.inner_h().fd()).unwrap();
    assert_eq!(
        h.get(&5u32.to_ne_bytes()).unwrap(),
        Some(15u64.to_ne_bytes().to_vec())
    );

    assert_eq!(
        run(&skel, 3, 1),
        -2,
        "perf output through outer_pe[0]: no perf event in the slot, -ENOENT"
    );

    for k in 0..6u32 {
        assert_eq!(run(&skel, 4, u64::from(k)), 0, "LRU update of key {k}");
    }
    let lru = Map::new(m.inner_lru().fd()).unwrap();
    assert!(lru.keys().count() <= 4, "LRU inner map evicts");
    assert_eq!(
        lru.get(&5u32.to_ne_bytes()).unwrap(),
        Some(6u32.to_ne_bytes().to_vec())
    );
}

fn create(map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> std::os::fd::OwnedFd {
    map_create(&MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        name: "mim_test",
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("map_create type {map_type}: {e}"))
}

fn put(outer: BorrowedFd<'_>, key: u32, inner: BorrowedFd<'_>) -> Result<(), Option<Errno>> {
    Map::new(outer)
        .unwrap()
        .update(
            &key.to_ne_bytes(),
            &(inner.as_raw_fd() as u32).to_ne_bytes(),
            0,
        )
        .map_err(|e| e.errno())
}

#[test]
fn inner_templates_match_the_declared_inner_maps() {
    require_kernel!();
    let skel = mimtypes::open().load().unwrap();
    let m = skel.maps();
    let cpus = possible_cpus().unwrap() as u32;

    // The PERF_EVENT_ARRAY template was created (a perf event array with max_entries 0 is refused,
    // so the load itself shows it was sized). The kernel compares type, key/value sizes and flags
    // of inner maps, and max_entries only for ARRAY inners: a perf event array or ring buffer of
    // another size fits as well.
    let pe_ok = create(4, 4, 4, cpus);
    assert_eq!(put(m.outer_pe().fd(), 1, pe_ok.as_fd()), Ok(()));
    let pe_other = create(4, 4, 4, cpus + 1);
    assert_eq!(put(m.outer_pe().fd(), 1, pe_other.as_fd()), Ok(()));
    let not_pe = create(2, 4, 4, cpus);
    assert_eq!(
        put(m.outer_pe().fd(), 1, not_pe.as_fd()),
        Err(Some(Errno::INVAL)),
        "an ARRAY is not a PERF_EVENT_ARRAY"
    );

    let rb_ok = create(27, 0, 0, 4096);
    assert_eq!(put(m.outer_rb().fd(), 1, rb_ok.as_fd()), Ok(()));
    let h_in_rb = create(1, 4, 8, 8);
    assert_eq!(
        put(m.outer_rb().fd(), 1, h_in_rb.as_fd()),
        Err(Some(Errno::INVAL))
    );

    let h_ok = create(1, 4, 8, 8);
    assert_eq!(put(m.outer_hash().fd(), 0, h_ok.as_fd()), Ok(()));
    let h_wrong_type = create(2, 4, 8, 8);
    assert_eq!(
        put(m.outer_hash().fd(), 0, h_wrong_type.as_fd()),
        Err(Some(Errno::INVAL)),
        "an ARRAY is not a HASH"
    );
}
