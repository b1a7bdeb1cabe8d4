//! mapinmap.bpf.o: ARRAY_OF_MAPS and HASH_OF_MAPS with statically initialised slots. The loader
//! creates a template for each outer map's inner type, stores the static slots after the maps
//! exist, and must not leave the templates behind.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use lskel::sys::bpf::{map_get_fd_by_id, map_info, prog_or_map_id};
use lskel::Map;
use lskel_tests::{
    own_bpf_objects, require_kernel, run_syscall_prog, still_alive, wait_until, BpfKind,
};

lskel::bpf_skeleton!("bpf/mapinmap.bpf.o");

/// The census of this process's BPF objects must not see another test of this file.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const ARRAY_OF_MAPS: u32 = 12;
const HASH_OF_MAPS: u32 = 13;

/// `struct mim_args { u32 outer_key; u32 inner_key; u64 value; u32 use_hash; u32 pad; }`.
fn run(skel: &mapinmap::Skel, outer: u32, inner: u32, value: u64, use_hash: bool) {
    let mut a = [0u8; 24];
    a[..4].copy_from_slice(&outer.to_ne_bytes());
    a[4..8].copy_from_slice(&inner.to_ne_bytes());
    a[8..16].copy_from_slice(&value.to_ne_bytes());
    a[16..20].copy_from_slice(&u32::from(use_hash).to_ne_bytes());
    assert_eq!(
        run_syscall_prog(skel.progs().mim_run().unwrap(), &mut a).unwrap(),
        0
    );
}

/// (lookup_miss, last_old, last_err, last_read)
fn state(skel: &mapinmap::Skel) -> (u64, u64, i32, u64) {
    let b = skel.bss().read();
    (b.lookup_miss, b.last_old, b.last_err, b.last_read)
}

fn inner_value(fd: std::os::fd::BorrowedFd<'_>, key: u32) -> u64 {
    let map = Map::new(fd).unwrap();
    let v = map.get(&key.to_ne_bytes()).unwrap().expect("array entry");
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

/// What an outer map holds at `key`, seen from user space: the inner map's id.
fn outer_slot(fd: std::os::fd::BorrowedFd<'_>, key: u32) -> Option<u32> {
    let map = Map::new(fd).unwrap();
    map.get(&key.to_ne_bytes())
        .unwrap()
        .map(|v| u32::from_ne_bytes(v[..4].try_into().unwrap()))
}

fn id(fd: std::os::fd::BorrowedFd<'_>) -> u32 {
    prog_or_map_id(fd).unwrap()
}

#[test]
fn outer_maps_hold_the_static_inner_maps() {
    let _g = lock();
    require_kernel!();
    let skel = mapinmap::open().load().unwrap();
    let m = skel.maps();
    let (a, b, c) = (
        id(m.inner_a().fd()),
        id(m.inner_b().fd()),
        id(m.inner_c().fd()),
    );
    assert_eq!(
        map_info(m.outer_arr().fd()).unwrap().map_type,
        ARRAY_OF_MAPS
    );
    assert_eq!(
        map_info(m.outer_hash().fd()).unwrap().map_type,
        HASH_OF_MAPS
    );

    assert_eq!(
        outer_slot(m.outer_arr().fd(), 0),
        Some(a),
        "outer_arr[0] = inner_a"
    );
    assert_eq!(
        outer_slot(m.outer_arr().fd(), 1),
        None,
        "outer_arr[1] is empty"
    );
    assert_eq!(
        outer_slot(m.outer_arr().fd(), 2),
        Some(b),
        "outer_arr[2] = inner_b"
    );
    assert_eq!(
        outer_slot(m.outer_arr().fd(), 3),
        None,
        "outer_arr[3] is empty"
    );

    assert_eq!(
        outer_slot(m.outer_hash().fd(), 1),
        Some(c),
        "outer_hash[1] = inner_c"
    );
    assert_eq!(
        outer_slot(m.outer_hash().fd(), 5),
        Some(a),
        "outer_hash[5] = inner_a"
    );
    let hash = Map::new(m.outer_hash().fd()).unwrap();
    let mut keys: Vec<u32> = hash
        .keys()
        .map(|k| u32::from_ne_bytes(k.unwrap()[..4].try_into().unwrap()))
        .collect();
    keys.sort();
    assert_eq!(keys, vec![1, 5], "outer_hash has exactly the static keys");
}

#[test]
fn program_writes_inner_maps_through_the_outer_maps() {
    let _g = lock();
    require_kernel!();
    let skel = mapinmap::open().load().unwrap();
    let m = skel.maps();

    run(&skel, 0, 1, 100, false); // outer_arr[0] = inner_a
    assert_eq!(state(&skel), (0, 0, 0, 100));
    assert_eq!(inner_value(m.inner_a().fd(), 1), 100);

    run(&skel, 2, 1, 200, false); // outer_arr[2] = inner_b
    assert_eq!(state(&skel), (0, 0, 0, 200));
    assert_eq!(inner_value(m.inner_b().fd(), 1), 200);
    assert_eq!(inner_value(m.inner_a().fd(), 1), 100, "inner_a untouched");

    // Empty slots of the array of maps.
    run(&skel, 1, 0, 5, false);
    assert_eq!(state(&skel), (1, 0, 0, 200), "lookup_miss, nothing else");
    run(&skel, 3, 0, 5, false);
    assert_eq!(skel.bss().lookup_miss(), 2);

    run(&skel, 1, 3, 300, true); // outer_hash[1] = inner_c
    assert_eq!(state(&skel), (2, 0, 0, 300));
    assert_eq!(inner_value(m.inner_c().fd(), 3), 300);

    run(&skel, 5, 1, 500, true); // outer_hash[5] = inner_a, shared with outer_arr[0]
    assert_eq!(state(&skel), (2, 100, 0, 500), "inner_a[1] was 100");
    assert_eq!(inner_value(m.inner_a().fd(), 1), 500);

    run(&skel, 2, 0, 7, true); // no key 2 in outer_hash
    assert_eq!(skel.bss().lookup_miss(), 3);

    run(&skel, 0, 1, 111, false); // inner_a again, through outer_arr
    assert_eq!(state(&skel), (3, 500, 0, 111));

    run(&skel, 0, 4, 9, false); // inner key out of range
    assert_eq!(state(&skel), (3, 0, -7, 0), "-E2BIG");

    assert_eq!(inner_value(m.inner_a().fd(), 1), 111);
    assert_eq!(inner_value(m.inner_b().fd(), 1), 200);
    assert_eq!(inner_value(m.inner_c().fd(), 3), 300);
    assert_eq!(inner_value(m.inner_c().fd(), 1), 0);
    assert_eq!(skel.bss().runs(), 9);
}

#[test]
fn user_space_can_fill_an_empty_slot() {
    let _g = lock();
    require_kernel!();
    let skel = mapinmap::open().load().unwrap();
    let m = skel.maps();
    run(&skel, 1, 2, 42, false);
    assert_eq!(skel.bss().lookup_miss(), 1);

    // Store inner_c in outer_arr[1] (the value is the inner map's fd).
    let outer = Map::new(m.outer_arr().fd()).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&m.inner_c().fd()) as u32;
    outer
        .update(&1u32.to_ne_bytes(), &fd.to_ne_bytes(), 0)
        .unwrap();
    assert_eq!(
        outer_slot(m.outer_arr().fd(), 1),
        Some(id(m.inner_c().fd()))
    );

    run(&skel, 1, 2, 42, false);
    assert_eq!(state(&skel), (1, 0, 0, 42));
    assert_eq!(inner_value(m.inner_c().fd(), 2), 42);
}

fn describe(ids: &BTreeSet<u32>) -> Vec<String> {
    ids.iter()
        .map(|&i| match map_get_fd_by_id(i) {
            Ok(fd) => {
                let info = map_info(std::os::fd::AsFd::as_fd(&fd)).unwrap();
                format!("{i} {:?} (type {})", info.name, info.map_type)
            }
            Err(e) => format!("{i} (gone: {e})"),
        })
        .collect()
}

#[test]
fn inner_map_templates_are_not_left_behind() {
    let _g = lock();
    require_kernel!();
    let before = own_bpf_objects();
    let skel = mapinmap::open().load().unwrap();
    let m = skel.maps();
    let ours: BTreeSet<u32> = [
        m.inner_a().fd(),
        m.inner_b().fd(),
        m.outer_arr().fd(),
        m.inner_c().fd(),
        m.outer_hash().fd(),
        m.bss().fd(),
    ]
    .into_iter()
    .map(id)
    .collect();
    assert_eq!(ours.len(), 6);

    // A template the loader made lives behind an fd of this process until the loader closes
    // it: the maps held now are exactly the object's.
    let held: BTreeSet<u32> = own_bpf_objects()
        .difference(&before)
        .filter(|(kind, _)| *kind == BpfKind::Map)
        .map(|&(_, id)| id)
        .collect();
    let extra: BTreeSet<u32> = held.difference(&ours).copied().collect();
    assert!(
        extra.is_empty(),
        "maps other than the object's are held after load: {:?}",
        describe(&extra)
    );
    assert_eq!(held, ours);

    // Dropping the skeleton frees every one of them.
    drop(skel);
    assert_eq!(own_bpf_objects(), before);
    wait_until("maps freed after drop", Duration::from_secs(5), || {
        let left: BTreeSet<u32> = still_alive(BpfKind::Map, &ours).into_iter().collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{:?}", describe(&left)))
        }
    });
}
