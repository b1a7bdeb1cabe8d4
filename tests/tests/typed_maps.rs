//! The typed map API on typed_maps.bpf.o: `skel.maps().x()` is a `TypedMap`, `PerCpuMap`,
//! `Queue` or `BloomFilter` with the object's key and value types; a program writes and reads
//! the maps, so each side sees the other's elements. Also batches, lookup-and-delete, `info()`
//! of maps and programs (run statistics), and a map whose value size changed before load.

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;

use lskel::sys::bpf::flags::{BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use lskel::sys::bpf::{map_type, prog_test_run, prog_type, TestRunAttr};
use lskel::{possible_cpus, Error};
use lskel_tests::require_kernel;

lskel::bpf_skeleton!("bpf/typed_maps.bpf.o");

use typed_maps::types::{tm_item, tm_key, tm_pcpu, tm_val};

const WRITE: u64 = 1;
const READ: u64 = 2;
/// `BPF_F_TEST_RUN_ON_CPU`.
const ON_CPU: u32 = 1;

/// Runs the program with `args = { op, arg }`, on `cpu` when given.
fn run_on(prog: BorrowedFd<'_>, op: u64, arg: u64, cpu: Option<u32>) {
    let mut ctx = [0u8; 16];
    ctx[..8].copy_from_slice(&op.to_ne_bytes());
    ctx[8..].copy_from_slice(&arg.to_ne_bytes());
    let attr = TestRunAttr {
        ctx_in: Some(&mut ctx),
        flags: if cpu.is_some() { ON_CPU } else { 0 },
        cpu: cpu.unwrap_or(0),
        ..Default::default()
    };
    prog_test_run(prog, attr).expect("BPF_PROG_TEST_RUN");
}

fn run(skel: &typed_maps::Skel, op: u64, arg: u64) {
    run_on(skel.progs().tm_run().unwrap(), op, arg, None);
}

fn key(arg: u64) -> tm_key {
    tm_key {
        pid: arg as u32,
        tag: 7,
        cookie: arg * 2,
    }
}

fn val(count: u64, sum: u64) -> tm_val {
    tm_val {
        count,
        sum,
        comm: [0; 8],
    }
}

fn load() -> typed_maps::Skel {
    typed_maps::open().load().expect("load typed_maps.bpf.o")
}

#[test]
fn hash_get_insert_remove_keys_iter() {
    require_kernel!();
    let skel = load();
    let hash = skel.maps().hash();
    for arg in [3, 5, 9] {
        run(&skel, WRITE, arg);
    }
    // What the program wrote, typed.
    let v = hash
        .get(&key(5))
        .unwrap()
        .expect("key 5 written by the program");
    assert_eq!((v.count, v.sum), (5, 15));
    assert_eq!(&v.comm[..4], b"bpf\0".map(|b| b as i8).as_slice());
    assert!(hash.get(&key(4)).unwrap().is_none());
    // What user space writes, the program reads.
    hash.insert(&key(100), &val(41, 42), BPF_NOEXIST).unwrap();
    assert!(hash.insert(&key(100), &val(0, 0), BPF_NOEXIST).is_err());
    run(&skel, READ, 100);
    let bss = skel.bss().read();
    assert_eq!((bss.out_found, bss.out_count, bss.out_sum), (1, 41, 42));
    // keys() and iter() see all four.
    let mut keys: Vec<u32> = hash.keys().map(|k| k.unwrap().pid).collect();
    keys.sort();
    assert_eq!(keys, [3, 5, 9, 100]);
    let all: BTreeMap<u32, u64> = hash
        .iter()
        .map(|e| e.unwrap())
        .map(|(k, v)| (k.pid, v.count))
        .collect();
    assert_eq!(all, BTreeMap::from([(3, 3), (5, 5), (9, 9), (100, 41)]));
    // remove: true once, then false; the program no longer finds it.
    assert!(hash.remove(&key(100)).unwrap());
    assert!(!hash.remove(&key(100)).unwrap());
    run(&skel, READ, 100);
    assert_eq!(skel.bss().out_found(), 0);
    // lookup_and_delete returns the value and removes it.
    let v = hash.lookup_and_delete(&key(9)).unwrap().unwrap();
    assert_eq!(v.sum, 27);
    assert_eq!(
        hash.lookup_and_delete(&key(9)).unwrap().map(|v| v.sum),
        None
    );
    assert_eq!(hash.keys().count(), 2);
}

#[test]
fn arrays_and_lru() {
    require_kernel!();
    let skel = load();
    run(&skel, WRITE, 1030); // index 1030 % 1024 = 6
    let array = skel.maps().array();
    assert_eq!(array.get(&6).unwrap().unwrap().count, 1030);
    assert_eq!(array.get(&7).unwrap().unwrap().count, 0);
    assert_eq!(array.get(&1024).unwrap().map(|v| v.count), None);
    assert_eq!(array.keys().count(), 1024);
    // Arrays refuse deletes: the kernel's error.
    let e = array.remove(&6).unwrap_err();
    assert_eq!(e.errno(), Some(lskel::Errno::INVAL), "{e}");
    let lru = skel.maps().lru();
    assert_eq!(lru.get(&1030).unwrap(), Some(1030));
    lru.insert(&1, &11, BPF_ANY).unwrap();
    assert_eq!(
        lru.iter().map(|e| e.unwrap()).collect::<BTreeMap<_, _>>(),
        BTreeMap::from([(1, 11), (1030, 1030)])
    );
}

#[test]
fn percpu_values_one_per_possible_cpu() {
    require_kernel!();
    let skel = load();
    let ncpus = possible_cpus().unwrap();
    let prog = skel.progs().tm_run().unwrap();
    let online = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(ncpus);
    // One run on each online CPU: each CPU's own value changes.
    for cpu in 0..online as u32 {
        for _ in 0..=cpu {
            run_on(prog, WRITE, 10 + u64::from(cpu), Some(cpu));
        }
    }
    let pa = skel.maps().percpu_array();
    let values: Vec<tm_pcpu> = pa.get(&0).unwrap().unwrap();
    assert_eq!(values.len(), ncpus);
    for (cpu, v) in values.iter().enumerate().take(online) {
        assert_eq!(
            (v.hits, v.last, v.cpu),
            (cpu as u32 + 1, 10 + cpu as u32, cpu as u32),
            "cpu {cpu}"
        );
    }
    // insert takes exactly one value per possible CPU; values are strided at 16 bytes.
    let mine: Vec<tm_pcpu> = (0..ncpus as u32)
        .map(|c| tm_pcpu {
            hits: 100 + c,
            last: c,
            cpu: 7,
        })
        .collect();
    pa.insert(&1, &mine, BPF_ANY).unwrap();
    let back = pa.get(&1).unwrap().unwrap();
    assert_eq!(
        back.iter()
            .map(|v| (v.hits, v.last, v.cpu))
            .collect::<Vec<_>>(),
        mine.iter()
            .map(|v| (v.hits, v.last, v.cpu))
            .collect::<Vec<_>>()
    );
    let e = pa.insert(&1, &mine[..ncpus - 1], BPF_ANY).unwrap_err();
    assert!(matches!(e, Error::BufferSize { .. }), "{e}");
    // A TypedMap over a per-CPU map refuses to pick one CPU's value.
    let wrong = lskel::TypedMap::<u32, tm_pcpu>::new(pa.raw());
    assert!(matches!(wrong.get(&0), Err(Error::InvalidArgument(_))));
    assert!(wrong.iter().next().unwrap().is_err());
    assert!(wrong.insert(&0, &mine[0], BPF_ANY).is_err());
    // Per-CPU hash: the program adds on the CPU it runs on.
    run_on(prog, WRITE, 3, Some(0));
    run_on(prog, WRITE, 3, Some(0));
    let ph = skel.maps().percpu_hash();
    let sums = ph.get(&key(3)).unwrap().unwrap();
    assert_eq!(sums.len(), ncpus);
    assert_eq!(sums[0], 6);
    assert_eq!(sums.iter().skip(1).sum::<u64>(), 0);
    let all: Vec<(tm_key, Vec<u64>)> = ph.iter().map(|e| e.unwrap()).collect();
    assert!(all.iter().any(|(k, v)| k.pid == 3 && v[0] == 6));
    assert!(ph.remove(&key(3)).unwrap());
    assert_eq!(ph.get(&key(3)).unwrap(), None);
}

#[test]
fn queue_stack_and_bloom() {
    require_kernel!();
    let skel = load();
    let (queue, stack, bloom) = (
        skel.maps().queue(),
        skel.maps().stack(),
        skel.maps().bloom(),
    );
    for arg in [1, 2, 3] {
        run(&skel, WRITE, arg);
    }
    let a = |i: Option<tm_item>| i.map(|i| (i.a, i.b));
    // Queue: first in, first out; stack: last in, first out.
    assert_eq!(a(queue.peek().unwrap()), Some((1, 2)));
    assert_eq!(a(queue.pop().unwrap()), Some((1, 2)));
    assert_eq!(a(stack.peek().unwrap()), Some((3, 4)));
    assert_eq!(a(stack.pop().unwrap()), Some((3, 4)));
    assert_eq!(a(stack.pop().unwrap()), Some((2, 3)));
    // User space pushes, the program pops.
    queue.push(&tm_item { a: 77, b: 0 }, BPF_ANY).unwrap();
    run(&skel, READ, 0);
    assert_eq!(skel.bss().out_popped(), 2);
    run(&skel, READ, 0);
    assert_eq!(skel.bss().out_popped(), 3);
    run(&skel, READ, 0);
    assert_eq!(skel.bss().out_popped(), 77);
    run(&skel, READ, 0);
    assert_eq!(skel.bss().out_popped(), -1);
    assert_eq!(a(queue.pop().unwrap()), None);
    // A full queue refuses a push unless BPF_EXIST drops the oldest.
    for i in 0..8 {
        queue.push(&tm_item { a: i, b: i }, BPF_ANY).unwrap();
    }
    assert!(queue.push(&tm_item { a: 8, b: 8 }, BPF_ANY).is_err());
    queue.push(&tm_item { a: 8, b: 8 }, BPF_EXIST).unwrap();
    assert_eq!(a(queue.pop().unwrap()), Some((1, 1)));
    // Bloom: what the program and user space added is there; absent values (almost surely) not.
    for v in [1u64, 2, 3] {
        assert!(bloom.contains(&v).unwrap());
    }
    bloom.push(&1_000_000).unwrap();
    assert!(bloom.contains(&1_000_000).unwrap());
    let absent = (500_000u64..500_050)
        .filter(|v| !bloom.contains(v).unwrap())
        .count();
    assert!(absent > 40, "{absent} of 50 absent values reported absent");
}

#[test]
fn batches_over_a_thousand_entries() {
    require_kernel!();
    let skel = load();
    let hash = skel.maps().hash();
    let keys: Vec<tm_key> = (0..3000).map(key).collect();
    let vals: Vec<tm_val> = (0..3000).map(|i| val(i, i * 10)).collect();
    assert_eq!(hash.update_batch(&keys, &vals, BPF_ANY).unwrap(), 3000);
    // The program sees a batch-inserted element.
    run(&skel, READ, 2500);
    assert_eq!((skel.bss().out_found(), skel.bss().out_sum()), (1, 25_000));
    let all = hash.lookup_batch().unwrap();
    assert_eq!(all.len(), 3000);
    let got: BTreeMap<u32, u64> = all.iter().map(|(k, v)| (k.pid, v.sum)).collect();
    assert_eq!(got.len(), 3000);
    assert!(got
        .iter()
        .all(|(&p, &s)| s == u64::from(p) * 10 && keys[p as usize].cookie == u64::from(p) * 2));
    assert_eq!(hash.delete_batch(&keys[..1000]).unwrap(), 1000);
    assert_eq!(hash.keys().count(), 2000);
    let taken = hash.lookup_and_delete_batch().unwrap();
    assert_eq!(taken.len(), 2000);
    assert!(taken.iter().all(|(k, _)| k.pid >= 1000));
    assert_eq!(hash.keys().count(), 0);
    assert_eq!(hash.lookup_batch().unwrap().len(), 0);
    // Arrays: update and look up in batches; delete_batch is the kernel's error.
    let array = skel.maps().array();
    let idx: Vec<u32> = (0..1024).collect();
    let avals: Vec<tm_val> = (0..1024).map(|i| val(i, 1)).collect();
    assert_eq!(array.update_batch(&idx, &avals, BPF_ANY).unwrap(), 1024);
    let back = array.lookup_batch().unwrap();
    assert_eq!(back.len(), 1024);
    assert!(back
        .iter()
        .all(|(i, v)| v.count == u64::from(*i) && v.sum == 1));
    assert!(array.delete_batch(&idx[..4]).unwrap_err().errno().is_some());
    // Per-CPU maps batch too.
    let per = skel.maps().percpu_array().lookup_batch().unwrap();
    assert_eq!(per.len(), 4);
    assert!(per.iter().all(|(_, v)| v.len() == possible_cpus().unwrap()));
}

#[test]
fn info_of_maps_and_programs() {
    require_kernel!();
    let skel = load();
    let m = skel.maps();
    let i = m.hash().info().unwrap();
    assert_eq!(
        (i.name.as_str(), i.map_type),
        ("hash", map_type::BPF_MAP_TYPE_HASH)
    );
    assert_eq!((i.key_size, i.value_size, i.max_entries), (16, 24, 4096));
    let i = m.percpu_array().info().unwrap();
    assert_eq!(
        (i.map_type, i.key_size, i.value_size, i.max_entries),
        (6, 4, 12, 4)
    );
    let i = m.queue().info().unwrap();
    assert_eq!(
        (i.name.as_str(), i.map_type, i.key_size, i.value_size),
        ("queue", 22, 0, 8)
    );
    assert_eq!(m.bloom().info().unwrap().map_type, 30);
    let bss = m.bss().info().unwrap().value_size as usize;
    assert_eq!(bss.next_multiple_of(8), size_of::<typed_maps::Bss>());
    assert_eq!(lskel::map_info(m.lru().fd()).unwrap().map_type, 9);
    assert_eq!(m.hash().raw().key_size(), 16);
    assert!(lskel::map_info(skel.progs().tm_run().unwrap()).is_err());

    let prog = skel.progs().tm_run().unwrap();
    let before = lskel::prog_info(prog).unwrap();
    assert_eq!(
        (before.name.as_str(), before.prog_type),
        ("tm_run", prog_type::BPF_PROG_TYPE_RAW_TRACEPOINT)
    );
    assert!(before.verified_insns > 0);
    assert!(lskel::prog_info(m.hash().fd()).is_err());
    let stats = lskel::enable_stats().unwrap();
    for arg in 0..5 {
        run(&skel, WRITE, arg);
    }
    let after = lskel::prog_info(prog).unwrap();
    drop(stats);
    assert_eq!(after.id, before.id);
    assert!(
        after.run_cnt >= before.run_cnt + 5,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.run_time_ns > before.run_time_ns,
        "{before:?} -> {after:?}"
    );
}

#[test]
fn a_resized_map_fails_typed_operations_with_an_error() {
    require_kernel!();
    let mut open = typed_maps::open();
    open.maps.resized.set_value_size(16);
    let skel = open.load().unwrap();
    let resized = skel.maps().resized();
    assert_eq!(resized.info().unwrap().value_size, 16);
    let e = resized.insert(&1, &5, BPF_ANY).unwrap_err();
    assert!(
        matches!(
            e,
            Error::BufferSize {
                what: "value type",
                expected: 16,
                actual: 8
            }
        ),
        "{e}"
    );
    assert!(matches!(resized.get(&1), Err(Error::BufferSize { .. })));
    assert!(matches!(
        resized.lookup_batch(),
        Err(Error::BufferSize { .. })
    ));
    // Keys still have their size; the raw map works with the new value size.
    let raw = resized.raw();
    assert_eq!(raw.value_size(), 16);
    raw.update(&1u32.to_ne_bytes(), &[9u8; 16], BPF_ANY)
        .unwrap();
    assert_eq!(raw.get(&1u32.to_ne_bytes()).unwrap().unwrap(), [9u8; 16]);
    assert_eq!(
        resized.keys().map(|k| k.unwrap()).collect::<Vec<u32>>(),
        [1]
    );
    // The other maps are untouched.
    skel.maps().lru().insert(&1, &2, BPF_ANY).unwrap();
}
