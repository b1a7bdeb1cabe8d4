//! The interpreter loader (`LoaderKind::Interp`) of every fixture it covers, run in
//! `lskel-emu` next to the straight-line loader of the same object: one instruction count
//! for all, the same `bpf(2)` sequence and results, a load that leaves exactly the ctx's fds
//! open, and every failing syscall reported at the same step with every fd closed.
//! (The other emu tests run the default, the interpreter where it covers the object;
//! `LSKEL_LOADER=straight cargo test -p lskel-gen --test emu_loader` runs them against the
//! straight-line loader of every object.)

mod common;

use common::*;
use lskel_emu::{Cmd, MockKernel, Op};
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

#[test]
fn loads_like_the_straight_line_loader() {
    for (fi, fs) in pairs() {
        let (mut ki, mut ks) = (MockKernel::new(), MockKernel::new());
        let (mut ci, mut cs) = (fresh_ctx(&fi), fresh_ctx(&fs));
        assert_eq!(
            run_loader(&fi, &mut ki, &mut ci).retval,
            0,
            "{}:\n{}",
            fi.stem,
            syscall_list(&ki)
        );
        assert_eq!(run_loader(&fs, &mut ks, &mut cs).retval, 0, "{}", fs.stem);
        assert_loaded(&fi, &ki, &ci);
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
    for (fi, fs) in pairs() {
        let mut k = MockKernel::new();
        let mut ctx = fresh_ctx(&fi);
        run_loader(&fi, &mut k, &mut ctx);
        let mut seen = std::collections::BTreeMap::new();
        let cmds: Vec<Cmd> = k.syscalls().iter().map(|s| s.cmd).collect();
        for cmd in cmds {
            let n = seen.entry(cmd).or_insert(0u32);
            *n += 1;
            let outcome = |f: &Fixture| {
                let mut k = MockKernel::new();
                k.fail_nth(Op::Bpf(cmd), *n, lskel_emu::ENOMEM);
                let mut ctx = fresh_ctx(f);
                let ret = run_loader(f, &mut k, &mut ctx).retval;
                assert_closes_ok(f, &k);
                let text = failed_step_text(f, &ctx).map(str::to_string);
                (ret, text, k.open_fds())
            };
            let (ri, ti, open) = outcome(&fi);
            let (rs, ts, _) = outcome(&fs);
            assert_eq!((ri, &ti), (rs, &ts), "{}: {cmd:?} #{n}", fi.stem);
            assert!(
                open.is_empty(),
                "{}: {cmd:?} #{n} left {open:?} open",
                fi.stem
            );
            cases += 1;
        }
    }
    assert!(cases > 50, "only {cases} cases");
}
