//! Scale: an object with 200 programs and 100 maps (`tests/bpf/scale.bpf.c`, written by
//! `tests/bpf/gen_scale.sh`) loads through one light skeleton, every program works, and the
//! loader's stack use does not grow with the number of programs and maps (lskel keeps fds in the
//! ctx and the blob, where libbpf's loader keeps program fds in 32 stack slots).
//!
//! Expectations follow the header comment of scale.bpf.c:
//! - p<i> adds 1 to `.bss` `counts[i]` (through the global subprogram `bump`), sets `errs[i]` to 0
//!   and returns `1000 + i`;
//! - `m<i % 100>[i / 100] = mix(i, 1)`, and for odd i also `m<(i + 50) % 100>[2 + i / 100] =
//!   mix(i, 2)`, with `mix(x, y) = (x * 31 + y) ^ 0x5a5a`;
//! - map j is ARRAY (j % 3 == 0), HASH (j % 3 == 1) or PERCPU_ARRAY (j % 3 == 2).

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Mutex;
use std::time::Instant;

use lskel::sys::bpf;
use lskel::Map;
use lskel_tests::{fixture, open_fds, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/scale.bpf.o");

const N_PROGS: usize = 200;
const N_MAPS: usize = 100;

/// The tests count this process's descriptors: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn mix(x: u64, y: u64) -> u64 {
    (x * 31 + y) ^ 0x5a5a
}

/// `(map index, key, value)` written by program `i`.
fn writes(i: usize) -> Vec<(usize, u32, u64)> {
    let mut w = vec![(i % 100, (i / 100) as u32, mix(i as u64, 1))];
    if i % 2 == 1 {
        w.push(((i + 50) % 100, 2 + (i / 100) as u32, mix(i as u64, 2)));
    }
    w
}

/// Map id by kernel name (`m000`..`m099`, `scale.bss`), for the maps program `prog` uses.
fn maps_of(prog: BorrowedFd<'_>) -> BTreeMap<String, u32> {
    bpf::prog_info(prog)
        .unwrap()
        .map_ids
        .into_iter()
        .map(|id| {
            let fd = bpf::map_get_fd_by_id(id).unwrap();
            (bpf::map_info(fd.as_fd()).unwrap().name, id)
        })
        .collect()
}

/// The value under `key`: the only value of a plain map, the sum over CPUs of a per-CPU one
/// (a program writes the running CPU's copy only; every other copy must be 0). `None` if absent.
fn value(map: &Map<'_>, key: u32) -> Option<u64> {
    let key = key.to_ne_bytes();
    let u64_of = |v: &[u8]| u64::from_ne_bytes(v[..8].try_into().unwrap());
    if map.is_percpu() {
        let per_cpu = map.lookup_percpu(&key).unwrap()?;
        let non_zero: Vec<u64> = per_cpu
            .iter()
            .map(|v| u64_of(v))
            .filter(|&v| v != 0)
            .collect();
        assert!(
            non_zero.len() <= 1,
            "more than one CPU written: {non_zero:?}"
        );
        Some(non_zero.first().copied().unwrap_or(0))
    } else {
        map.get(&key).unwrap().map(|v| u64_of(&v))
    }
}

/// Checks the effects of running program `i` once (and the maps it uses).
fn check_effects(skel: &scale::Skel, prog: BorrowedFd<'_>, i: usize) {
    assert_eq!(skel.bss().counts()[i], 1, "p{i:03}: counts[{i}]");
    assert_eq!(skel.bss().errs()[i], 0, "p{i:03}: errs[{i}]");
    let used = maps_of(prog);
    let mut expected: BTreeSet<String> = writes(i)
        .iter()
        .map(|(m, _, _)| format!("m{m:03}"))
        .collect();
    expected.insert("scale.bss".to_string());
    assert_eq!(
        used.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "p{i:03}: maps used"
    );
    for (m, key, v) in writes(i) {
        let fd = bpf::map_get_fd_by_id(used[&format!("m{m:03}")]).unwrap();
        let map = Map::new(fd.as_fd()).unwrap();
        assert_eq!(value(&map, key), Some(v), "p{i:03}: m{m:03}[{key}]");
    }
}

/// Stack bytes the loader program uses: the deepest `r10`-relative access (0 if none).
fn loader_stack_depth(insns: &[u8]) -> i64 {
    let mut deepest = 0i64;
    let mut k = 0;
    while k + 8 <= insns.len() {
        let insn = &insns[k..k + 8];
        let (code, dst, src) = (insn[0], insn[1] & 0xf, insn[1] >> 4);
        let off = i64::from(i16::from_le_bytes([insn[2], insn[3]]));
        let class = code & 7;
        // LDX (1) reads [src + off]; ST (2) / STX (3) write [dst + off].
        let base = match class {
            1 => Some(src),
            2 | 3 => Some(dst),
            _ => None,
        };
        if base == Some(10) && off < 0 {
            deepest = deepest.max(-off);
        }
        // A frame pointer copied out (rX = r10) counts as the whole 512-byte stack.
        if code == 0xbf && src == 10 {
            deepest = deepest.max(512);
        }
        k += if code == 0x18 { 16 } else { 8 };
    }
    deepest
}

#[test]
fn loader_size_and_stack_use() {
    // Reading the objects opens files: not while the other test counts fds.
    let _g = lock();
    let gen = |name: &str| {
        let data = std::fs::read(fixture(&format!("{name}.bpf.o"))).unwrap();
        lskel_gen::generate(&data, name).unwrap()
    };
    let scale = gen("scale");
    let counter = gen("counter");
    assert_eq!(scale.plan.programs.len(), N_PROGS);
    assert_eq!(
        scale.plan.maps.len(),
        N_MAPS + 1,
        "100 BTF-defined maps and .bss"
    );
    let insns = scale.loader.insns.len() / 8;
    let blob = scale.loader.blob.len();
    let code: usize = scale
        .plan
        .programs
        .iter()
        .map(|p| p.linked.insns.len())
        .sum();
    let (stack_scale, stack_counter) = (
        loader_stack_depth(&scale.loader.insns),
        loader_stack_depth(&counter.loader.insns),
    );
    eprintln!(
        "scale: loader {insns} insns, blob {blob} bytes (programs' code {code} bytes, linked), \
         ctx {} bytes, loader stack {stack_scale} bytes; counter: loader {} insns, blob {} \
         bytes, stack {stack_counter} bytes",
        scale.loader.ctx_size,
        counter.loader.insns.len() / 8,
        counter.loader.blob.len()
    );
    assert_eq!(
        stack_scale, stack_counter,
        "the loader's stack use must not grow with programs and maps"
    );
    assert!(stack_scale <= 512);
    // The ctx (fds come back there) must fit test_run's limit.
    assert!(scale.loader.ctx_size <= 65535);
}

#[test]
fn two_hundred_programs_and_a_hundred_maps() {
    let _g = lock();
    require_kernel!();
    let fds_before = open_fds();
    let progs_before = bpf::all_ids(bpf::prog_get_next_id).unwrap();
    let progs_before: BTreeSet<u32> = progs_before.into_iter().collect();

    let start = Instant::now();
    let skel = scale::open().load().unwrap();
    eprintln!("scale: load took {:?}", start.elapsed());

    // Exactly 100 + 1 map fds and 200 program fds are new.
    let new_fds = open_fds().difference(&fds_before).count();
    assert_eq!(new_fds, N_MAPS + 1 + N_PROGS, "new fds after load");

    // Typed accessors, first, last and a few in the middle.
    let p = skel.progs();
    let sample: [(usize, Option<BorrowedFd<'_>>); 9] = [
        (0, p.p000()),
        (1, p.p001()),
        (2, p.p002()),
        (99, p.p099()),
        (100, p.p100()),
        (101, p.p101()),
        (150, p.p150()),
        (198, p.p198()),
        (199, p.p199()),
    ];
    // Nothing ran yet: every slot is 0 and the maps are empty (arrays hold 0).
    assert!(skel.bss().counts().iter().all(|&c| c == 0));
    let m = skel.maps();
    for map in [
        m.m000().fd(),
        m.m001().fd(),
        m.m002().fd(),
        m.m050().fd(),
        m.m099().fd(),
    ] {
        let map = Map::new(map).unwrap();
        for key in 0..4 {
            assert!(matches!(value(&map, key), None | Some(0)));
        }
    }
    for (i, fd) in sample {
        let fd = fd.unwrap_or_else(|| panic!("p{i:03} not loaded"));
        assert_eq!(
            bpf::prog_info(fd).unwrap().name,
            format!("p{i:03}"),
            "accessor p{i:03}"
        );
        let ret = run_syscall_prog(fd, &mut []).unwrap();
        assert_eq!(ret, 1000 + i as u32, "p{i:03} return value");
        check_effects(&skel, fd, i);
    }
    let ran: BTreeSet<usize> = sample.iter().map(|(i, _)| *i).collect();
    // Only the sampled programs' slots moved.
    for (i, &c) in skel.bss().counts().iter().enumerate() {
        assert_eq!(c, u64::from(ran.contains(&i)), "counts[{i}]");
    }
    // Typed map accessors reach the same maps the programs use.
    let m000 = Map::new(skel.maps().m000().fd()).unwrap();
    assert_eq!(value(&m000, 0), Some(mix(0, 1)));
    assert_eq!(value(&m000, 1), Some(mix(100, 1)));
    let m051 = Map::new(skel.maps().m051().fd()).unwrap();
    assert_eq!(value(&m051, 2), Some(mix(1, 2)), "written by p001");
    assert_eq!(value(&m051, 3), Some(mix(101, 2)), "written by p101");

    // Every other program, found by id: the new programs named p<i> that use this .bss.
    let bss_id = bpf::prog_or_map_id(skel.maps().bss().fd()).unwrap();
    let mut others = BTreeMap::new();
    for id in bpf::all_ids(bpf::prog_get_next_id).unwrap() {
        if progs_before.contains(&id) {
            continue;
        }
        let Ok(fd) = bpf::prog_get_fd_by_id(id) else {
            continue;
        };
        let info = bpf::prog_info(fd.as_fd()).unwrap();
        let Some(i) = info
            .name
            .strip_prefix('p')
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if info.map_ids.contains(&bss_id) {
            assert!(others.insert(i, fd).is_none(), "two programs p{i:03}");
        }
    }
    assert_eq!(others.len(), N_PROGS, "programs of this skeleton");
    let start = Instant::now();
    for (&i, fd) in &others {
        if ran.contains(&i) {
            continue;
        }
        let ret = run_syscall_prog(fd.as_fd(), &mut []).unwrap();
        assert_eq!(ret, 1000 + i as u32, "p{i:03} return value");
    }
    eprintln!(
        "scale: ran the other {} programs in {:?}",
        N_PROGS - ran.len(),
        start.elapsed()
    );
    for (&i, fd) in &others {
        check_effects(&skel, fd.as_fd(), i);
    }
    assert!(skel.bss().counts().iter().all(|&c| c == 1));
    drop(others);

    drop(skel);
    assert_eq!(open_fds(), fds_before, "every fd closed");
}
