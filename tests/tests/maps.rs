//! maps.bpf.o: one map of each common type, written by the `write_maps` syscall program.

use std::time::Duration;

use lskel::{possible_cpus, Errno, Map, RingBuffer};
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/maps.bpf.o");

/// `struct args { u32 key; u32 pad; u64 value; }` (16 bytes).
fn args(key: u32, value: u64) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&key.to_ne_bytes());
    a[8..].copy_from_slice(&value.to_ne_bytes());
    a
}

fn write(skel: &maps::Skel, key: u32, value: u64) {
    let ret = run_syscall_prog(skel.progs().write_maps().unwrap(), &mut args(key, value)).unwrap();
    assert_eq!(ret, 0);
}

fn u64_at(map: &Map<'_>, key: u32) -> Option<u64> {
    map.get(&key.to_ne_bytes())
        .unwrap()
        .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()))
}

fn percpu_sum(map: &Map<'_>, key: u32) -> Option<u64> {
    let cpus = map.lookup_percpu(&key.to_ne_bytes()).unwrap()?;
    assert_eq!(cpus.len(), possible_cpus().unwrap());
    Some(
        cpus.iter()
            .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()))
            .sum(),
    )
}

#[test]
fn write_maps_fills_every_map_type() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    write(&skel, 3, 100);

    let bss = skel.bss().read();
    assert_eq!(
        [
            bss.err_array,
            bss.err_hash,
            bss.err_percpu_array,
            bss.err_percpu_hash,
            bss.err_small,
            bss.err_raw,
            bss.err_ringbuf
        ],
        [0; 7],
        "{bss:?}"
    );
    assert_eq!(bss.runs, 1);

    let m = skel.maps();
    let array = Map::new(m.array_map().fd()).unwrap();
    assert_eq!((array.key_size(), array.value_size()), (4, 8));
    assert_eq!(u64_at(&array, 3), Some(100));
    assert_eq!(u64_at(&array, 2), Some(0), "untouched array slot stays 0");

    let hash = Map::new(m.hash_map().fd()).unwrap();
    assert_eq!(u64_at(&hash, 3), Some(200));
    let hash_info = lskel::sys::bpf::map_info(m.hash_map().fd()).unwrap();
    assert!(
        hash_info.btf_id != 0 && hash_info.btf_key_type_id != 0 && hash_info.btf_value_type_id != 0,
        "hash_map keeps its BTF key/value types in the trimmed BTF: {hash_info:?}"
    );
    assert_eq!(u64_at(&hash, 2), None);
    let keys: Vec<_> = hash.keys().map(Result::unwrap).collect();
    assert_eq!(keys, vec![3u32.to_ne_bytes().to_vec()]);

    let pa = Map::new(m.percpu_array().fd()).unwrap();
    assert!(pa.is_percpu());
    assert_eq!(percpu_sum(&pa, 0), Some(100));

    let ph = Map::new(m.percpu_hash().fd()).unwrap();
    assert!(ph.is_percpu());
    assert_eq!(percpu_sum(&ph, 3), Some(101));
    // Written on one CPU only: exactly one slot is non-zero.
    let slots = ph.lookup_percpu(&3u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(
        slots.iter().filter(|v| v.iter().any(|&b| b != 0)).count(),
        1
    );

    let small = Map::new(m.small_hash().fd()).unwrap();
    assert_eq!((small.key_size(), small.value_size()), (4, 4));
    assert_eq!(
        small.get(&3u32.to_ne_bytes()).unwrap(),
        Some(3u32.to_ne_bytes().to_vec())
    );

    let raw = Map::new(m.raw_array().fd()).unwrap();
    assert_eq!(u64_at(&raw, 0), Some(100));
    let raw_info = lskel::sys::bpf::map_info(m.raw_array().fd()).unwrap();
    assert_eq!(
        (raw_info.btf_key_type_id, raw_info.btf_value_type_id),
        (0, 0),
        "raw_array is declared without BTF key/value types"
    );

    // A second run accumulates in the per-CPU array and overwrites the rest.
    write(&skel, 5, 7);
    assert_eq!(skel.bss().runs(), 2);
    assert_eq!(percpu_sum(&pa, 0), Some(107));
    assert_eq!(u64_at(&array, 5), Some(7));
    assert_eq!(u64_at(&hash, 5), Some(14));
    assert_eq!(percpu_sum(&ph, 5), Some(8));
    assert_eq!(u64_at(&raw, 0), Some(7));
}

#[test]
fn ringbuf_records_come_back_in_order() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    let mut rb = RingBuffer::new(skel.maps().ringbuf().fd()).unwrap();
    assert_eq!(rb.size(), 16384);
    assert_eq!(rb.consume(|_| panic!("no record yet")), 0);

    for (k, v) in [(1u32, 11u64), (2, 22), (9, 0xdead_beef_0000_0001)] {
        write(&skel, k, v);
    }
    let mut got = Vec::new();
    let n = rb
        .poll(Some(Duration::from_secs(5)), |rec| {
            assert_eq!(rec.len(), 16, "struct event is 16 bytes");
            let key = u32::from_ne_bytes(rec[..4].try_into().unwrap());
            let pad = u32::from_ne_bytes(rec[4..8].try_into().unwrap());
            let value = u64::from_ne_bytes(rec[8..16].try_into().unwrap());
            assert_eq!(pad, 0);
            got.push((key, value));
        })
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(got, vec![(1, 11), (2, 22), (9, 0xdead_beef_0000_0001)]);
    assert_eq!(skel.bss().err_ringbuf(), 0);
    // Consumed records are gone.
    assert_eq!(rb.consume(|_| panic!("already consumed")), 0);
    // An empty ring times out with 0 records.
    assert_eq!(
        rb.poll(Some(Duration::from_millis(10)), |_| panic!("empty"))
            .unwrap(),
        0
    );
}

#[test]
fn ringbuf_full_reports_enomem() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    // 16 KiB of data / (16-byte record + 8-byte header) = 682 records fit.
    let fit = 16384 / 24;
    for i in 0..fit {
        write(&skel, 0, i as u64);
        assert_eq!(skel.bss().err_ringbuf(), 0, "record {i}");
    }
    write(&skel, 0, 0);
    assert_eq!(skel.bss().err_ringbuf(), -12);
    let mut rb = RingBuffer::new(skel.maps().ringbuf().fd()).unwrap();
    let mut next = 0u64;
    let n = rb.consume(|rec| {
        assert_eq!(u64::from_ne_bytes(rec[8..16].try_into().unwrap()), next);
        next += 1;
    });
    assert_eq!(n, fit);
    write(&skel, 0, 0);
    assert_eq!(skel.bss().err_ringbuf(), 0, "room again after consuming");
}

#[test]
fn small_hash_holds_only_four_keys_by_default() {
    require_kernel!();
    let open = maps::open();
    assert_eq!(open.maps.small_hash.max_entries(), 4);
    let skel = open.load().unwrap();
    assert_eq!(
        lskel::sys::bpf::map_info(skel.maps().small_hash().fd())
            .unwrap()
            .max_entries,
        4
    );
    for key in [3, 0, 1, 2] {
        write(&skel, key, 1);
        assert_eq!(skel.bss().err_small(), 0, "key {key}");
    }
    write(&skel, 4, 1);
    assert_eq!(skel.bss().err_small(), -7, "5th key gives -E2BIG");
    // An existing key can still be overwritten.
    write(&skel, 2, 1);
    assert_eq!(skel.bss().err_small(), 0);
    // And from user space the 5th key is refused too.
    let small = Map::new(skel.maps().small_hash().fd()).unwrap();
    let err = small
        .update(&7u32.to_ne_bytes(), &7u32.to_ne_bytes(), 0)
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::TOOBIG), "{err}");
    assert_eq!(small.keys().count(), 4);
}

#[test]
fn max_entries_override_lets_small_hash_grow() {
    require_kernel!();
    let mut open = maps::open();
    open.maps.small_hash.set_max_entries(16);
    assert_eq!(open.maps.small_hash.max_entries(), 16);
    let skel = open.load().unwrap();
    let info = lskel::sys::bpf::map_info(skel.maps().small_hash().fd()).unwrap();
    assert_eq!(info.max_entries, 16);
    // The other maps keep the object's sizes.
    assert_eq!(
        lskel::sys::bpf::map_info(skel.maps().array_map().fd())
            .unwrap()
            .max_entries,
        16
    );
    assert_eq!(
        lskel::sys::bpf::map_info(skel.maps().hash_map().fd())
            .unwrap()
            .max_entries,
        64
    );
    for key in 0..10 {
        write(&skel, key, 1);
        assert_eq!(skel.bss().err_small(), 0, "key {key}");
    }
    let small = Map::new(skel.maps().small_hash().fd()).unwrap();
    let mut keys: Vec<u32> = small
        .keys()
        .map(|k| u32::from_ne_bytes(k.unwrap()[..].try_into().unwrap()))
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, (0..10).collect::<Vec<_>>());
    for key in 0..10u32 {
        assert_eq!(
            small.get(&key.to_ne_bytes()).unwrap(),
            Some(key.to_ne_bytes().to_vec())
        );
    }
}

#[test]
fn max_entries_override_on_array_and_ringbuf() {
    require_kernel!();
    let mut open = maps::open();
    open.maps.array_map.set_max_entries(32);
    open.maps.ringbuf.set_max_entries(4096 * 16);
    let skel = open.load().unwrap();
    assert_eq!(
        lskel::sys::bpf::map_info(skel.maps().array_map().fd())
            .unwrap()
            .max_entries,
        32
    );
    let rb = RingBuffer::new(skel.maps().ringbuf().fd()).unwrap();
    assert_eq!(rb.size(), 4096 * 16);
    // Key 20 (>= the object's 16) fits the resized array: the program sees the new size.
    write(&skel, 20, 5);
    assert_eq!(skel.bss().err_array(), 0);
    let array = Map::new(skel.maps().array_map().fd()).unwrap();
    assert_eq!(u64_at(&array, 20), Some(5));
}

#[test]
fn array_key_out_of_range_gives_e2big() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    write(&skel, 20, 5);
    let bss = skel.bss().read();
    assert_eq!(bss.err_array, -7);
    assert_eq!(bss.err_hash, 0);
    assert_eq!(bss.runs, 1);
}

#[test]
fn short_ctx_is_refused() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    let err = run_syscall_prog(skel.progs().write_maps().unwrap(), &mut [0u8; 12]).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
    assert_eq!(skel.bss().runs(), 0);
}

#[test]
fn user_space_map_writes_are_seen() {
    require_kernel!();
    let skel = maps::open().load().unwrap();
    let hash = Map::new(skel.maps().hash_map().fd()).unwrap();
    hash.update(&42u32.to_ne_bytes(), &9u64.to_ne_bytes(), 0)
        .unwrap();
    write(&skel, 42, 1);
    // The program overwrote the user's value.
    assert_eq!(u64_at(&hash, 42), Some(2));
    assert!(hash.delete(&42u32.to_ne_bytes()).unwrap());
    assert!(!hash.delete(&42u32.to_ne_bytes()).unwrap());
    assert_eq!(u64_at(&hash, 42), None);
}

#[test]
fn max_entries_zero_keeps_the_object_value() {
    require_kernel!();
    let mut open = maps::open();
    open.maps.small_hash.set_max_entries(0);
    open.maps.percpu_array.set_max_entries(3);
    let skel = open.load().unwrap();
    let info = |fd| lskel::sys::bpf::map_info(fd).unwrap().max_entries;
    assert_eq!(info(skel.maps().small_hash().fd()), 4);
    assert_eq!(info(skel.maps().percpu_array().fd()), 3);
}
