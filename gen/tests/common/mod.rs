//! Helpers shared by the emulator tests of the generated loader (`emu_*.rs`): fixtures, a
//! mock kernel holding every symbol a plan looks up, and the checks of a successful load.

#![allow(dead_code)]

use std::path::PathBuf;

use lskel_emu::{
    ctx, ctx_map_fd, ctx_prog_fd, ctx_u32, kind, new_ctx, run, Cmd, Event, MockKernel, Outcome,
    SysCall, BLOB_BASE,
};
use lskel_gen::externs::ExternKind;
use lskel_gen::Skeleton;

pub struct Fixture {
    pub stem: String,
    pub skel: Skeleton,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf")
}

fn load_fixture(p: &std::path::Path) -> Fixture {
    let file = p.file_name().unwrap().to_string_lossy().into_owned();
    let stem = file.split('.').next().unwrap().to_string();
    let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let skel = lskel_gen::generate(&data, &stem).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Fixture { stem, skel }
}

/// Every fixture object, by name.
pub fn fixtures() -> Vec<Fixture> {
    let dir = fixture_dir();
    let mut v: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .map(|p| load_fixture(&p))
        .collect();
    v.sort_by(|a, b| a.stem.cmp(&b.stem));
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

/// The fixture `tests/bpf/<stem>.bpf.o`.
pub fn fixture(stem: &str) -> Fixture {
    load_fixture(&fixture_dir().join(format!("{stem}.bpf.o")))
}

/// Made-up names in the fixtures that no kernel has (weak externs meant to be absent).
pub fn meant_absent(name: &str) -> bool {
    name.contains("no_such")
}

/// Where the mock kernel keeps the symbols a plan looks up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Home {
    Vmlinux,
    /// Attach targets, kfuncs and typed ksyms in two modules (alternating).
    Modules,
}

/// A kernel that has every attach target and extern of `skel` (except the made-up absent
/// ones), in vmlinux or in modules.
pub fn kernel_for(skel: &Skeleton, home: Home) -> MockKernel {
    let mut k = MockKernel::new();
    let mut btf_syms: Vec<(String, u32)> = Vec::new();
    for p in &skel.plan.programs {
        if let Some((name, kind)) = p.kernel_target() {
            btf_syms.push((name.to_string(), kind));
        }
    }
    for (n, e) in skel.plan.externs.list.iter().enumerate() {
        if meant_absent(&e.name) {
            continue;
        }
        match &e.kind {
            ExternKind::Kfunc => btf_syms.push((e.name.clone(), kind::FUNC)),
            ExternKind::TypedKsym { btf_kind } => btf_syms.push((e.name.clone(), *btf_kind)),
            ExternKind::TypelessKsym => {
                k.add_kallsyms(&e.name, 0xffff_ffff_8100_0000 + 0x1000 * n as u64);
            }
            ExternKind::Kconfig { .. } => {}
        }
    }
    let mut mods: [Vec<(String, u32, u32)>; 2] = Default::default();
    for (n, (name, kind)) in btf_syms.into_iter().enumerate() {
        let id = 50_000 + n as u32;
        match home {
            Home::Vmlinux => {
                k.add_vmlinux_type(&name, kind, id);
            }
            Home::Modules => mods[n % 2].push((name, kind, id)),
        }
    }
    for (m, types) in mods.iter().enumerate() {
        if !types.is_empty() {
            let t: Vec<(&str, u32, u32)> =
                types.iter().map(|(n, k, i)| (n.as_str(), *k, *i)).collect();
            k.add_module(&format!("mod_{m}"), &t);
        }
    }
    k
}

pub fn n_maps(f: &Fixture) -> usize {
    f.skel.plan.maps.len()
}

pub fn n_progs(f: &Fixture) -> usize {
    f.skel.plan.programs.len()
}

pub fn fresh_ctx(f: &Fixture) -> Vec<u8> {
    let mut ctx = new_ctx(n_maps(f), n_progs(f));
    // Programs whose target is set at load time add entries after the status trailer.
    assert!(ctx.len() <= f.skel.loader.ctx_size);
    ctx.resize(f.skel.loader.ctx_size, 0);
    // The runtime gives the possible CPUs (size of a PERF_EVENT_ARRAY without max_entries).
    let cpus = lskel_gen::abi::ctx::possible_cpus(n_maps(f), n_progs(f));
    ctx[cpus..cpus + 4].copy_from_slice(&4u32.to_le_bytes());
    ctx[..4].copy_from_slice(&(f.skel.loader.ctx_size as u32).to_le_bytes());
    ctx
}

/// Runs the loader of `f`; an interpreter loader's ctx area is then read back into `ctx`, as
/// the runtime does.
pub fn run_loader(f: &Fixture, k: &mut MockKernel, ctx: &mut [u8]) -> Outcome {
    let out = run_raw(f, k, ctx);
    if let Some(area) = f.skel.loader.ctx_area {
        let area = area as usize;
        ctx.copy_from_slice(&out.blob[area..area + ctx.len()]);
    }
    out
}

/// Runs the loader of `f`, leaving `ctx` as the program left it.
pub fn run_raw(f: &Fixture, k: &mut MockKernel, ctx: &mut [u8]) -> Outcome {
    run(&f.skel.loader.insns, &f.skel.loader.blob, ctx, k).unwrap_or_else(|e| {
        let trace: Vec<String> = k.syscalls().iter().map(|s| s.to_string()).collect();
        panic!(
            "{}: emulator error: {e}\nsyscalls so far:\n  {}",
            f.stem,
            trace.join("\n  ")
        )
    })
}

pub fn syscall_list(k: &MockKernel) -> String {
    k.syscalls()
        .iter()
        .map(|s| format!("  {s}\n"))
        .collect::<String>()
}

pub fn truncated(name: &str) -> String {
    name.chars().take(15).collect()
}

/// Every close the loader made succeeded (no double close, no close of a foreign fd).
pub fn assert_closes_ok(f: &Fixture, k: &MockKernel) {
    for e in k.events() {
        if let Event::Close { insn, fd, ret } = e {
            assert_eq!(
                *ret, 0,
                "{}: close({fd}) at insn {insn} returned {ret}",
                f.stem
            );
        }
    }
}

/// The fd BTF_LOAD returned.
pub fn btf_fd(k: &MockKernel) -> i64 {
    let s = &k.syscalls()[0];
    assert_eq!(s.cmd, Cmd::BtfLoad);
    s.ret
}

pub fn prog_loads(k: &MockKernel) -> Vec<&SysCall> {
    k.syscalls()
        .iter()
        .filter(|s| s.cmd == Cmd::ProgLoad)
        .collect()
}

pub fn in_blob(f: &Fixture, addr: u64) -> bool {
    (BLOB_BASE..BLOB_BASE + f.skel.loader.blob.len() as u64).contains(&addr)
}

/// Checks of a successful load shared by several tests.
pub fn assert_loaded(f: &Fixture, k: &MockKernel, ctx: &[u8]) {
    let plan = &f.skel.plan;
    let mut owned = Vec::new();
    for (i, m) in plan.maps.iter().enumerate() {
        let fd = ctx_map_fd(ctx, i);
        let obj = k
            .map(fd)
            .unwrap_or_else(|| panic!("{}: ctx map #{i} fd {fd} is not a live map", f.stem));
        assert_eq!(obj.name, truncated(&m.kernel_name), "{}: map #{i}", f.stem);
        // A value size given in the ctx (a struct_ops map's, from kernel BTF) wins.
        let set = lskel_emu::ctx_u32(ctx, lskel_gen::abi::ctx::map_desc(i) + 16);
        let value_size = if set & lskel_gen::abi::ctx::set::VALUE_SIZE != 0 {
            lskel_emu::ctx_u32(ctx, lskel_gen::abi::ctx::map_desc(i) + 24)
        } else {
            m.value_size
        };
        assert_eq!(
            (obj.map_type, obj.key_size, obj.value_size, obj.map_flags),
            (m.map_type, m.key_size, value_size, m.map_flags),
            "{}: map `{}`",
            f.stem,
            m.name
        );
        if let Some(kind) = m.data_kind() {
            assert_eq!(
                obj.frozen,
                kind.is_readonly(),
                "{}: `{}` frozen",
                f.stem,
                m.name
            );
            // A writable section that starts zeroed is left as created: zero costs nothing.
            assert_eq!(
                obj.entries.contains_key(&0u32.to_le_bytes()[..]),
                !m.starts_zeroed(),
                "{}: `{}` written at load",
                f.stem,
                m.name
            );
        }
        owned.push(fd);
    }
    for (j, p) in plan.programs.iter().enumerate() {
        let fd = ctx_prog_fd(ctx, n_maps(f), j);
        let obj = k
            .prog(fd)
            .unwrap_or_else(|| panic!("{}: ctx prog #{j} fd {fd} is not a live program", f.stem));
        assert_eq!(obj.name, truncated(&p.def.func.name));
        assert_eq!(obj.prog_type, p.def.def.prog_type);
        assert_eq!(obj.expected_attach_type, p.expected_attach_type);
        assert_eq!(obj.license, plan.license);
        owned.push(fd);
    }
    owned.sort_unstable();
    assert_eq!(
        k.open_fds(),
        owned,
        "{}: open fds must be exactly the ctx's map and program fds (BTF, module BTF and inner map fds closed)",
        f.stem
    );
    assert_closes_ok(f, k);
}

/// The ctx status trailer's `failed_step` (1-based index into `skel.loader.steps`; 0 = none).
pub fn failed_step(f: &Fixture, ctx: &[u8]) -> u32 {
    ctx_u32(ctx, ctx::status(n_maps(f), n_progs(f)))
}

/// The text of the step the ctx status names, or `None` when it names none.
pub fn failed_step_text<'a>(f: &'a Fixture, ctx: &[u8]) -> Option<&'a str> {
    match failed_step(f, ctx) {
        0 => None,
        n => Some(
            f.skel
                .loader
                .steps
                .get(n as usize - 1)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: failed_step {n} out of {} steps",
                        f.stem,
                        f.skel.loader.steps.len()
                    )
                })
                .as_str(),
        ),
    }
}
