//! Maps reused through the ctx (`set & REUSE`, `map_fd` in): the loader does not create them,
//! uses the given fd everywhere a created one would go, hands it back, and owns it from the
//! start of the run: a failure closes it once, with the maps it made.

mod common;

use std::collections::BTreeMap;

use common::*;
use lskel_emu::{ctx, ctx_map_fd, ctx_u32, set_ctx_u32, Cmd, Event, MapObject, MockKernel, Op};
use lskel_gen::maps::{MapDef, MapOrigin};

/// Whether a map of the plan may be reused (the runtime refuses struct_ops maps).
fn reusable(m: &MapDef) -> bool {
    !matches!(m.origin, MapOrigin::StructOps(_))
}

/// A map of the shape the loader would create for `m`, made before the run.
fn premade(k: &mut MockKernel, m: &MapDef) -> i32 {
    k.add_map(MapObject {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: if m.max_entries == 0 { 4 } else { m.max_entries },
        map_flags: m.map_flags,
        name: format!(
            "old_{}",
            truncated(&m.kernel_name)
                .chars()
                .take(11)
                .collect::<String>()
        ),
        btf: None,
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        frozen: false,
        entries: BTreeMap::new(),
    })
}

/// Marks map `i` of `ctx` reused with `fd`.
fn give(ctx: &mut [u8], i: usize, fd: i32) {
    set_ctx_u32(ctx, ctx::map_fd(i), fd as u32);
    let set = ctx_u32(ctx, ctx::map_set(i));
    set_ctx_u32(ctx, ctx::map_set(i), set | ctx::SET_REUSE);
}

/// Gives every reusable map of `f` a premade map: (map index, fd).
fn give_all(f: &Fixture, k: &mut MockKernel, ctx: &mut [u8]) -> Vec<(usize, i32)> {
    let mut given = Vec::new();
    for (i, m) in f.skel.plan.maps.iter().enumerate() {
        if reusable(m) {
            let fd = premade(k, m);
            give(ctx, i, fd);
            given.push((i, fd));
        }
    }
    given
}

fn creates(k: &MockKernel) -> Vec<String> {
    (k.syscalls().iter())
        .filter(|s| s.cmd == Cmd::MapCreate && s.ret >= 0)
        .map(|s| s.name(lskel_emu::attr::map_create::MAP_NAME))
        .collect()
}

fn closes_of(k: &MockKernel, fd: i32) -> usize {
    (k.events().iter())
        .filter(|e| matches!(e, Event::Close { fd: f, .. } if *f == fd))
        .count()
}

#[test]
fn reused_maps_are_not_created_and_come_back() {
    let mut seen = 0;
    for f in fixtures() {
        if f.skel.plan.maps.iter().all(|m| !reusable(m)) {
            continue;
        }
        let mut k = kernel_for(&f.skel, Home::Modules);
        let mut ctx = fresh_ctx(&f);
        let given = give_all(&f, &mut k, &mut ctx);
        let out = run_loader(&f, &mut k, &mut ctx);
        assert_eq!(out.retval, 0, "{}\n{}", f.stem, syscall_list(&k));
        let plan = &f.skel.plan;
        let made = creates(&k);
        for &(i, fd) in &given {
            let m = &plan.maps[i];
            assert_eq!(
                ctx_map_fd(&ctx, i),
                fd,
                "{}: `{}` comes back",
                f.stem,
                m.name
            );
            assert!(
                !made.contains(&truncated(&m.kernel_name)),
                "{}: reused `{}` was created: {made:?}",
                f.stem,
                m.name
            );
            // Used as it is: a data map is neither written nor frozen.
            let obj = k.map(fd).expect("the reused map is still open");
            assert!(
                !obj.frozen && obj.entries.is_empty() || !m.init.is_empty(),
                "{}: `{}` changed",
                f.stem,
                m.name
            );
            assert_eq!(closes_of(&k, fd), 0, "{}: `{}` closed", f.stem, m.name);
        }
        // Programs reference the reused maps through fd_array.
        let ids: Vec<usize> = given
            .iter()
            .map(|&(_, fd)| k.object_id(fd).unwrap())
            .collect();
        for j in 0..n_progs(&f) {
            let fd = lskel_emu::ctx_prog_fd(&ctx, n_maps(&f), j);
            if let Some(p) = k.prog(fd) {
                for (_, id) in &p.maps {
                    let reused_or_struct_ops = ids.contains(id)
                        || plan.maps.iter().enumerate().any(|(i, m)| {
                            !reusable(m) && k.object_id(ctx_map_fd(&ctx, i)) == Some(*id)
                        });
                    assert!(
                        reused_or_struct_ops,
                        "{}: program #{j} uses a map not given",
                        f.stem
                    );
                }
            }
        }
        // Only what the loader made besides the given maps closes at the end: open fds are the
        // given maps, the created (struct_ops) maps and the programs.
        let mut owned: Vec<i32> = (0..n_maps(&f)).map(|i| ctx_map_fd(&ctx, i)).collect();
        owned.extend(
            (0..n_progs(&f))
                .map(|j| lskel_emu::ctx_prog_fd(&ctx, n_maps(&f), j))
                .filter(|&fd| fd > 0),
        );
        owned.sort_unstable();
        assert_eq!(k.open_fds(), owned, "{}", f.stem);
        assert_closes_ok(&f, &k);
        seen += 1;
    }
    assert!(seen > 10, "only {seen} fixtures with maps");
}

/// One map reused, the others created: the mix works and the created ones are as usual.
#[test]
fn one_reused_map_among_created_ones() {
    let f = fixture("maps");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let m = &f.skel.plan.maps[0];
    let fd = premade(&mut k, m);
    give(&mut ctx, 0, fd);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, 0, "{}", syscall_list(&k));
    assert_eq!(ctx_map_fd(&ctx, 0), fd);
    let made = creates(&k);
    assert_eq!(made.len(), n_maps(&f) - 1 + inner_templates(&f), "{made:?}");
    assert!(!made.contains(&truncated(&m.kernel_name)));
    for i in 1..n_maps(&f) {
        assert!(k.map(ctx_map_fd(&ctx, i)).is_some());
    }
}

fn inner_templates(f: &Fixture) -> usize {
    f.skel
        .plan
        .maps
        .iter()
        .filter(|m| m.inner.is_some())
        .count()
}

/// Every failing step of a run with reused maps: nothing is left open (the reused fds are
/// the loader's from the start, so its cleanup closes them) and nothing is closed twice.
#[test]
fn failures_close_each_reused_fd_once() {
    let mut cases = 0;
    for f in fixtures() {
        if f.skel.plan.maps.iter().all(|m| !reusable(m)) {
            continue;
        }
        // A clean run lists the steps that can fail.
        let mut k = kernel_for(&f.skel, Home::Modules);
        let mut ctx = fresh_ctx(&f);
        give_all(&f, &mut k, &mut ctx);
        assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0, "{}", f.stem);
        let mut steps: Vec<Op> = Vec::new();
        for e in k.events() {
            if let Event::Bpf(i) = e {
                steps.push(Op::Bpf(k.syscalls()[*i].cmd));
            }
        }
        let mut counts = BTreeMap::new();
        for op in steps {
            let n = counts.entry(op).or_insert(0u32);
            *n += 1;
            let mut k = kernel_for(&f.skel, Home::Modules);
            let mut ctx = fresh_ctx(&f);
            let given = give_all(&f, &mut k, &mut ctx);
            k.fail_nth(op, *n, lskel_emu::ENOMEM);
            let out = run_loader(&f, &mut k, &mut ctx);
            let what = format!("{}: failing {op:?} #{n}", f.stem);
            assert_eq!(
                out.retval,
                -i64::from(lskel_emu::ENOMEM),
                "{what}\n{}",
                syscall_list(&k)
            );
            assert_eq!(k.open_fds(), Vec::<i32>::new(), "{what}: fds left open");
            assert_closes_ok(&f, &k);
            for &(_, fd) in &given {
                assert_eq!(closes_of(&k, fd), 1, "{what}: reused fd {fd} closed once");
            }
            cases += 1;
        }
    }
    assert!(cases > 50, "only {cases} cases");
}

/// A reuse bit with no descriptor number fails at that map's step, naming it, and closes
/// what was made before (and the maps given before it).
#[test]
fn reuse_without_a_descriptor_fails_naming_the_map() {
    let f = fixture("maps");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let first = premade(&mut k, &f.skel.plan.maps[0]);
    give(&mut ctx, 0, first);
    give(&mut ctx, 1, 0);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EBADF));
    let name = &f.skel.plan.maps[1].name;
    assert_eq!(
        failed_step_text(&f, &ctx),
        Some(format!("reuse map `{name}`: the fd given is not a descriptor").as_str())
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
    assert_eq!(closes_of(&k, first), 1);
    assert_closes_ok(&f, &k);
}
