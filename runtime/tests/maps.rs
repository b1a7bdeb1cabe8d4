//! Map syscalls, the safe `Map` API and `MappedData` on the real kernel.

mod common;

use std::os::fd::AsFd;

use common::require_kernel;
use lskel::sys::bpf::{self, flags, map_type, MapCreateAttr};
use lskel::{Errno, Error, Map, MappedData, MappedRoData};

fn array(name: &str, value_size: u32, max_entries: u32, map_flags: u32) -> std::os::fd::OwnedFd {
    bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size,
        max_entries,
        map_flags,
        name,
        ..Default::default()
    })
    .expect("create array")
}

#[test]
fn map_info_reports_what_was_created() {
    if !require_kernel() {
        return;
    }
    let fd = array("lskel_info", 12, 3, 0);
    let info = bpf::map_info(fd.as_fd()).unwrap();
    assert_eq!(info.map_type, map_type::BPF_MAP_TYPE_ARRAY);
    assert_eq!(
        (info.key_size, info.value_size, info.max_entries),
        (4, 12, 3)
    );
    assert_eq!(info.name, "lskel_info");
    assert!(info.id > 0);
    assert_eq!(bpf::prog_or_map_id(&fd).unwrap(), info.id);
    // By id, as leak tests do.
    assert!(bpf::all_ids(bpf::map_get_next_id)
        .unwrap()
        .contains(&info.id));
    let again = bpf::map_get_fd_by_id(info.id).unwrap();
    assert_eq!(bpf::map_info(again.as_fd()).unwrap().id, info.id);
}

#[test]
fn update_lookup_freeze_mmap_round_trip() {
    if !require_kernel() {
        return;
    }
    let fd = array("lskel_rt", 8, 1, flags::BPF_F_MMAPABLE);
    let map = Map::new(fd.as_fd()).unwrap();
    assert_eq!((map.key_size(), map.value_size()), (4, 8));
    let key = 0u32.to_ne_bytes();
    map.update(
        &key,
        &0x1122_3344_5566_7788u64.to_ne_bytes(),
        flags::BPF_ANY,
    )
    .unwrap();
    let mut v = [0u8; 8];
    assert!(map.lookup(&key, &mut v).unwrap());
    assert_eq!(u64::from_ne_bytes(v), 0x1122_3344_5566_7788);
    assert!(!map.lookup(&5u32.to_ne_bytes(), &mut v).unwrap());
    // Wrong buffer sizes are refused before the syscall.
    assert!(matches!(
        map.lookup(&key, &mut [0u8; 4]),
        Err(Error::BufferSize {
            what: "value",
            expected: 8,
            actual: 4
        })
    ));

    // mmap sees the value and writes through.
    let data = MappedData::<u64>::new(fd.as_fd()).unwrap();
    assert_eq!(data.read(), 0x1122_3344_5566_7788);
    data.write(&99);
    assert!(map.lookup(&key, &mut v).unwrap());
    assert_eq!(u64::from_ne_bytes(v), 99);
    drop(data);

    // A value smaller than T is refused.
    assert!(matches!(
        MappedData::<[u64; 2]>::new(fd.as_fd()),
        Err(Error::ValueSize {
            value_size: 8,
            needed: 16
        })
    ));
    // Zero-sized T maps nothing.
    let unit = MappedData::<()>::new(fd.as_fd()).unwrap();
    unit.read();

    // Frozen: syscall updates fail, read-only mmap works, writable mmap is refused.
    bpf::map_freeze(fd.as_fd()).unwrap();
    let err = map
        .update(&key, &1u64.to_ne_bytes(), flags::BPF_ANY)
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::PERM), "{err}");
    // Programs may still write it (no BPF_F_RDONLY_PROG): no `&u64` view.
    assert!(matches!(
        MappedRoData::<u64>::new(fd.as_fd()),
        Err(Error::InvalidArgument(_))
    ));
    let err = MappedData::<u64>::new(fd.as_fd()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mmap {
                errno: Errno::PERM,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn hash_keys_and_delete() {
    if !require_kernel() {
        return;
    }
    let fd = bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_HASH,
        key_size: 4,
        value_size: 4,
        max_entries: 16,
        name: "lskel_hash",
        ..Default::default()
    })
    .unwrap();
    let map = Map::new(fd.as_fd()).unwrap();
    for k in [3u32, 1, 2] {
        map.update(
            &k.to_ne_bytes(),
            &(k * 10).to_ne_bytes(),
            flags::BPF_NOEXIST,
        )
        .unwrap();
    }
    let err = map
        .update(&1u32.to_ne_bytes(), &0u32.to_ne_bytes(), flags::BPF_NOEXIST)
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST));
    let mut keys: Vec<u32> = map
        .keys()
        .map(|k| u32::from_ne_bytes(k.unwrap().try_into().unwrap()))
        .collect();
    keys.sort();
    assert_eq!(keys, [1, 2, 3]);
    assert!(map.delete(&2u32.to_ne_bytes()).unwrap());
    assert!(!map.delete(&2u32.to_ne_bytes()).unwrap());
    assert_eq!(map.keys().count(), 2);
    assert_eq!(
        map.get(&3u32.to_ne_bytes()).unwrap(),
        Some(30u32.to_ne_bytes().to_vec())
    );
}

#[test]
fn percpu_lookup_splits_per_cpu() {
    if !require_kernel() {
        return;
    }
    let ncpu = lskel::possible_cpus().unwrap();
    assert!(ncpu >= 1);
    let fd = bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_PERCPU_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 2,
        name: "lskel_pcpu",
        ..Default::default()
    })
    .unwrap();
    let map = Map::new(fd.as_fd()).unwrap();
    assert!(map.is_percpu());
    // Values are padded to 8 bytes per CPU.
    let mut all = vec![0u8; 8 * ncpu];
    for cpu in 0..ncpu {
        all[cpu * 8..cpu * 8 + 4].copy_from_slice(&(100 + cpu as u32).to_ne_bytes());
    }
    map.update(&1u32.to_ne_bytes(), &all, flags::BPF_ANY)
        .unwrap();
    let per = map.lookup_percpu(&1u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(per.len(), ncpu);
    for (cpu, v) in per.iter().enumerate() {
        assert_eq!(v, &(100 + cpu as u32).to_ne_bytes());
    }
    // A plain-size buffer is refused for a per-CPU map.
    assert!(matches!(
        map.lookup(&1u32.to_ne_bytes(), &mut [0u8; 4]),
        Err(Error::BufferSize { .. })
    ));
}

#[test]
fn read_only_views_freeze_the_map() {
    if !require_kernel() {
        return;
    }
    let fd = array(
        "lskel_t_ro",
        8,
        1,
        flags::BPF_F_MMAPABLE | flags::BPF_F_RDONLY_PROG,
    );
    let map = Map::new(fd.as_fd()).unwrap();
    let key = 0u32.to_ne_bytes();
    map.update(&key, &7u64.to_ne_bytes(), flags::BPF_ANY)
        .unwrap();
    let ro = MappedRoData::<u64>::new(fd.as_fd()).unwrap();
    assert_eq!(*ro, 7);
    // Frozen by the view: the syscall side can no longer change what `&u64` points at.
    let err = map
        .update(&key, &1u64.to_ne_bytes(), flags::BPF_ANY)
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::PERM), "{err}");
    // And no writable view of a map that is read-only for programs.
    assert!(MappedData::<u64>::new(fd.as_fd()).is_err());
    // Not an mmapable array at all.
    let plain = array("lskel_t_plain", 8, 1, 0);
    assert!(MappedData::<u64>::new(plain.as_fd()).is_err());
    assert!(MappedRoData::<u64>::new(plain.as_fd()).is_err());
}
