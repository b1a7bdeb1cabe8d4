//! The interpreter loader (`LoaderKind::Interp`) of every fixture it covers, run in
//! `lskel-emu` next to the straight-line loader of the same object: one instruction count
//! for all, the same `bpf(2)` sequence and results, a load that leaves exactly the ctx's fds
//! open, and every failing syscall reported at the same step with every fd closed.
//! (The other emu tests run the default, the interpreter where it covers the object;
//! `LSKEL_LOADER=straight cargo test -p lskel-gen --test emu_loader` runs them against the
//! straight-line loader of every object.)

mod common;

use common::*;
use lskel_emu::{set_ctx_u32, Cmd, MockKernel, Op};
use lskel_gen::LoaderKind;

/// (interpreter, straight-line) fixture pairs, for the objects the interpreter covers.
fn pairs() -> Vec<(Fixture, Fixture)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf");
    let mut v = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    paths.sort();
    for p in paths {
        let stem = p.file_name().unwrap().to_string_lossy();
        let stem = stem.split('.').next().unwrap().to_string();
        let data = std::fs::read(&p).unwrap();
        let gen = |kind| lskel_gen::generate_with(&data, &stem, kind).unwrap();
        let interp = gen(LoaderKind::Interp);
        if interp.loader.ctx_area.is_none() {
            continue;
        }
        let straight = gen(LoaderKind::StraightLine);
        v.push((
            Fixture {
                stem: stem.clone(),
                skel: interp,
            },
            Fixture {
                stem,
                skel: straight,
            },
        ));
    }
    assert!(
        v.len() >= 20,
        "the interpreter covers only {} fixtures",
        v.len()
    );
    v
}

#[test]
fn one_instruction_count_for_every_object() {
    let counts: std::collections::BTreeSet<usize> = (pairs().iter())
        .map(|(i, _)| i.skel.loader.insns.len() / 8)
        .collect();
    assert_eq!(counts.len(), 1, "interpreter sizes differ: {counts:?}");
    let n = *counts.first().unwrap();
    assert!(n < 400, "{n} insns");
}

/// Both homes of the kernel symbols: vmlinux (object fd 0) and modules (an fd per lookup,
/// closed after the load).
const HOMES: [Home; 2] = [Home::Vmlinux, Home::Modules];

#[test]
fn loads_like_the_straight_line_loader() {
    for ((fi, fs), home) in pairs().iter().flat_map(|p| HOMES.map(|h| (p, h))) {
        let (mut ki, mut ks) = (kernel_for(&fi.skel, home), kernel_for(&fs.skel, home));
        let (mut ci, mut cs) = (fresh_ctx(fi), fresh_ctx(fs));
        assert_eq!(
            run_loader(fi, &mut ki, &mut ci).retval,
            0,
            "{} ({home:?}):\n{}",
            fi.stem,
            syscall_list(&ki)
        );
        assert_eq!(run_loader(fs, &mut ks, &mut cs).retval, 0, "{}", fs.stem);
        assert_loaded(fi, &ki, &ci);
        let calls = |k: &MockKernel| -> Vec<(Cmd, i64)> {
            k.syscalls().iter().map(|s| (s.cmd, s.ret)).collect()
        };
        assert_eq!(calls(&ki), calls(&ks), "{}", fi.stem);
        assert_eq!(ci, cs, "{}: the ctx the runtime reads back", fi.stem);
    }
}

#[test]
fn every_failing_syscall_is_reported_at_its_step_with_every_fd_closed() {
    let mut cases = 0;
    for ((fi, fs), home) in pairs().iter().flat_map(|p| HOMES.map(|h| (p, h))) {
        let mut k = kernel_for(&fi.skel, home);
        let mut ctx = fresh_ctx(fi);
        run_loader(fi, &mut k, &mut ctx);
        let mut seen = std::collections::BTreeMap::new();
        let mut ops: Vec<Op> = k.syscalls().iter().map(|s| Op::Bpf(s.cmd)).collect();
        let finds = (k.events().iter())
            .filter(|e| matches!(e, lskel_emu::Event::BtfFind { .. }))
            .count();
        ops.extend(std::iter::repeat_n(Op::BtfFindByNameKind, finds));
        for op in ops {
            let n = seen.entry(op).or_insert(0u32);
            *n += 1;
            let outcome = |f: &Fixture| {
                let mut k = kernel_for(&f.skel, home);
                k.fail_nth(op, *n, lskel_emu::ENOMEM);
                let mut ctx = fresh_ctx(f);
                let ret = run_loader(f, &mut k, &mut ctx).retval;
                assert_closes_ok(f, &k);
                let text = failed_step_text(f, &ctx).map(str::to_string);
                (ret, text, k.open_fds())
            };
            let (ri, ti, open) = outcome(fi);
            let (rs, ts, _) = outcome(fs);
            assert_eq!((ri, &ti), (rs, &ts), "{} ({home:?}): {op:?} #{n}", fi.stem);
            assert!(
                open.is_empty(),
                "{} ({home:?}): {op:?} #{n} left {open:?} open",
                fi.stem
            );
            cases += 1;
        }
    }
    assert!(cases > 50, "only {cases} cases");
}

/// The `freplace` fixture (in `gen/tests/objects`: it needs a target program) with both
/// loaders.
fn freplace_pair() -> (Fixture, Fixture) {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/objects/freplace.bpf.o");
    let data = std::fs::read(&path).unwrap();
    let gen = |kind| Fixture {
        stem: "freplace".into(),
        skel: lskel_gen::generate_with(&data, "freplace", kind).unwrap(),
    };
    let (fi, fs) = (gen(LoaderKind::Interp), gen(LoaderKind::StraightLine));
    assert!(
        fi.skel.loader.ctx_area.is_some(),
        "freplace is on the interpreter"
    );
    (fi, fs)
}

#[test]
fn freplace_targets_reach_prog_load_as_with_the_straight_line_loader() {
    let (fi, fs) = freplace_pair();
    let pairs = pairs();
    assert_eq!(
        fi.skel.loader.insns.len(),
        pairs[0].0.skel.loader.insns.len(),
        "one interpreter size"
    );
    // Target unset (fails naming the program), then set (the mock kernel refuses fd 40 as a
    // program, after the attr got it).
    for target in [None, Some((40u32, 17u32))] {
        let outcome = |f: &Fixture| {
            let mut k = kernel_for(&f.skel, Home::Vmlinux);
            let mut ctx = fresh_ctx(f);
            if let Some((fd, id)) = target {
                let entry = lskel_gen::abi::ctx::target(n_maps(f), n_progs(f), 0);
                set_ctx_u32(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_PROG_FD, fd);
                set_ctx_u32(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_BTF_ID, id);
            }
            let ret = run_loader(f, &mut k, &mut ctx).retval;
            let loads: Vec<(u32, u32)> = (k.syscalls().iter())
                .filter(|s| s.cmd == Cmd::ProgLoad)
                .map(|s| (s.u32(112), s.u32(108)))
                .collect();
            let step = failed_step_text(f, &ctx).map(str::to_string);
            (ret, loads, step, k.open_fds())
        };
        let (i, s) = (outcome(&fi), outcome(&fs));
        assert_eq!(i, s, "target {target:?}");
        assert!(i.3.is_empty(), "{:?} left open", i.3);
        if target.is_some() {
            assert_eq!(i.1, [(40, 17)]);
        }
    }
}

#[test]
fn kernel_symbols_and_attach_targets_are_on_the_interpreter() {
    let covered: Vec<String> = pairs().into_iter().map(|(i, _)| i.stem).collect();
    for stem in [
        "kfuncs",
        "ksyms",
        "ksyms_percpu",
        "missing_kfunc",
        "tp_btf",
        "fentry",
    ] {
        assert!(
            covered.iter().any(|c| c == stem),
            "{stem} is not on the interpreter"
        );
    }
}

/// A fixture of `gen/tests/objects` with both loaders; it must be on the interpreter.
fn object_pair(stem: &str) -> (Fixture, Fixture) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/objects/{stem}.bpf.o"));
    let data = std::fs::read(&path).unwrap();
    let gen = |kind| Fixture {
        stem: stem.into(),
        skel: lskel_gen::generate_with(&data, stem, kind).unwrap(),
    };
    let (fi, fs) = (gen(LoaderKind::Interp), gen(LoaderKind::StraightLine));
    assert!(
        fi.skel.loader.ctx_area.is_some(),
        "{stem} is on the interpreter"
    );
    (fi, fs)
}

#[test]
fn late_targets_load_and_fail_as_with_the_straight_line_loader() {
    let (fi, fs) = object_pair("late_target");
    // Entry 0 unset, empty, too long, or named; entry 1 always named.
    let long = "x".repeat(600);
    let cases: [Option<&str>; 4] = [None, Some(""), Some(&long), Some("btf_trace_sys_enter")];
    for (case, home) in cases.iter().flat_map(|c| HOMES.map(|h| (c, h))) {
        let outcome = |f: &Fixture| {
            let mut k = kernel_for(&f.skel, home);
            let types = [
                ("btf_trace_sys_enter", lskel_emu::kind::TYPEDEF, 4_001),
                ("do_nanosleep", lskel_emu::kind::FUNC, 4_002),
            ];
            match home {
                Home::Vmlinux => {
                    for (n, kd, id) in types {
                        k.add_vmlinux_type(n, kd, id);
                    }
                }
                Home::Modules => {
                    k.add_module("mod_x", &types);
                }
            }
            let mut ctx = fresh_ctx(f);
            let names = [*case, Some("do_nanosleep")];
            for (e, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                let entry = lskel_gen::abi::ctx::target(n_maps(f), n_progs(f), e);
                let mut bytes = name.as_bytes().to_vec();
                bytes.push(0);
                let addr = k.add_user_mem(&bytes);
                let size = if name.is_empty() {
                    0
                } else {
                    bytes.len() as u32
                };
                lskel_emu::set_ctx_u64(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_NAME, addr);
                set_ctx_u32(&mut ctx, entry + lskel_gen::abi::ctx::TARGET_NAME_SZ, size);
            }
            let ret = run_loader(f, &mut k, &mut ctx).retval;
            let loads: Vec<(u32, u32)> = (k.syscalls().iter())
                .filter(|s| s.cmd == Cmd::ProgLoad)
                .map(|s| (s.u32(108), s.u32(112)))
                .collect();
            let step = failed_step_text(f, &ctx).map(str::to_string);
            (ret, loads, step, k.open_fds())
        };
        let (i, s) = (outcome(&fi), outcome(&fs));
        assert_eq!(i, s, "{case:?} ({home:?})");
        if case.is_some_and(|c| c.starts_with("btf_")) {
            assert_eq!(i.0, 0, "{case:?} ({home:?}) loads");
            assert_eq!(i.1.len(), 2);
        } else {
            assert!(i.2.is_some(), "{case:?} fails at a step");
            assert!(i.3.is_empty(), "{:?} left open", i.3);
        }
    }
}

#[test]
fn struct_ops_maps_load_and_fail_as_with_the_straight_line_loader() {
    for stem in ["structops", "struct_ops_dummy"] {
        let (fi, fs) = object_pair(stem);
        for fail in [None, Some(1), Some(2)] {
            let outcome = |f: &Fixture| {
                let mut k = kernel_for(&f.skel, Home::Vmlinux);
                for (n, so) in f.skel.plan.maps.iter().enumerate() {
                    if let lskel_gen::maps::MapOrigin::StructOps(s) = &so.origin {
                        let vtype = format!("bpf_struct_ops_{}", s.struct_name);
                        k.add_vmlinux_type(&vtype, lskel_emu::kind::STRUCT, 7_000 + n as u32);
                    }
                }
                if let Some(n) = fail {
                    k.fail_nth(Op::BtfFindByNameKind, n, lskel_emu::ENOMEM);
                }
                let mut ctx = fresh_ctx(f);
                let ret = run_loader(f, &mut k, &mut ctx).retval;
                let calls: Vec<(Cmd, i64)> = k.syscalls().iter().map(|s| (s.cmd, s.ret)).collect();
                let step = failed_step_text(f, &ctx).map(str::to_string);
                (ret, calls, step, ctx, k.open_fds())
            };
            let (i, s) = (outcome(&fi), outcome(&fs));
            assert_eq!(i, s, "{stem}: failing find {fail:?}");
            if fail.is_none() {
                assert_eq!(i.0, 0, "{stem} loads");
            } else {
                assert!(i.4.is_empty(), "{stem}: {:?} left open", i.4);
            }
        }
    }
}
