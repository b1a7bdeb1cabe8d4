//! The loader of every fixture object (`tests/bpf/*.bpf.o`), run in `lskel-emu` against a mock
//! kernel: the load succeeds with one live fd per map and program and nothing else left open,
//! the `bpf(2)` sequence and attrs are what the plan says, ctx overrides and log fields reach the
//! kernel, and every step that can fail, failed in turn, gives its errno with every fd closed.

mod common;

use common::*;
use lskel_emu::{
    ctx, ctx_map_fd, ctx_prog_fd, kind, run, set_ctx_u32, set_ctx_u64, Cmd, Event, MockKernel, Op,
    SysCall, BLOB_BASE,
};
use lskel_gen::externs::ExternKind;
use lskel_gen::maps::{InitRef, MapOrigin};
use lskel_gen::reloc::SiteKind;

/// The `bpf(2)` commands the loader of `f` must issue on success, in order.
fn expected_cmds(f: &Fixture) -> Vec<Cmd> {
    let plan = &f.skel.plan;
    let mut v = vec![Cmd::BtfLoad];
    for m in &plan.maps {
        if m.inner.is_some() {
            v.push(Cmd::MapCreate);
        }
        v.push(Cmd::MapCreate);
        if let Some(kind) = m.data_kind().filter(|_| !m.starts_zeroed()) {
            v.push(Cmd::MapUpdateElem);
            if kind.is_readonly() {
                v.push(Cmd::MapFreeze);
            }
        }
    }
    for m in &plan.maps {
        for (_, r) in &m.init {
            if matches!(r, InitRef::Map(_)) {
                v.push(Cmd::MapUpdateElem);
            }
        }
    }
    v.extend(plan.programs.iter().map(|_| Cmd::ProgLoad));
    v.extend(plan.prog_array_init.iter().map(|_| Cmd::MapUpdateElem));
    v
}

#[test]
fn every_fixture_loads() {
    for f in fixtures() {
        // What the loader hands the kernel: the plan with its BTF trimmed.
        let kplan = f.skel.plan.for_kernel().unwrap();
        for home in [Home::Vmlinux, Home::Modules] {
            let mut k = kernel_for(&f.skel, home);
            let mut ctx = fresh_ctx(&f);
            let out = run_loader(&f, &mut k, &mut ctx);
            assert_eq!(
                out.retval,
                0,
                "{} ({home:?}): loader failed; syscalls:\n{}",
                f.stem,
                syscall_list(&k)
            );
            assert_loaded(&f, &k, &ctx);
            let cmds: Vec<Cmd> = k.syscalls().iter().map(|s| s.cmd).collect();
            assert_eq!(cmds, expected_cmds(&f), "{} ({home:?})", f.stem);

            // BTF_LOAD carries the plan's trimmed BTF.
            let btf = &k.syscalls()[0];
            assert_eq!(btf.mem.btf.as_deref(), Some(&kplan.btf.to_bytes()[..]));
            assert_eq!(btf.u32(16) as usize, kplan.btf.to_bytes().len());

            // Map creates: plan order and attrs (inner templates interleaved).
            let creates: Vec<&SysCall> = k
                .syscalls()
                .iter()
                .filter(|s| s.cmd == Cmd::MapCreate)
                .collect();
            let mut c = creates.iter();
            for (i, m) in kplan.maps.iter().enumerate() {
                if let Some(inner) = &m.inner {
                    let s = c.next().unwrap();
                    assert_eq!(s.name(28), truncated(&inner.kernel_name));
                    assert_eq!(s.u32(0), inner.map_type);
                }
                let s = c.next().unwrap();
                assert_eq!(s.ret, i64::from(ctx_map_fd(&ctx, i)));
                assert_eq!(s.name(28), truncated(&m.kernel_name), "{}", f.stem);
                assert_eq!(
                    [s.u32(0), s.u32(4), s.u32(8), s.u32(12), s.u32(16)],
                    [
                        m.map_type,
                        m.key_size,
                        m.value_size,
                        // A PERF_EVENT_ARRAY without max_entries: the possible CPUs (fresh_ctx: 4).
                        if m.map_type == 4 && m.max_entries == 0 {
                            4
                        } else {
                            m.max_entries
                        },
                        m.map_flags
                    ]
                );
                assert_eq!(
                    (s.u32(52), s.u32(56)),
                    (m.btf_key_type_id, m.btf_value_type_id)
                );
                if m.btf_key_type_id != 0 || m.btf_value_type_id != 0 {
                    assert_eq!(
                        i64::from(s.i32(48)),
                        btf_fd(&k),
                        "{}: `{}` btf_fd",
                        f.stem,
                        m.name
                    );
                }
                if m.inner.is_some() {
                    assert_ne!(s.i32(20), 0, "{}: `{}` inner_map_fd", f.stem, m.name);
                }
            }

            // Data maps get their initial bytes from the blob; those that start zeroed are
            // left as created (checked in assert_loaded).
            for (i, m) in kplan.maps.iter().enumerate() {
                let MapOrigin::Data { init, .. } = &m.origin else {
                    continue;
                };
                if m.starts_zeroed() {
                    continue;
                }
                let obj = k.map(ctx_map_fd(&ctx, i)).unwrap();
                assert_eq!(
                    &obj.entries[&0u32.to_le_bytes()[..]],
                    init,
                    "{}: `{}`",
                    f.stem,
                    m.name
                );
            }

            // Program loads: attrs, pointees, and every map reference resolving to its map.
            let loads = prog_loads(&k);
            assert_eq!(loads.len(), n_progs(&f));
            // The map in each fd_array slot; `.rodata` maps first, bound to every program.
            let layout = f.skel.plan.fd_layout();
            let mut map_of_slot = vec![0; n_maps(&f)];
            for (i, &slot) in layout.slots.iter().enumerate() {
                map_of_slot[slot] = i;
            }
            let rodata: Vec<usize> = (f.skel.plan.maps.iter().enumerate())
                .filter(|(_, m)| m.data_kind() == Some(lskel_gen::maps::DataKind::Rodata))
                .map(|(i, _)| k.object_id(ctx_map_fd(&ctx, i)).unwrap())
                .collect();
            for (j, (s, p)) in loads.iter().zip(&kplan.programs).enumerate() {
                let l = &p.linked;
                assert_eq!(s.ret, i64::from(ctx_prog_fd(&ctx, n_maps(&f), j)));
                if rodata.is_empty() {
                    assert_eq!(s.size, 140, "{}: no fd_array_cnt", f.stem);
                } else {
                    assert_eq!(s.size, 152, "{}: up to fd_array_cnt", f.stem);
                    assert_eq!(
                        s.u32(148) as usize,
                        rodata.len(),
                        "{}: fd_array_cnt",
                        f.stem
                    );
                }
                assert_eq!(s.u32(0), p.def.def.prog_type);
                assert_eq!(s.u32(4) as usize, l.insns.len() / 8);
                assert_eq!(s.name(48), truncated(&p.def.func.name));
                assert_eq!(s.u32(68), p.def.def.expected_attach_type);
                assert_eq!(i64::from(s.i32(72)), btf_fd(&k));
                assert_eq!(
                    (s.u32(76), s.u32(88)),
                    (l.func_info.rec_size, l.func_info.count())
                );
                assert_eq!(
                    (s.u32(92), s.u32(104)),
                    (l.line_info.rec_size, l.line_info.count())
                );
                assert_eq!(s.u32(116), l.core_relos.count());
                assert_eq!(s.mem.license.as_deref(), Some(kplan.license.as_str()));
                assert_eq!(
                    s.mem.func_info.as_deref(),
                    (l.func_info.count() > 0).then_some(&l.func_info.bytes[..])
                );
                assert_eq!(
                    s.mem.line_info.as_deref(),
                    (l.line_info.count() > 0).then_some(&l.line_info.bytes[..])
                );
                assert_eq!(
                    s.mem.core_relos.as_deref(),
                    (l.core_relos.count() > 0).then_some(&l.core_relos.bytes[..])
                );
                assert!(
                    in_blob(&f, s.u64(120)),
                    "{}: fd_array must point into the blob",
                    f.stem
                );
                // Outside extern sites the loaded code is the linked code.
                let loaded = s.mem.insns.as_deref().unwrap();
                let patched: Vec<usize> = l
                    .extern_sites
                    .iter()
                    .flat_map(|e| [e.insn, e.insn + usize::from(e.kind != SiteKind::KfuncCall)])
                    .collect();
                for (n, (a, b)) in loaded.chunks(8).zip(l.insns.chunks(8)).enumerate() {
                    if !patched.contains(&n) {
                        assert_eq!(a, b, "{}: `{}` insn {n} changed", f.stem, p.def.func.name);
                    }
                }
                for (&slot, &fd) in &s.mem.fd_array {
                    if (slot as usize) < n_maps(&f) {
                        assert_eq!(
                            fd,
                            ctx_map_fd(&ctx, map_of_slot[slot as usize]),
                            "{}: fd_array[{slot}]",
                            f.stem
                        );
                    }
                }
                let obj = k.prog(s.ret as i32).unwrap();
                assert_eq!(
                    obj.bound, rodata,
                    "{}: `{}` bound to the .rodata maps",
                    f.stem, p.def.func.name
                );
                if let Some((target, _)) = p.kernel_target() {
                    assert_ne!(obj.attach_btf_id, 0);
                    assert_eq!(
                        obj.attach_module.is_some(),
                        home == Home::Modules,
                        "{}: `{target}`",
                        f.stem
                    );
                }
            }
        }
    }
}

/// Exact attrs of counter.bpf.o's `syscall_counts` map and `count_syscalls` program.
#[test]
fn counter_exact_attrs() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
    let btf = btf_fd(&k) as i32;
    assert_eq!(btf, 3, "the first fd the loader gets is 3");

    let create = &k.syscalls()[1];
    assert_eq!(create.cmd, Cmd::MapCreate);
    let mut want = vec![0u8; 72];
    let put =
        |v: &mut Vec<u8>, off: usize, x: u32| v[off..off + 4].copy_from_slice(&x.to_le_bytes());
    put(&mut want, 0, 1); // BPF_MAP_TYPE_HASH
    put(&mut want, 4, 4); // key_size
    put(&mut want, 8, 8); // value_size
    put(&mut want, 12, 512); // max_entries
    want[28..28 + 14].copy_from_slice(b"syscall_counts");
    put(&mut want, 48, btf as u32); // btf_fd
    put(&mut want, 52, 2); // btf_key_type_id (in the trimmed BTF)
    put(&mut want, 56, 4); // btf_value_type_id
    assert_eq!(create.size, 72);
    assert_eq!(create.attr, want, "MAP_CREATE attr of syscall_counts");
    assert_eq!(i64::from(ctx_map_fd(&ctx, 0)), create.ret);

    let load = prog_loads(&k)[0];
    let p = &f.skel.plan.programs[0];
    let mut want = vec![0u8; 152];
    put(&mut want, 0, 17); // BPF_PROG_TYPE_RAW_TRACEPOINT
    put(&mut want, 4, 40); // insn_cnt
    want[48..48 + 14].copy_from_slice(b"count_syscalls");
    put(&mut want, 68, 0); // expected_attach_type
    put(&mut want, 72, btf as u32); // prog_btf_fd
    put(&mut want, 76, 8); // func_info_rec_size
    put(&mut want, 88, 1); // func_info_cnt
    put(&mut want, 92, 16); // line_info_rec_size
    put(&mut want, 104, 17); // line_info_cnt
    put(&mut want, 148, 1); // fd_array_cnt: `.rodata` (slot 0) bound to the program
                            // Pointer fields: into the blob; copied over after that check.
    for (off, what) in [
        (8, "insns"),
        (16, "license"),
        (80, "func_info"),
        (96, "line_info"),
        (120, "fd_array"),
    ] {
        assert!(
            in_blob(&f, load.u64(off)),
            "{what} = {:#x} is not in the blob",
            load.u64(off)
        );
        want[off..off + 8].copy_from_slice(&load.attr[off..off + 8]);
    }
    assert_eq!(
        load.u64(120),
        BLOB_BASE,
        "fd_array is the start of the blob"
    );
    assert_eq!(load.attr, want, "PROG_LOAD attr of count_syscalls");
    assert_eq!(load.mem.license.as_deref(), Some("GPL"));
    assert_eq!(load.mem.insns.as_deref(), Some(&p.linked.insns[..]));
    // `.rodata` (map 1) sits in slot 0, to be bound; syscall_counts (map 0) in slot 1. The
    // program uses syscall_counts and the data maps by value; each slot holds its map's fd.
    let layout = f.skel.plan.fd_layout();
    assert_eq!(f.skel.plan.maps[1].name, ".rodata");
    assert_eq!((&layout.slots[..2], layout.bound), (&[1, 0][..], 1));
    assert!(
        load.mem.fd_array.contains_key(&1),
        "fd_array slots used: {:?}",
        load.mem.fd_array
    );
    for (&slot, &fd) in &load.mem.fd_array {
        let map = layout
            .slots
            .iter()
            .position(|&s| s == slot as usize)
            .unwrap();
        assert_eq!(fd, ctx_map_fd(&ctx, map));
    }
    let prog = k.prog(load.ret as i32).unwrap();
    let map_ids: Vec<usize> = prog.maps.iter().map(|&(_, id)| id).collect();
    assert!(map_ids.contains(&k.object_id(ctx_map_fd(&ctx, 0)).unwrap()));
    assert_eq!(prog.bound, [k.object_id(ctx_map_fd(&ctx, 1)).unwrap()]);
}

#[test]
fn ctx_max_entries_override() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    set_ctx_u32(&mut ctx, ctx::map_max_entries(0), 4096);
    assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
    let create = &k.syscalls()[1];
    assert_eq!(create.name(28), "syscall_counts");
    assert_eq!(create.u32(12), 4096);
    assert_eq!(k.map(ctx_map_fd(&ctx, 0)).unwrap().max_entries, 4096);

    // Zero keeps the object's value.
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
    assert_eq!(k.syscalls()[1].u32(12), 512);

    // Every non-data map of every fixture takes the override.
    for f in fixtures() {
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        let mut ctx = fresh_ctx(&f);
        let want: Vec<Option<u32>> = f
            .skel
            .plan
            .maps
            .iter()
            .map(|m| {
                (m.data_kind().is_none() && m.map_type != 27 && m.max_entries != 0)
                    .then_some(m.max_entries * 2)
            })
            .collect();
        for (i, w) in want.iter().enumerate() {
            if let Some(w) = w {
                set_ctx_u32(&mut ctx, ctx::map_max_entries(i), *w);
            }
        }
        assert_eq!(
            run_loader(&f, &mut k, &mut ctx).retval,
            0,
            "{}:\n{}",
            f.stem,
            syscall_list(&k)
        );
        for (i, w) in want.iter().enumerate() {
            if let Some(w) = w {
                assert_eq!(
                    k.map(ctx_map_fd(&ctx, i)).unwrap().max_entries,
                    *w,
                    "{} map #{i}",
                    f.stem
                );
            }
        }
    }
}

#[test]
fn ctx_initial_value_override() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    // .rodata (#1, 4 bytes) and .data (#2, 16 bytes) from user memory.
    let ro: Vec<u8> = vec![0xaa, 0xbb, 0xcc, 0xdd];
    let data: Vec<u8> = (1..=16).collect();
    let (ro_addr, data_addr) = (k.add_user_mem(&ro), k.add_user_mem(&data));
    set_ctx_u64(&mut ctx, ctx::map_initial_value(1), ro_addr);
    set_ctx_u64(&mut ctx, ctx::map_initial_value(2), data_addr);
    assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
    let copies: Vec<(u64, u32, i64)> = k
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::CopyFromUser { src, size, ret, .. } => Some((*src, *size, *ret)),
            _ => None,
        })
        .collect();
    assert_eq!(copies, vec![(ro_addr, 4, 0), (data_addr, 16, 0)]);
    let updates: Vec<&SysCall> = k
        .syscalls()
        .iter()
        .filter(|s| s.cmd == Cmd::MapUpdateElem)
        .collect();
    assert_eq!(updates[0].mem.value.as_deref(), Some(&ro[..]));
    assert_eq!(updates[0].mem.key.as_deref(), Some(&[0u8; 4][..]));
    assert_eq!(updates[1].mem.value.as_deref(), Some(&data[..]));
    let rodata = k.map(ctx_map_fd(&ctx, 1)).unwrap();
    assert!(rodata.frozen);
    assert_eq!(rodata.entries[&[0u8; 4][..]], ro);
    assert_eq!(
        k.map(ctx_map_fd(&ctx, 2)).unwrap().entries[&[0u8; 4][..]],
        data
    );
    // .bss (#3) starts zeroed: the loader does not write it at all (the runtime writes the
    // user's values through the mmap), and the blob holds no bytes for it.
    assert!(k.map(ctx_map_fd(&ctx, 3)).unwrap().entries.is_empty());
    assert!(f.skel.loader.data_init[3].is_none());

    // A bad user pointer: copy_from_user fails with -EFAULT and nothing stays open.
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    set_ctx_u64(&mut ctx, ctx::map_initial_value(2), 0x1234);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EFAULT));
    assert_eq!(k.open_fds(), Vec::<i32>::new());
    assert_closes_ok(&f, &k);
}

#[test]
fn ctx_log_fields_reach_btf_and_prog_loads() {
    for f in fixtures() {
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        let mut ctx = fresh_ctx(&f);
        let buf = k.add_user_mem(&[0u8; 4096]);
        set_ctx_u32(&mut ctx, ctx::LOG_LEVEL, 2);
        set_ctx_u32(&mut ctx, ctx::LOG_SIZE, 4096);
        set_ctx_u64(&mut ctx, ctx::LOG_BUF, buf);
        assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0, "{}", f.stem);
        let btf = &k.syscalls()[0];
        assert_eq!(
            (btf.u32(24), btf.u32(20), btf.u64(8)),
            (2, 4096, buf),
            "{}: BTF_LOAD log",
            f.stem
        );
        let loads = prog_loads(&k);
        assert_eq!(loads.len(), n_progs(&f));
        for s in loads {
            assert_eq!(
                (s.u32(24), s.u32(28), s.u64(32)),
                (2, 4096, buf),
                "{}: PROG_LOAD log",
                f.stem
            );
        }
        assert_loaded(&f, &k, &ctx);

        // The verifier log of a failing program lands in the user's buffer.
        if n_progs(&f) > 0 {
            let mut k = kernel_for(&f.skel, Home::Vmlinux);
            let buf = k.add_user_mem(&[0u8; 4096]);
            set_ctx_u64(&mut ctx, ctx::LOG_BUF, buf);
            k.fail_nth(Cmd::ProgLoad, n_progs(&f) as u32, lskel_emu::EACCES);
            let out = run_loader(&f, &mut k, &mut ctx);
            assert_eq!(out.retval, -i64::from(lskel_emu::EACCES));
            let log = k.read_user(buf, 32).unwrap();
            assert!(
                log.starts_with(b"mock verifier: injected"),
                "{}: log {:?}",
                f.stem,
                String::from_utf8_lossy(&log)
            );
        }
    }
}

/// What a run with one failure injected must look like.
fn check_failure(f: &Fixture, home: Home, op: Op, n: u32, errno: i32, fatal: bool) {
    let what = format!(
        "{} ({home:?}): failing call #{n} of {op:?} with {errno}",
        f.stem
    );
    let mut k = kernel_for(&f.skel, home);
    let mut ctx = fresh_ctx(f);
    seed_initial_values(f, &mut k, &mut ctx);
    k.fail_nth(op, n, errno);
    let out = run_loader(f, &mut k, &mut ctx);
    if !fatal {
        assert_eq!(
            out.retval,
            0,
            "{what}: a weak symbol's lookup failing is not fatal\n{}",
            syscall_list(&k)
        );
        assert_loaded(f, &k, &ctx);
        return;
    }
    assert_eq!(
        out.retval,
        -i64::from(errno),
        "{what}\n{}",
        syscall_list(&k)
    );
    assert_eq!(
        k.open_fds(),
        Vec::<i32>::new(),
        "{what}: fds left open\n{}",
        syscall_list(&k)
    );
    assert_closes_ok(f, &k);
    // Nothing after the failure but cleanup.
    if let Op::Bpf(cmd) = op {
        let last = k.syscalls().last().unwrap();
        assert!(
            last.injected && last.cmd == cmd,
            "{what}: syscalls after the failure\n{}",
            syscall_list(&k)
        );
    } else {
        let failed_at = k
            .events()
            .iter()
            .position(|e| match e {
                Event::BtfFind { injected, .. }
                | Event::Kallsyms { injected, .. }
                | Event::CopyFromUser { injected, .. } => *injected,
                _ => false,
            })
            .unwrap();
        assert!(
            k.events()[failed_at + 1..]
                .iter()
                .all(|e| matches!(e, Event::Close { .. })),
            "{what}: calls after the failure"
        );
    }
    // The ctx is not to be trusted: none of its fds may name a live object.
    for i in 0..n_maps(f) {
        assert!(k.object(ctx_map_fd(&ctx, i)).is_none());
    }
    for j in 0..n_progs(f) {
        assert!(k.object(ctx_prog_fd(&ctx, n_maps(f), j)).is_none());
    }
}

/// Gives every data map a user copy of its initial value, so copy_from_user is on the path.
fn seed_initial_values(f: &Fixture, k: &mut MockKernel, ctx: &mut [u8]) {
    for (i, m) in f.skel.plan.maps.iter().enumerate() {
        if let MapOrigin::Data { init, .. } = &m.origin {
            let addr = k.add_user_mem(init);
            set_ctx_u64(ctx, ctx::map_initial_value(i), addr);
        }
    }
}

#[test]
fn failure_injection_matrix() {
    const ERRNOS: [i32; 6] = [
        lskel_emu::ENOMEM,
        lskel_emu::EPERM,
        lskel_emu::EINVAL,
        lskel_emu::E2BIG,
        lskel_emu::EACCES,
        lskel_emu::ENOSPC,
    ];
    let mut cases = 0;
    for f in fixtures() {
        for home in [Home::Vmlinux, Home::Modules] {
            // A clean run lists the steps.
            let mut k = kernel_for(&f.skel, home);
            let mut ctx = fresh_ctx(&f);
            seed_initial_values(&f, &mut k, &mut ctx);
            assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0, "{}", f.stem);
            let weak = |name: &str| {
                f.skel
                    .plan
                    .externs
                    .list
                    .iter()
                    .any(|e| e.name == name && e.weak)
            };
            let mut steps: Vec<(Op, bool)> = Vec::new();
            for e in k.events() {
                match e {
                    Event::Bpf(i) => steps.push((Op::Bpf(k.syscalls()[*i].cmd), true)),
                    Event::BtfFind { name, .. } => steps.push((Op::BtfFindByNameKind, !weak(name))),
                    Event::Kallsyms { name, .. } => {
                        steps.push((Op::KallsymsLookupName, !weak(name)))
                    }
                    Event::CopyFromUser { .. } => steps.push((Op::CopyFromUser, true)),
                    _ => {}
                }
            }
            let mut seen = std::collections::BTreeMap::new();
            for (s, (op, fatal)) in steps.into_iter().enumerate() {
                let n = seen.entry(op).or_insert(0u32);
                *n += 1;
                let errno = ERRNOS[s % ERRNOS.len()];
                if fatal {
                    check_failure(&f, home, op, *n, errno, true);
                } else {
                    // A weak symbol: "not found" leaves it absent; any other error still fails.
                    check_failure(&f, home, op, *n, lskel_emu::ENOENT, false);
                    check_failure(&f, home, op, *n, errno, errno != lskel_emu::ENOENT);
                    cases += 1;
                }
                cases += 1;
            }
        }
    }
    eprintln!("{cases} failure cases");
    assert!(cases > 100, "only {cases} failure cases");
}

/// A module kernel: attach targets resolve to module BTF, the module fd goes into
/// attach_btf_obj_fd and is closed after the load.
#[test]
fn attach_target_in_module() {
    let f = fixture("tp_btf");
    let mut k = MockKernel::new();
    k.add_vmlinux_type("btf_trace_sys_enter", kind::TYPEDEF, 1234)
        .add_module("mod_a", &[("bpf_iter_task", kind::FUNC, 77)]);
    let mut ctx = fresh_ctx(&f);
    assert_eq!(
        run_loader(&f, &mut k, &mut ctx).retval,
        0,
        "{}",
        syscall_list(&k)
    );
    let finds: Vec<(String, i64)> = k
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::BtfFind { name, ret, .. } => Some((name.clone(), *ret)),
            _ => None,
        })
        .collect();
    assert_eq!(finds.len(), 2);
    assert_eq!(finds[0], ("btf_trace_sys_enter".to_string(), 1234));
    assert_eq!(finds[1].0, "bpf_iter_task");
    let module_fd = finds[1].1 >> 32;
    assert!(module_fd >= 3);
    assert_eq!(finds[1].1 & 0xffff_ffff, 77);
    let loads = prog_loads(&k);
    assert_eq!((loads[0].u32(108), loads[0].i32(112)), (1234, 0));
    assert_eq!(
        (loads[1].u32(108), i64::from(loads[1].i32(112))),
        (77, module_fd)
    );
    assert_eq!(
        k.prog(loads[1].ret as i32)
            .unwrap()
            .attach_module
            .as_deref(),
        Some("mod_a")
    );
    assert_loaded(&f, &k, &ctx);

    // The target missing: -ENOENT, nothing left open.
    let mut k = MockKernel::new();
    k.add_vmlinux_type("btf_trace_sys_enter", kind::TYPEDEF, 1234);
    let mut ctx = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::ENOENT));
    assert_eq!(k.open_fds(), Vec::<i32>::new());
    assert_closes_ok(&f, &k);
}

/// kfuncs: strong ones resolved (vmlinux: off 0; module: off = its fd_array slot holding the
/// module fd), the weak absent one left as imm 0 / off 0; a strong one missing fails the load.
#[test]
fn kfuncs_resolution() {
    let Some(f) = fixtures().into_iter().find(|f| f.stem == "kfuncs") else {
        return;
    };
    for home in [Home::Vmlinux, Home::Modules] {
        let mut k = kernel_for(&f.skel, home);
        let mut ctx = fresh_ctx(&f);
        assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
        for s in prog_loads(&k) {
            let prog = k.prog(s.ret as i32).unwrap();
            assert!(!prog.kfuncs.is_empty());
            for (_, _, module) in &prog.kfuncs {
                assert_eq!(module.is_some(), home == Home::Modules);
            }
            // Every kfunc slot used held a live module BTF at load time (the mock checked it);
            // all of them are closed now.
            for (&slot, &fd) in &s.mem.fd_array {
                if slot as usize >= n_maps(&f) {
                    assert!(fd >= 3 && k.object(fd).is_none(), "slot {slot} fd {fd}");
                }
            }
        }
        assert_loaded(&f, &k, &ctx);
    }
    // A strong kfunc missing: its lookup's -ENOENT, nothing open.
    let strong = f
        .skel
        .plan
        .externs
        .list
        .iter()
        .find(|e| e.kind == ExternKind::Kfunc && !e.weak)
        .unwrap();
    let mut k = MockKernel::new();
    for p in &f.skel.plan.programs {
        if let Some((t, kd)) = p.kernel_target() {
            k.add_vmlinux_type(t, kd, 9);
        }
    }
    for (n, e) in f.skel.plan.externs.list.iter().enumerate() {
        if e.kind == ExternKind::Kfunc && e.name != strong.name && !meant_absent(&e.name) {
            k.add_module("m", &[(e.name.as_str(), kind::FUNC, 100 + n as u32)]);
        }
    }
    let mut ctx = fresh_ctx(&f);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(
        out.retval,
        -i64::from(lskel_emu::ENOENT),
        "{}",
        syscall_list(&k)
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new(), "{}", syscall_list(&k));
    assert_closes_ok(&f, &k);
}

/// Failures of close itself do not change the result or leave fds open.
#[test]
fn fd_numbers_are_reused_like_the_kernel() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    assert_eq!(run_loader(&f, &mut k, &mut ctx).retval, 0);
    // The BTF fd (3) was closed at the end; a second load gets 3 again first.
    assert!(!k.open_fds().contains(&3));
    let mut ctx2 = fresh_ctx(&f);
    assert_eq!(run_loader(&f, &mut k, &mut ctx2).retval, 0);
    assert_eq!(
        k.syscalls()[k.syscalls().len() - expected_cmds(&f).len()].ret,
        3
    );
}

/// The checks have teeth: a loader that forgets its closes leaks fds the emulator sees, and a
/// loader reaching past its blob is an emulator error naming the instruction.
#[test]
fn emulator_catches_loader_bugs() {
    let f = fixture("counter");
    let mut insns = f.skel.loader.insns.clone();
    for insn in insns.chunks_mut(8) {
        if insn[0] == 0x85 && insn[1] == 0 && insn[4..8] == 168i32.to_le_bytes() {
            insn.copy_from_slice(&[0xb7, 0, 0, 0, 0, 0, 0, 0]); // r0 = 0
        }
    }
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.fail_nth(Cmd::ProgLoad, 1, lskel_emu::EINVAL);
    let mut ctx = fresh_ctx(&f);
    let out = run(&insns, &f.skel.loader.blob, &mut ctx, &mut k).unwrap();
    assert_eq!(out.retval, -i64::from(lskel_emu::EINVAL));
    assert_eq!(k.open_fds().len(), 1 + n_maps(&f), "BTF and map fds leak");

    // The first ld_imm64 of the blob pointed one byte past its end.
    let mut insns = f.skel.loader.insns.clone();
    let at = insns
        .chunks(8)
        .position(|i| i[0] == 0x18 && i[1] >> 4 == 6)
        .unwrap();
    let past = f.skel.loader.blob.len() as u32;
    insns[8 * at + 12..8 * at + 16].copy_from_slice(&past.to_le_bytes());
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let e = run(&insns, &f.skel.loader.blob, &mut ctx, &mut k).unwrap_err();
    assert_eq!(
        (e.insn, e.kind),
        (Some(at), lskel_emu::ErrorKind::Memory),
        "{e}"
    );
}
