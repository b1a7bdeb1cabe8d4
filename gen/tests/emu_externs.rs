//! Kernel symbols in the loader, run in `lskel-emu`: kfuncs, typed and typeless ksyms and attach
//! targets resolved in vmlinux or in (fake) modules, weak and strong ones missing, map-in-map
//! templates and static slots, prog_array slots, `.kconfig`, and the ctx status trailer naming
//! the step that failed.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use lskel_emu::{
    ctx, ctx_map_fd, ctx_prog_fd, kind, set_ctx_u32, set_ctx_u64, Cmd, Event, MockKernel, Object,
    Op, SysCall,
};
use lskel_gen::externs::ExternKind;
use lskel_gen::maps::{DataKind, InitRef, MapOrigin};
use lskel_gen::reloc::SiteKind;

const BPF_PSEUDO_KFUNC_CALL: u8 = 2;
const BPF_PSEUDO_BTF_ID: u8 = 3;
const BPF_F_SLEEPABLE: u32 = 16;
const BPF_F_RDONLY_PROG: u32 = 128;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_RAW_TP: u32 = 23;
const BPF_TRACE_FENTRY: u32 = 24;
const BPF_TRACE_ITER: u32 = 28;
const ENOENT: i64 = lskel_emu::ENOENT as i64;

// PROG_LOAD attr offsets.
const PROG_TYPE: usize = 0;
const PROG_FLAGS: usize = 44;
const EXPECTED_ATTACH_TYPE: usize = 68;
const ATTACH_BTF_ID: usize = 108;
const ATTACH_BTF_OBJ_FD: usize = 112;

/// One decoded `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

fn insn_at(code: &[u8], n: usize) -> Insn {
    let b = &code[8 * n..8 * n + 8];
    Insn {
        code: b[0],
        dst: b[1] & 0x0f,
        src: b[1] >> 4,
        off: i16::from_le_bytes([b[2], b[3]]),
        imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    }
}

/// The second imm of the `ld_imm64` at `n`.
fn imm2(code: &[u8], n: usize) -> i32 {
    insn_at(code, n + 1).imm
}

/// Where the mock kernel keeps a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Vmlinux,
    /// Module `mod_N`.
    Module(usize),
    Absent,
}

/// A symbol's place and BTF id (or kallsyms address).
#[derive(Clone, Copy, Debug)]
struct Sym {
    place: Place,
    id: u32,
    addr: u64,
}

/// A kernel holding every attach target and extern of `f` where `place` says, plus what it
/// holds by name.
fn kernel_with(f: &Fixture, place: &dyn Fn(&str) -> Place) -> (MockKernel, BTreeMap<String, Sym>) {
    let mut k = MockKernel::new();
    let mut btf: Vec<(String, u32)> = Vec::new();
    let mut syms = BTreeMap::new();
    for p in &f.skel.plan.programs {
        if let Some((name, kd)) = p.kernel_target() {
            btf.push((name.to_string(), kd));
        }
    }
    for (n, e) in f.skel.plan.externs.list.iter().enumerate() {
        match &e.kind {
            ExternKind::Kfunc => btf.push((e.name.clone(), kind::FUNC)),
            ExternKind::TypedKsym { btf_kind } => btf.push((e.name.clone(), *btf_kind)),
            ExternKind::TypelessKsym => {
                // Both halves non-zero and distinct, so a swapped or dropped half shows.
                let addr = 0xffff_ffff_8100_0000 + 0x1_0000 * n as u64 + 0x10;
                let p = place(&e.name);
                if p != Place::Absent {
                    k.add_kallsyms(&e.name, addr);
                }
                syms.insert(
                    e.name.clone(),
                    Sym {
                        place: p,
                        id: 0,
                        addr,
                    },
                );
            }
            ExternKind::Kconfig { .. } => {}
        }
    }
    let mut mods: Vec<Vec<(String, u32, u32)>> = Vec::new();
    for (n, (name, kd)) in btf.into_iter().enumerate() {
        let id = 70_000 + 7 * n as u32;
        let p = place(&name);
        match p {
            Place::Vmlinux => {
                k.add_vmlinux_type(&name, kd, id);
            }
            Place::Module(m) => {
                if mods.len() <= m {
                    mods.resize(m + 1, Vec::new());
                }
                mods[m].push((name.clone(), kd, id));
            }
            Place::Absent => {}
        }
        syms.insert(
            name,
            Sym {
                place: p,
                id,
                addr: 0,
            },
        );
    }
    for (m, types) in mods.iter().enumerate() {
        let t: Vec<(&str, u32, u32)> = types.iter().map(|(n, k, i)| (n.as_str(), *k, *i)).collect();
        k.add_module(&format!("mod_{m}"), &t);
    }
    (k, syms)
}

/// The results of the `btf_find_by_name_kind` calls for `name`.
fn finds(k: &MockKernel, name: &str) -> Vec<i64> {
    k.events()
        .iter()
        .filter_map(|e| match e {
            Event::BtfFind { name: n, ret, .. } if n == name => Some(*ret),
            _ => None,
        })
        .collect()
}

/// The module BTF fd the one lookup of `name` returned.
fn module_fd_of(k: &MockKernel, name: &str) -> i32 {
    let r = finds(k, name);
    assert_eq!(r.len(), 1, "`{name}` looked up {} times", r.len());
    assert!(
        r[0] > 0xffff_ffff,
        "`{name}`: lookup gave {:#x}, no module fd",
        r[0]
    );
    (r[0] >> 32) as i32
}

/// Whether `fd`, returned by a module BTF lookup, was still open when syscall `si` ran.
fn fd_open_at(k: &MockKernel, fd: i32, si: usize) -> bool {
    let mut open = false;
    for e in k.events() {
        match e {
            Event::BtfFind { ret, .. } if *ret > 0xffff_ffff && (*ret >> 32) as i32 == fd => {
                open = true
            }
            Event::Close { fd: c, .. } if *c == fd => open = false,
            Event::Bpf(i) if *i == si => return open,
            _ => {}
        }
    }
    panic!("no syscall #{si}")
}

/// Index (into the events) of syscall `si`.
fn event_of(k: &MockKernel, si: usize) -> usize {
    k.events()
        .iter()
        .position(|e| matches!(e, Event::Bpf(i) if *i == si))
        .unwrap()
}

/// `fd` is closed after syscall `si` and before the next one.
fn closed_right_after(k: &MockKernel, fd: i32, si: usize) -> bool {
    k.events()[event_of(k, si) + 1..]
        .iter()
        .take_while(|e| !matches!(e, Event::Bpf(_)))
        .any(|e| matches!(e, Event::Close { fd: c, ret: 0, .. } if *c == fd))
}

/// No module BTF is open any more.
fn no_module_btf_open(k: &MockKernel) -> bool {
    k.open_fds()
        .iter()
        .all(|&fd| !matches!(k.object(fd), Some(Object::ModuleBtf(_))))
}

/// Indices (into the syscalls) of the PROG_LOADs, in program order.
fn prog_load_idx(k: &MockKernel) -> Vec<usize> {
    (0..k.syscalls().len())
        .filter(|&i| k.syscalls()[i].cmd == Cmd::ProgLoad)
        .collect()
}

fn run_ok(f: &Fixture, k: &mut MockKernel) -> Vec<u8> {
    let mut ctx = fresh_ctx(f);
    let out = run_loader(f, k, &mut ctx);
    assert_eq!(
        out.retval,
        0,
        "{}: loader failed\n{}",
        f.stem,
        syscall_list(k)
    );
    assert_eq!(failed_step(f, &ctx), 0, "{}: status set on success", f.stem);
    assert_loaded(f, k, &ctx);
    assert!(no_module_btf_open(k));
    ctx
}

/// A run that must fail with `errno` at the step named `step`, leaving nothing open.
fn run_fails(f: &Fixture, k: &mut MockKernel, errno: i64, step: &str) {
    let mut ctx = fresh_ctx(f);
    let out = run_loader(f, k, &mut ctx);
    assert_eq!(
        out.retval,
        -errno,
        "{}: {step}\n{}",
        f.stem,
        syscall_list(k)
    );
    assert_eq!(failed_step_text(f, &ctx), Some(step), "{}", f.stem);
    assert_eq!(
        k.open_fds(),
        Vec::<i32>::new(),
        "{}: {step}: fds left open\n{}",
        f.stem,
        syscall_list(k)
    );
    assert_closes_ok(f, k);
}

fn ext_index(f: &Fixture, name: &str) -> usize {
    f.skel
        .plan
        .externs
        .list
        .iter()
        .position(|e| e.name == name)
        .unwrap_or_else(|| panic!("{}: no extern `{name}`", f.stem))
}

/// (program index, site) of every site of extern `name`.
fn sites_of(f: &Fixture, name: &str) -> Vec<(usize, usize, SiteKind)> {
    let e = ext_index(f, name);
    f.skel
        .plan
        .programs
        .iter()
        .enumerate()
        .flat_map(|(j, p)| {
            p.linked
                .extern_sites
                .iter()
                .filter(move |s| s.ext == e)
                .map(move |s| (j, s.insn, s.kind))
        })
        .collect()
}

fn map_index(f: &Fixture, name: &str) -> usize {
    f.skel
        .plan
        .maps
        .iter()
        .position(|m| m.name == name)
        .unwrap_or_else(|| panic!("{}: no map `{name}`", f.stem))
}

fn prog_index(f: &Fixture, name: &str) -> usize {
    f.skel
        .plan
        .programs
        .iter()
        .position(|p| p.def.func.name == name)
        .unwrap_or_else(|| panic!("{}: no program `{name}`", f.stem))
}

fn kfuncs_placement(layout: &str) -> impl Fn(&str) -> Place + '_ {
    move |name: &str| {
        if meant_absent(name) {
            Place::Absent
        } else if name.starts_with("btf_trace_") {
            Place::Vmlinux
        } else {
            match layout {
                "vmlinux" => Place::Vmlinux,
                "one module" => Place::Module(0),
                _ => Place::Module(name.len() % 2),
            }
        }
    }
}

/// Kfuncs in vmlinux, in one module and spread over two: every call site patched, the
/// `fd_array` slot of a module kfunc holding that module's live BTF fd at load time, one lookup
/// per kfunc, every module fd closed at the end.
#[test]
fn kfunc_call_sites_vmlinux_and_modules() {
    let f = fixture("kfuncs");
    let plan = &f.skel.plan;
    assert_eq!(
        sites_of(&f, "bpf_task_from_pid")
            .iter()
            .filter(|s| s.0 == prog_index(&f, "kfunc_run") && s.2 == SiteKind::KfuncCall)
            .count(),
        2,
        "bpf_task_from_pid has two call sites in kfunc_run"
    );
    for layout in ["vmlinux", "one module", "two modules"] {
        let place = kfuncs_placement(layout);
        let (mut k, syms) = kernel_with(&f, &place);
        let ctx = run_ok(&f, &mut k);
        let loads = prog_load_idx(&k);
        let mut slot_of: BTreeMap<String, i16> = BTreeMap::new();
        let mut module_fds = BTreeSet::new();
        for (j, p) in plan.programs.iter().enumerate() {
            let si = loads[j];
            let s = &k.syscalls()[si];
            let code = s.mem.insns.as_deref().unwrap();
            let prog = k.prog(s.ret as i32).unwrap();
            for site in p
                .linked
                .extern_sites
                .iter()
                .filter(|s| s.kind == SiteKind::KfuncCall)
            {
                let e = &plan.externs.list[site.ext];
                let what = format!(
                    "{layout}: `{}` insn {} (`{}`)",
                    p.def.func.name, site.insn, e.name
                );
                let i = insn_at(code, site.insn);
                assert_eq!((i.code, i.src), (0x85, BPF_PSEUDO_KFUNC_CALL), "{what}");
                let sym = syms[&e.name];
                match sym.place {
                    Place::Absent => {
                        assert!(e.weak);
                        assert_eq!((i.imm, i.off), (0, 0), "{what}: absent weak kfunc");
                        continue;
                    }
                    Place::Vmlinux => {
                        assert_eq!((i.imm as u32, i.off), (sym.id, 0), "{what}");
                        assert!(
                            prog.kfuncs.contains(&(site.insn, sym.id, None)),
                            "{what}: kernel saw {:?}",
                            prog.kfuncs
                        );
                        assert_eq!(finds(&k, &e.name), vec![i64::from(sym.id)], "{what}");
                    }
                    Place::Module(m) => {
                        assert_eq!(i.imm as u32, sym.id, "{what}");
                        assert!(i.off >= 1, "{what}: off {} (0 means vmlinux)", i.off);
                        assert!(
                            i.off as usize >= n_maps(&f),
                            "{what}: off {} is a map slot",
                            i.off
                        );
                        let fd = module_fd_of(&k, &e.name);
                        assert_eq!(
                            s.mem.fd_array.get(&(i.off as u32)),
                            Some(&fd),
                            "{what}: fd_array[{}]",
                            i.off
                        );
                        assert!(
                            fd_open_at(&k, fd, si),
                            "{what}: module fd {fd} closed before the load"
                        );
                        let module = format!("mod_{m}");
                        assert!(
                            prog.kfuncs.contains(&(site.insn, sym.id, Some(module))),
                            "{what}: kernel saw {:?}",
                            prog.kfuncs
                        );
                        module_fds.insert(fd);
                        // One slot per kfunc, the same in every program.
                        assert_eq!(
                            *slot_of.entry(e.name.clone()).or_insert(i.off),
                            i.off,
                            "{what}"
                        );
                    }
                }
            }
            // Map slots still hold the maps.
            for (&slot, &fd) in &s.mem.fd_array {
                if (slot as usize) < n_maps(&f) {
                    assert_eq!(fd, ctx_map_fd(&ctx, slot as usize));
                }
            }
        }
        let distinct: BTreeSet<i16> = slot_of.values().copied().collect();
        assert_eq!(
            distinct.len(),
            slot_of.len(),
            "{layout}: two kfuncs share a slot: {slot_of:?}"
        );
        // One lookup per kfunc, however many call sites.
        for e in &plan.externs.list {
            assert_eq!(
                finds(&k, &e.name).len(),
                1,
                "{layout}: lookups of `{}`",
                e.name
            );
        }
        for fd in module_fds {
            assert!(
                k.object(fd).is_none(),
                "{layout}: module fd {fd} still open"
            );
        }
        // Both calls of bpf_task_from_pid patched the same way.
        let run = prog_index(&f, "kfunc_run");
        let code = k.syscalls()[loads[run]].mem.insns.clone().unwrap();
        let calls: Vec<&[u8]> = sites_of(&f, "bpf_task_from_pid")
            .iter()
            .filter(|s| s.0 == run)
            .map(|s| &code[8 * s.1..8 * s.1 + 8])
            .collect();
        assert_eq!(calls[0], calls[1], "{layout}");
    }
}

/// Weak kfuncs: present → call and `bpf_ksym_exists` load patched; absent → imm 0 / off 0
/// calls and a plain load of 0. A strong kfunc missing fails the load naming it.
#[test]
fn weak_and_strong_kfuncs() {
    let f = fixture("kfuncs");
    let plan = &f.skel.plan;
    let check = |k: &MockKernel, syms: &BTreeMap<String, Sym>, name: &str, what: &str| {
        let loads = prog_load_idx(k);
        let e = &plan.externs.list[ext_index(&f, name)];
        assert!(e.weak, "{name} is weak");
        let sites = sites_of(&f, name);
        assert!(
            sites.iter().any(|s| s.2 == SiteKind::BtfId),
            "{name} has a bpf_ksym_exists load"
        );
        for (j, n, kd) in sites {
            let code = k.syscalls()[loads[j]].mem.insns.clone().unwrap();
            let linked = &plan.programs[j].linked.insns;
            let i = insn_at(&code, n);
            let sym = syms[name];
            let what = format!("{what}: `{name}` insn {n} {kd:?}");
            match (kd, sym.place) {
                (SiteKind::KfuncCall, Place::Absent) => {
                    assert_eq!(
                        (i.code, i.src, i.imm, i.off),
                        (0x85, BPF_PSEUDO_KFUNC_CALL, 0, 0),
                        "{what}"
                    )
                }
                (SiteKind::KfuncCall, Place::Vmlinux) => {
                    assert_eq!(
                        (i.src, i.imm as u32, i.off),
                        (BPF_PSEUDO_KFUNC_CALL, sym.id, 0),
                        "{what}"
                    )
                }
                (SiteKind::KfuncCall, Place::Module(_)) => {
                    assert_eq!(
                        (i.src, i.imm as u32),
                        (BPF_PSEUDO_KFUNC_CALL, sym.id),
                        "{what}"
                    );
                    assert!(i.off as usize >= n_maps(&f).max(1), "{what}");
                    assert_eq!(
                        k.syscalls()[loads[j]].mem.fd_array.get(&(i.off as u32)),
                        Some(&module_fd_of(k, name)),
                        "{what}"
                    );
                }
                (SiteKind::BtfId, Place::Absent) => {
                    assert_eq!(
                        (i.code, i.src, i.imm, imm2(&code, n)),
                        (0x18, 0, 0, 0),
                        "{what}"
                    );
                    assert_eq!(i.dst, linked[8 * n + 1] & 0x0f, "{what}: dst_reg kept");
                }
                (SiteKind::BtfId, Place::Vmlinux) => {
                    assert_eq!(
                        (i.code, i.src, i.imm as u32, imm2(&code, n)),
                        (0x18, BPF_PSEUDO_BTF_ID, sym.id, 0),
                        "{what}"
                    );
                    assert_eq!(i.dst, linked[8 * n + 1] & 0x0f, "{what}: dst_reg kept");
                }
                (SiteKind::BtfId, Place::Module(_)) => {
                    let fd = module_fd_of(k, name);
                    assert_eq!(
                        (i.code, i.src, i.imm as u32, imm2(&code, n)),
                        (0x18, BPF_PSEUDO_BTF_ID, sym.id, fd),
                        "{what}"
                    );
                    assert!(
                        fd_open_at(k, fd, loads[j]),
                        "{what}: fd {fd} closed before the load"
                    );
                }
                (kd, p) => panic!("{what}: unexpected {kd:?} at {p:?}"),
            }
        }
    };
    for layout in ["vmlinux", "one module", "two modules"] {
        // bpf_task_from_vpid present, bpf_lskel_no_such_kfunc absent.
        let place = kfuncs_placement(layout);
        let (mut k, syms) = kernel_with(&f, &place);
        run_ok(&f, &mut k);
        assert_eq!(syms["bpf_lskel_no_such_kfunc"].place, Place::Absent);
        assert_eq!(finds(&k, "bpf_lskel_no_such_kfunc"), vec![-ENOENT]);
        check(&k, &syms, "bpf_task_from_vpid", layout);
        check(&k, &syms, "bpf_lskel_no_such_kfunc", layout);

        // Both weak ones absent.
        let (mut k, syms) = kernel_with(&f, &|n: &str| {
            if n == "bpf_task_from_vpid" {
                Place::Absent
            } else {
                place(n)
            }
        });
        run_ok(&f, &mut k);
        check(&k, &syms, "bpf_task_from_vpid", layout);
        check(&k, &syms, "bpf_lskel_no_such_kfunc", layout);

        // A weak lookup failing with anything but ENOENT is fatal, and named.
        let (mut k, _) = kernel_with(&f, &place);
        let nth = {
            let (mut clean, _) = kernel_with(&f, &place);
            run_ok(&f, &mut clean);
            1 + clean
                .events()
                .iter()
                .filter(|e| matches!(e, Event::BtfFind { .. }))
                .position(
                    |e| matches!(e, Event::BtfFind { name, .. } if name == "bpf_task_from_vpid"),
                )
                .unwrap() as u32
        };
        k.fail_nth(Op::BtfFindByNameKind, nth, lskel_emu::EPERM);
        run_fails(
            &f,
            &mut k,
            i64::from(lskel_emu::EPERM),
            "find kernel function `bpf_task_from_vpid` in kernel BTF",
        );

        // Every strong kfunc missing in turn.
        for e in plan
            .externs
            .list
            .iter()
            .filter(|e| e.kind == ExternKind::Kfunc && !e.weak)
        {
            let (mut k, _) = kernel_with(&f, &|n: &str| {
                if n == e.name {
                    Place::Absent
                } else {
                    place(n)
                }
            });
            run_fails(
                &f,
                &mut k,
                ENOENT,
                &format!("find kernel function `{}` in kernel BTF", e.name),
            );
            assert_eq!(k.call_count(Cmd::ProgLoad), 0, "{layout}: `{}`", e.name);
        }
    }
}

/// Ksyms: typeless ones get the kallsyms address, typed ones BPF_PSEUDO_BTF_ID with the BTF
/// id and the module's fd (0 for vmlinux); weak missing ones load 0; strong missing ones fail.
#[test]
fn ksyms_typed_and_typeless() {
    for stem in ["ksyms", "ksyms_percpu"] {
        let f = fixture(stem);
        let plan = &f.skel.plan;
        for layout in ["vmlinux", "module", "no bpf_prog_active"] {
            let place = |n: &str| {
                if meant_absent(n) || (layout == "no bpf_prog_active" && n == "bpf_prog_active") {
                    Place::Absent
                } else if layout == "module" {
                    Place::Module(0)
                } else {
                    Place::Vmlinux
                }
            };
            let (mut k, syms) = kernel_with(&f, &place);
            run_ok(&f, &mut k);
            let loads = prog_load_idx(&k);
            let mut checked = 0;
            for (j, p) in plan.programs.iter().enumerate() {
                let code = k.syscalls()[loads[j]].mem.insns.clone().unwrap();
                for site in &p.linked.extern_sites {
                    let e = &plan.externs.list[site.ext];
                    let n = site.insn;
                    let i = insn_at(&code, n);
                    let what = format!("{stem} ({layout}): `{}` insn {n}", e.name);
                    assert_eq!(i.code, 0x18, "{what}");
                    assert_eq!(
                        i.dst,
                        p.linked.insns[8 * n + 1] & 0x0f,
                        "{what}: dst_reg kept"
                    );
                    let sym = syms[&e.name];
                    let got = (i.src, i.imm as u32, imm2(&code, n) as u32);
                    match (site.kind, sym.place) {
                        (SiteKind::Address, Place::Absent) | (SiteKind::BtfId, Place::Absent) => {
                            assert!(e.weak, "{what}");
                            assert_eq!(got, (0, 0, 0), "{what}: weak and absent");
                        }
                        (SiteKind::Address, _) => {
                            assert_eq!(e.kind, ExternKind::TypelessKsym);
                            assert_eq!(
                                got,
                                (0, sym.addr as u32, (sym.addr >> 32) as u32),
                                "{what}"
                            );
                        }
                        (SiteKind::BtfId, Place::Vmlinux) => {
                            assert_eq!(got, (BPF_PSEUDO_BTF_ID, sym.id, 0), "{what}");
                        }
                        (SiteKind::BtfId, Place::Module(_)) => {
                            let fd = module_fd_of(&k, &e.name);
                            assert_eq!(got, (BPF_PSEUDO_BTF_ID, sym.id, fd as u32), "{what}");
                            assert!(
                                fd_open_at(&k, fd, loads[j]),
                                "{what}: fd {fd} closed before the load"
                            );
                            assert!(k.object(fd).is_none(), "{what}: fd {fd} still open");
                        }
                        (kd, p) => panic!("{what}: unexpected {kd:?} at {p:?}"),
                    }
                    checked += 1;
                }
            }
            assert!(checked >= 3, "{stem}: {checked} sites");
        }

        // The strong ones missing in turn.
        for e in plan.externs.list.iter().filter(|e| !e.weak) {
            let step = match e.kind {
                ExternKind::TypelessKsym => format!("find kernel symbol `{}` in kallsyms", e.name),
                ExternKind::Kfunc => format!("find kernel function `{}` in kernel BTF", e.name),
                ExternKind::TypedKsym { .. } => {
                    format!("find kernel variable `{}` in kernel BTF", e.name)
                }
                ExternKind::Kconfig { .. } => continue,
            };
            for home in [Place::Vmlinux, Place::Module(0)] {
                let (mut k, _) = kernel_with(&f, &|n: &str| {
                    if n == e.name || meant_absent(n) {
                        Place::Absent
                    } else {
                        home
                    }
                });
                run_fails(&f, &mut k, ENOENT, &step);
            }
        }
    }
    // The fixtures hold what the README says.
    let f = fixture("ksyms");
    let kinds: Vec<(String, bool, ExternKind)> = f
        .skel
        .plan
        .externs
        .list
        .iter()
        .map(|e| (e.name.clone(), e.weak, e.kind.clone()))
        .collect();
    assert!(kinds.contains(&("_text".into(), false, ExternKind::TypelessKsym)));
    assert!(kinds.contains(&("bpf_prog_active".into(), true, ExternKind::TypelessKsym)));
    assert!(kinds.contains(&(
        "bpf_lskel_no_such_var".into(),
        true,
        ExternKind::TypedKsym {
            btf_kind: kind::VAR
        }
    )));
    let f = fixture("ksyms_percpu");
    assert_eq!(sites_of(&f, "runqueues").len(), 2);
    assert!(sites_of(&f, "runqueues")
        .iter()
        .all(|s| s.2 == SiteKind::BtfId));
}

/// Fentry: FUNC `do_nanosleep` as the attach target, in vmlinux or a module.
#[test]
fn fentry_attach_target() {
    let f = fixture("fentry");
    let p = &f.skel.plan.programs[0];
    assert_eq!(p.def.func.name, "on_nanosleep");
    assert_eq!(p.kernel_target(), Some(("do_nanosleep", kind::FUNC)));
    for home in [Place::Vmlinux, Place::Module(0)] {
        let (mut k, syms) = kernel_with(&f, &|_: &str| home);
        run_ok(&f, &mut k);
        let si = prog_load_idx(&k)[0];
        let s = &k.syscalls()[si];
        let id = syms["do_nanosleep"].id;
        assert_eq!(
            (
                s.u32(PROG_TYPE),
                s.u32(EXPECTED_ATTACH_TYPE),
                s.u32(ATTACH_BTF_ID)
            ),
            (BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, id)
        );
        let find: Vec<(String, u32)> = k
            .events()
            .iter()
            .filter_map(|e| match e {
                Event::BtfFind { name, kind, .. } => Some((name.clone(), *kind)),
                _ => None,
            })
            .collect();
        assert_eq!(find, vec![("do_nanosleep".to_string(), kind::FUNC)]);
        let prog = k.prog(s.ret as i32).unwrap();
        assert_eq!(prog.attach_btf_id, id);
        if home == Place::Vmlinux {
            assert_eq!(s.i32(ATTACH_BTF_OBJ_FD), 0);
            assert_eq!(prog.attach_module, None);
        } else {
            let fd = module_fd_of(&k, "do_nanosleep");
            assert_eq!(s.i32(ATTACH_BTF_OBJ_FD), fd);
            assert_eq!(prog.attach_module.as_deref(), Some("mod_0"));
            assert!(
                closed_right_after(&k, fd, si),
                "module fd {fd} not closed after the load"
            );
        }
    }
    let (mut k, _) = kernel_with(&f, &|_: &str| Place::Absent);
    run_fails(
        &f,
        &mut k,
        ENOENT,
        "find attach target `do_nanosleep` of program `on_nanosleep` in kernel BTF",
    );
    // A FUNC of that name is not a TYPEDEF: looked up by kind.
    let mut k = MockKernel::new();
    k.add_vmlinux_type("do_nanosleep", kind::TYPEDEF, 5);
    run_fails(
        &f,
        &mut k,
        ENOENT,
        "find attach target `do_nanosleep` of program `on_nanosleep` in kernel BTF",
    );
}

/// Tp_btf and iterators: TYPEDEF `btf_trace_*` / FUNC `bpf_iter_*`, the sleepable flag of
/// `iter.s`, each module fd closed right after its program's load.
#[test]
fn tp_btf_and_iter_attach_targets() {
    let f = fixture("attach");
    let want = [
        (
            "on_fork",
            "btf_trace_sched_process_fork",
            kind::TYPEDEF,
            BPF_TRACE_RAW_TP,
            0,
        ),
        (
            "dump_maps",
            "bpf_iter_bpf_map",
            kind::FUNC,
            BPF_TRACE_ITER,
            0,
        ),
        (
            "dump_tasks_s",
            "bpf_iter_task",
            kind::FUNC,
            BPF_TRACE_ITER,
            BPF_F_SLEEPABLE,
        ),
    ];
    let got: Vec<(&str, &str, u32)> = f
        .skel
        .plan
        .programs
        .iter()
        .map(|p| {
            let (t, kd) = p.kernel_target().unwrap();
            (p.def.func.name.as_str(), t, kd)
        })
        .collect();
    assert_eq!(
        got,
        want.iter().map(|w| (w.0, w.1, w.2)).collect::<Vec<_>>()
    );
    for layout in ["vmlinux", "modules"] {
        let (mut k, syms) = kernel_with(&f, &|n: &str| {
            if layout == "vmlinux" {
                Place::Vmlinux
            } else {
                Place::Module(n.len() % 2)
            }
        });
        run_ok(&f, &mut k);
        let loads = prog_load_idx(&k);
        for (j, (name, target, kd, eat, flags)) in want.iter().enumerate() {
            let s = &k.syscalls()[loads[j]];
            let what = format!("{layout}: `{name}`");
            assert_eq!(s.name(48), *name);
            assert_eq!(
                (
                    s.u32(PROG_TYPE),
                    s.u32(EXPECTED_ATTACH_TYPE),
                    s.u32(PROG_FLAGS)
                ),
                (BPF_PROG_TYPE_TRACING, *eat, *flags),
                "{what}"
            );
            assert_eq!(s.u32(ATTACH_BTF_ID), syms[*target].id, "{what}");
            let found: Vec<u32> = k
                .events()
                .iter()
                .filter_map(|e| match e {
                    Event::BtfFind { name, kind, .. } if name == target => Some(*kind),
                    _ => None,
                })
                .collect();
            assert_eq!(found, vec![*kd], "{what}");
            let prog = k.prog(s.ret as i32).unwrap();
            assert_eq!(prog.prog_flags, *flags, "{what}");
            match syms[*target].place {
                Place::Module(m) => {
                    let fd = module_fd_of(&k, target);
                    assert_eq!(s.i32(ATTACH_BTF_OBJ_FD), fd, "{what}");
                    assert_eq!(prog.attach_module, Some(format!("mod_{m}")), "{what}");
                    assert!(
                        closed_right_after(&k, fd, loads[j]),
                        "{what}: module fd {fd} kept open"
                    );
                }
                _ => assert_eq!(s.i32(ATTACH_BTF_OBJ_FD), 0, "{what}"),
            }
        }
        // Each target missing in turn: named, everything closed (earlier programs included).
        for (name, target, ..) in want {
            let (mut k, _) = kernel_with(&f, &|n: &str| {
                if n == target {
                    Place::Absent
                } else if layout == "vmlinux" {
                    Place::Vmlinux
                } else {
                    Place::Module(n.len() % 2)
                }
            });
            run_fails(
                &f,
                &mut k,
                ENOENT,
                &format!("find attach target `{target}` of program `{name}` in kernel BTF"),
            );
        }
    }
}

/// Map-in-map: a template before each outer, passed as inner_map_fd and closed right after;
/// static slots filled with the right inner maps' fds.
#[test]
fn map_in_map_templates_and_slots() {
    let f = fixture("mapinmap");
    let plan = &f.skel.plan;
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let ctx = run_ok(&f, &mut k);
    let sc = k.syscalls();
    let creates: Vec<usize> = (0..sc.len())
        .filter(|&i| sc[i].cmd == Cmd::MapCreate)
        .collect();
    let mut c = creates.iter();
    let mut outers = 0;
    for (i, m) in plan.maps.iter().enumerate() {
        let mut template = None;
        if let Some(inner) = &m.inner {
            let t = *c.next().unwrap();
            let s = &sc[t];
            assert_eq!(
                (s.u32(0), s.u32(4), s.u32(8), s.u32(12), s.name(28)),
                (
                    inner.map_type,
                    inner.key_size,
                    inner.value_size,
                    inner.max_entries,
                    truncated(&inner.kernel_name)
                ),
                "template of `{}`",
                m.name
            );
            assert!(s.ret >= 3);
            template = Some((t, s.ret as i32));
        }
        let o = *c.next().unwrap();
        assert_eq!(sc[o].ret, i64::from(ctx_map_fd(&ctx, i)), "`{}`", m.name);
        if let Some((t, fd)) = template {
            outers += 1;
            assert_eq!(
                o,
                t + 1,
                "`{}`: the template comes right before the outer",
                m.name
            );
            assert_eq!(sc[o].i32(20), fd, "`{}`: inner_map_fd", m.name);
            assert!(
                closed_right_after(&k, fd, o),
                "`{}`: template fd {fd} not closed after the outer",
                m.name
            );
        } else {
            assert_eq!(sc[o].i32(20), 0, "`{}`: inner_map_fd", m.name);
        }
    }
    assert_eq!(outers, 2);

    // Static slots, as the README lists them.
    let want = [
        ("outer_arr", 0, "inner_a"),
        ("outer_arr", 2, "inner_b"),
        ("outer_hash", 1, "inner_c"),
        ("outer_hash", 5, "inner_a"),
    ];
    let plan_slots: Vec<(&str, u32, &str)> = plan
        .maps
        .iter()
        .flat_map(|m| {
            m.init.iter().map(move |(slot, r)| match r {
                InitRef::Map(t) => (m.name.as_str(), *slot, plan.maps[*t].name.as_str()),
                InitRef::Prog(p) => panic!("prog `{p}` in a map-in-map"),
            })
        })
        .collect();
    assert_eq!(plan_slots, want);
    let last_create = *creates.last().unwrap();
    let first_load = prog_load_idx(&k)[0];
    for (outer, slot, inner) in want {
        let (o, t) = (
            ctx_map_fd(&ctx, map_index(&f, outer)),
            ctx_map_fd(&ctx, map_index(&f, inner)),
        );
        let upd: Vec<usize> = (0..sc.len())
            .filter(|&i| {
                sc[i].cmd == Cmd::MapUpdateElem
                    && sc[i].i32(0) == o
                    && sc[i].mem.key.as_deref() == Some(&slot.to_le_bytes()[..])
            })
            .collect();
        assert_eq!(upd.len(), 1, "`{outer}`[{slot}]");
        let s = &sc[upd[0]];
        assert_eq!(
            s.mem.value.as_deref(),
            Some(&t.to_le_bytes()[..]),
            "`{outer}`[{slot}] = `{inner}`"
        );
        assert_eq!(s.u64(24), 0, "flags");
        assert!(
            upd[0] > last_create && upd[0] < first_load,
            "`{outer}`[{slot}] order"
        );
        assert_eq!(
            k.map(o).unwrap().entries[&slot.to_le_bytes()[..]],
            t.to_le_bytes()
        );
    }

    // A failing outer create still closes its template.
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.fail_nth(Cmd::MapCreate, 4, lskel_emu::ENOMEM); // inner_a, inner_b, template, outer_arr
    run_fails(
        &f,
        &mut k,
        i64::from(lskel_emu::ENOMEM),
        "create map `outer_arr`",
    );
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.fail_nth(Cmd::MapCreate, 3, lskel_emu::ENOMEM);
    run_fails(
        &f,
        &mut k,
        i64::from(lskel_emu::ENOMEM),
        "create the inner map template of `outer_arr`",
    );
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.fail_nth(Cmd::MapUpdateElem, 3, lskel_emu::E2BIG); // outer_arr[0], [2], outer_hash[1] (.bss starts zeroed: not written)
    run_fails(
        &f,
        &mut k,
        i64::from(lskel_emu::E2BIG),
        "store map `inner_c` in `outer_hash`[1]",
    );
}

/// Prog_array: slots filled with the right programs' fds after every program loaded.
#[test]
fn prog_array_slots() {
    let f = fixture("tailcall");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let ctx = run_ok(&f, &mut k);
    let jt = map_index(&f, "jmp_table");
    let want = [(0u32, "target_a"), (1, "target_b")];
    let plan_slots: Vec<(usize, u32, &str)> = f
        .skel
        .plan
        .prog_array_init
        .iter()
        .map(|&(i, s, j)| (i, s, f.skel.plan.programs[j].def.func.name.as_str()))
        .collect();
    assert_eq!(
        plan_slots,
        want.iter().map(|&(s, p)| (jt, s, p)).collect::<Vec<_>>()
    );
    let sc = k.syscalls();
    let last_load = *prog_load_idx(&k).last().unwrap();
    let jt_fd = ctx_map_fd(&ctx, jt);
    let upd: Vec<&SysCall> = sc
        .iter()
        .filter(|s| s.cmd == Cmd::MapUpdateElem && s.i32(0) == jt_fd)
        .collect();
    assert_eq!(upd.len(), 2);
    for (s, (slot, prog)) in upd.iter().zip(want) {
        let pfd = ctx_prog_fd(&ctx, n_maps(&f), prog_index(&f, prog));
        assert_eq!(s.mem.key.as_deref(), Some(&slot.to_le_bytes()[..]));
        assert_eq!(
            s.mem.value.as_deref(),
            Some(&pfd.to_le_bytes()[..]),
            "jmp_table[{slot}] = `{prog}`"
        );
        assert!(k.prog(pfd).is_some());
        assert_eq!(
            k.map(jt_fd).unwrap().entries[&slot.to_le_bytes()[..]],
            pfd.to_le_bytes()
        );
    }
    let first_update = sc
        .iter()
        .position(|s| s.cmd == Cmd::MapUpdateElem && s.i32(0) == jt_fd)
        .unwrap();
    assert!(
        first_update > last_load,
        "prog_array slots are filled after every PROG_LOAD"
    );

    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    k.fail_nth(Cmd::MapUpdateElem, 3, lskel_emu::EINVAL); // .rodata, [0], [1] (.bss starts zeroed: not written)
    run_fails(
        &f,
        &mut k,
        i64::from(lskel_emu::EINVAL),
        "store program `target_b` in `jmp_table`[1]",
    );
}

/// The step texts of every fallible call of a successful run, in order, from the plan alone.
fn expected_steps(f: &Fixture, seeded: bool) -> Vec<(Op, String)> {
    let plan = &f.skel.plan;
    let mut v = vec![(Op::Bpf(Cmd::BtfLoad), "load BTF".to_string())];
    for m in &plan.maps {
        let n = &m.name;
        if m.inner.is_some() {
            v.push((
                Op::Bpf(Cmd::MapCreate),
                format!("create the inner map template of `{n}`"),
            ));
        }
        v.push((Op::Bpf(Cmd::MapCreate), format!("create map `{n}`")));
        if let Some(kd) = m.data_kind().filter(|_| !m.starts_zeroed()) {
            if seeded {
                v.push((
                    Op::CopyFromUser,
                    format!("copy the initial value of `{n}` from user memory"),
                ));
            }
            v.push((
                Op::Bpf(Cmd::MapUpdateElem),
                format!("write the initial value of `{n}`"),
            ));
            if kd.is_readonly() {
                v.push((Op::Bpf(Cmd::MapFreeze), format!("freeze `{n}`")));
            }
        }
    }
    for m in &plan.maps {
        for (slot, r) in &m.init {
            if let InitRef::Map(t) = r {
                v.push((
                    Op::Bpf(Cmd::MapUpdateElem),
                    format!("store map `{}` in `{}`[{slot}]", plan.maps[*t].name, m.name),
                ));
            }
        }
    }
    for e in &plan.externs.list {
        let n = &e.name;
        match &e.kind {
            ExternKind::Kfunc => v.push((
                Op::BtfFindByNameKind,
                format!("find kernel function `{n}` in kernel BTF"),
            )),
            ExternKind::TypedKsym { btf_kind } if *btf_kind == kind::FUNC => v.push((
                Op::BtfFindByNameKind,
                format!("find kernel function `{n}` in kernel BTF"),
            )),
            ExternKind::TypedKsym { .. } => v.push((
                Op::BtfFindByNameKind,
                format!("find kernel variable `{n}` in kernel BTF"),
            )),
            ExternKind::TypelessKsym => v.push((
                Op::KallsymsLookupName,
                format!("find kernel symbol `{n}` in kallsyms"),
            )),
            ExternKind::Kconfig { .. } => {}
        }
    }
    for p in &plan.programs {
        let n = &p.def.func.name;
        if let Some((t, _)) = p.kernel_target() {
            v.push((
                Op::BtfFindByNameKind,
                format!("find attach target `{t}` of program `{n}` in kernel BTF"),
            ));
        }
        v.push((
            Op::Bpf(Cmd::ProgLoad),
            format!("load program `{n}`{}", plan.license_hint()),
        ));
    }
    for &(i, slot, j) in &plan.prog_array_init {
        v.push((
            Op::Bpf(Cmd::MapUpdateElem),
            format!(
                "store program `{}` in `{}`[{slot}]",
                plan.programs[j].def.func.name, plan.maps[i].name
            ),
        ));
    }
    v
}

/// A few failures by hand: the ctx status names the step.
#[test]
fn failure_status_names_the_step() {
    let f = fixture("counter");
    let cases = [
        (Op::Bpf(Cmd::BtfLoad), 1, "load BTF".to_string()),
        (
            Op::Bpf(Cmd::MapCreate),
            2,
            format!("create map `{}`", f.skel.plan.maps[1].name),
        ),
        (
            Op::Bpf(Cmd::ProgLoad),
            1,
            "load program `count_syscalls`".to_string(),
        ),
    ];
    assert_eq!(f.skel.plan.maps[1].name, ".rodata");
    for (op, n, step) in cases {
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        k.fail_nth(op, n, lskel_emu::EACCES);
        run_fails(&f, &mut k, i64::from(lskel_emu::EACCES), &step);
    }
    let f = fixture("kfuncs");
    let (mut k, _) = kernel_with(&f, &kfuncs_placement("two modules"));
    k.fail_nth(Cmd::ProgLoad, 2, lskel_emu::EINVAL);
    run_fails(
        &f,
        &mut k,
        i64::from(lskel_emu::EINVAL),
        "load program `kfunc_tp`",
    );
}

/// Every fallible call of every fixture, failed in turn: the ctx status names exactly the
/// step the plan says that call belongs to, and the step list is the loader's own.
#[test]
fn failure_status_matrix() {
    let mut cases = 0;
    for f in fixtures() {
        for home in [Home::Vmlinux, Home::Modules] {
            let seed = |k: &mut MockKernel, ctx: &mut [u8]| {
                for (i, m) in f.skel.plan.maps.iter().enumerate() {
                    if let MapOrigin::Data { init, .. } = &m.origin {
                        let a = k.add_user_mem(init);
                        set_ctx_u64(ctx, ctx::map_initial_value(i), a);
                    }
                }
            };
            let want = expected_steps(&f, true);
            // Every step text is one of the loader's, once.
            for (_, s) in &want {
                assert_eq!(
                    f.skel.loader.steps.iter().filter(|t| *t == s).count(),
                    1,
                    "{}: step `{s}` in {:?}",
                    f.stem,
                    f.skel.loader.steps
                );
            }
            // A clean run makes exactly those calls.
            let mut k = kernel_for(&f.skel, home);
            let mut ctx = fresh_ctx(&f);
            seed(&mut k, &mut ctx);
            assert_eq!(
                run_loader(&f, &mut k, &mut ctx).retval,
                0,
                "{}: {}",
                f.stem,
                syscall_list(&k)
            );
            let ops: Vec<Op> = k
                .events()
                .iter()
                .filter_map(|e| match e {
                    Event::Bpf(i) => Some(Op::Bpf(k.syscalls()[*i].cmd)),
                    Event::BtfFind { .. } => Some(Op::BtfFindByNameKind),
                    Event::Kallsyms { .. } => Some(Op::KallsymsLookupName),
                    Event::CopyFromUser { .. } => Some(Op::CopyFromUser),
                    _ => None,
                })
                .collect();
            assert_eq!(
                ops,
                want.iter().map(|w| w.0).collect::<Vec<_>>(),
                "{} ({home:?})",
                f.stem
            );
            let mut nth: BTreeMap<Op, u32> = BTreeMap::new();
            for (op, step) in &want {
                let n = nth.entry(*op).or_insert(0);
                *n += 1;
                let mut k = kernel_for(&f.skel, home);
                let mut ctx = fresh_ctx(&f);
                seed(&mut k, &mut ctx);
                k.fail_nth(*op, *n, lskel_emu::EIO);
                let out = run_loader(&f, &mut k, &mut ctx);
                let what = format!("{} ({home:?}): {op:?} #{n}", f.stem);
                assert_eq!(out.retval, -i64::from(lskel_emu::EIO), "{what}");
                assert_eq!(failed_step_text(&f, &ctx), Some(step.as_str()), "{what}");
                assert_eq!(k.open_fds(), Vec::<i32>::new(), "{what}");
                cases += 1;
            }
        }
    }
    assert!(cases > 150, "{cases} cases");
}

/// `.kconfig`: created RDONLY_PROG with the plan's size, written from the user's bytes the ctx
/// points to, then frozen; the program's references reach it through `fd_array`.
#[test]
fn kconfig_map_from_user_memory() {
    let f = fixture("kconfig");
    let plan = &f.skel.plan;
    let i = plan
        .maps
        .iter()
        .position(|m| m.data_kind() == Some(DataKind::Kconfig))
        .expect("a .kconfig map");
    let m = &plan.maps[i];
    assert_eq!(i, plan.maps.len() - 1, ".kconfig is the last map");
    assert_eq!(plan.externs.kconfig_size, 42);
    assert_eq!(m.value_size, plan.externs.kconfig_size);
    let bytes: Vec<u8> = (0..42u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let addr = k.add_user_mem(&bytes);
    set_ctx_u64(&mut ctx, ctx::map_initial_value(i), addr);
    // A max_entries override does not apply to data maps.
    set_ctx_u32(&mut ctx, ctx::map_max_entries(i), 7);
    assert_eq!(
        run_loader(&f, &mut k, &mut ctx).retval,
        0,
        "{}",
        syscall_list(&k)
    );
    assert_loaded(&f, &k, &ctx);
    let fd = ctx_map_fd(&ctx, i);
    let sc = k.syscalls();
    let create = sc
        .iter()
        .position(|s| s.cmd == Cmd::MapCreate && s.ret == i64::from(fd))
        .unwrap();
    let s = &sc[create];
    assert_eq!(
        (s.u32(0), s.u32(4), s.u32(8), s.u32(12)),
        (2, 4, 42, 1),
        "ARRAY, key 4, value 42, 1 entry"
    );
    assert_eq!(s.u32(16) & BPF_F_RDONLY_PROG, BPF_F_RDONLY_PROG);
    assert_eq!(s.u32(16), m.map_flags);
    assert_eq!(s.name(28), truncated(&m.kernel_name));
    // Then: copy_from_user of the user's bytes, update key 0, freeze, in that order.
    let ev = k.events();
    let after: Vec<&Event> = ev[event_of(&k, create) + 1..]
        .iter()
        .filter(|e| !matches!(e, Event::Close { .. }))
        .take(3)
        .collect();
    match after[0] {
        Event::CopyFromUser { src, size, ret, .. } => {
            assert_eq!((*src, *size, *ret), (addr, 42, 0))
        }
        e => panic!("after the create: {e:?}"),
    }
    let Event::Bpf(u) = after[1] else {
        panic!("{:?}", after[1])
    };
    let u = &sc[*u];
    assert_eq!((u.cmd, u.i32(0)), (Cmd::MapUpdateElem, fd));
    assert_eq!(u.mem.key.as_deref(), Some(&[0u8; 4][..]));
    assert_eq!(u.mem.value.as_deref(), Some(&bytes[..]));
    let Event::Bpf(z) = after[2] else {
        panic!("{:?}", after[2])
    };
    assert_eq!((sc[*z].cmd, sc[*z].i32(0)), (Cmd::MapFreeze, fd));
    let obj = k.map(fd).unwrap();
    assert!(obj.frozen);
    assert_eq!(obj.max_entries, 1);
    assert_eq!(obj.entries[&[0u8; 4][..]], bytes);
    // The program reaches the map through its fd_array slot.
    let load = &sc[prog_load_idx(&k)[0]];
    assert_eq!(
        load.mem.fd_array.get(&(i as u32)),
        Some(&fd),
        "{:?}",
        load.mem.fd_array
    );
    assert!(k
        .prog(load.ret as i32)
        .unwrap()
        .maps
        .iter()
        .any(|&(_, id)| Some(id) == k.object_id(fd)));

    // A bad user pointer: the copy fails and the status names it.
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    set_ctx_u64(&mut ctx, ctx::map_initial_value(i), 0x1000);
    let out = run_loader(&f, &mut k, &mut ctx);
    assert_eq!(out.retval, -i64::from(lskel_emu::EFAULT));
    assert_eq!(
        failed_step_text(&f, &ctx),
        Some("copy the initial value of `.kconfig` from user memory")
    );
    assert_eq!(k.open_fds(), Vec::<i32>::new());
}
