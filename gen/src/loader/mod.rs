//! Emission of the loader program and its data blob from a [`Plan`].
//!
//! Each step follows one recipe (after libbpf's gen_loader): fill a `bpf_attr` on the host,
//! put it in the blob, patch at run time only what is known only then (pointers into the
//! blob, fds, ctx overrides), call `bpf_sys_bpf`, keep the fd, and branch to the single
//! cleanup block on error. Blob layout: the `fd_array` comes first (one slot per map,
//! sized exactly), then the BTF fd slot, a zero key, BTF, and the per-step data.
//! Fds live in the blob's `fd_array` (maps) and in the ctx (programs), never on the stack,
//! so stack use does not grow with the object.
//!
//! A map whose ctx descriptor has the `REUSE` bit is not created: the prologue moves the fd
//! the ctx gives into its `fd_array` slot (the loader owns it from then on: the cleanup closes
//! it, success hands it back in `map_fd`), and the map's creation steps are skipped. A reused
//! data map is neither written nor frozen; `.values` and prog_array slots are still filled.

pub mod blob;
pub mod emit;

use std::collections::BTreeMap;

use crate::abi::{
    self, ctx, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, BPF_JEQ, BPF_JLE, BPF_JNE, BPF_JSGE, BPF_JSLE,
};
use crate::error::{Error, Result};
use crate::externs::ExternKind;
use crate::maps::{MapDef, MapOrigin};
use crate::plan::{Plan, Program};
use crate::reloc::SiteKind;
use crate::struct_ops::StructOps;
use blob::{Attr, Blob, BlobOff};
use emit::{reg::*, Builder, Label, Size};

/// The emitted loader.
#[derive(Clone, Debug)]
pub struct Loader {
    /// Loader program instructions (raw `struct bpf_insn` bytes).
    pub insns: Vec<u8>,
    /// The data blob.
    pub blob: Vec<u8>,
    /// Step names by instruction index, for the disassembly.
    pub notes: BTreeMap<usize, String>,
    /// (offset, length, what) of each blob piece.
    pub blob_map: Vec<(u32, usize, String)>,
    /// Size of the ctx block the loader expects.
    pub ctx_size: usize,
    /// Per map: blob offset of a data map's initial value (`None` for other maps).
    pub data_init: Vec<Option<u32>>,
    /// What each step that can fail does: the loader reports step n (`steps[n - 1]`) in the
    /// ctx status when it fails there.
    pub steps: Vec<String>,
}

struct Gen<'p> {
    plan: &'p Plan,
    b: Builder,
    blob: Blob,
    cleanup: Label,
    fd_array: BlobOff,
    btf_fd: BlobOff,
    zero_key: BlobOff,
    license: BlobOff,
    data_init: Vec<Option<u32>>,
    inner_fd: BlobOff,
    scratch: BlobOff,
    /// Blob offset of each program's instructions.
    prog_insns: Vec<BlobOff>,
    /// `fd_array` slot of each extern resolved through kernel BTF.
    ext_slot: Vec<Option<usize>>,
    /// What each numbered step does (step n is `steps[n - 1]`).
    steps: Vec<String>,
    /// The attr of the log marker's BTF_LOAD, once emitted.
    marker_attr: Option<BlobOff>,
}

/// `MAX_KFUNC_DESCS`: distinct kfuncs one program may call (and `MAX_KFUNC_BTFS` module BTFs).
pub const MAX_KFUNC_DESCS: usize = 256;

/// Emits the loader for `plan`.
pub fn emit(plan: &Plan) -> Result<Loader> {
    let n_maps = plan.maps.len();
    if n_maps > i16::MAX as usize {
        return Err(Error::Limit { what: format!("{n_maps} maps need {n_maps} fd_array slots, but instruction offsets address at most {}", i16::MAX) });
    }
    let n_targets = plan
        .programs
        .iter()
        .filter(|p| p.runtime_target.is_some())
        .count();
    let ctx_size = ctx::size_with_targets(n_maps, plan.programs.len(), n_targets);
    // The loader reaches ctx fields only as r6 + a 16-bit offset (the verifier refuses a
    // modified ctx pointer), and always writes the 4-byte status word; later fields are
    // checked as they are emitted.
    let status = ctx::status(n_maps, plan.programs.len());
    if status > i16::MAX as usize - 3 {
        return Err(Error::Limit {
            what: format!("the loader ctx for {n_maps} maps and {} programs puts its 4-byte status word at offset {status}, but the loader reaches ctx fields only as r6 + a 16-bit instruction offset (the verifier refuses a modified ctx pointer), so a 4-byte field must start at or below {} (over by {}); each map takes {} ctx bytes, each program {}", plan.programs.len(), i16::MAX - 3, status - (i16::MAX as usize - 3), ctx::MAP_DESC_SIZE, ctx::PROG_DESC_SIZE),
        });
    }
    // fd_array: map fds, then one slot per kernel-BTF extern for the BTF fd of the module it
    // lives in. Slot 0 always means vmlinux to a kfunc call, so extern slots start at 1.
    let ext_base = n_maps.max(1);
    let mut ext_slot = vec![None; plan.externs.list.len()];
    let mut n_ext_slots = 0;
    for (k, e) in plan.externs.list.iter().enumerate() {
        if matches!(e.kind, ExternKind::Kfunc | ExternKind::TypedKsym { .. }) {
            ext_slot[k] = Some(ext_base + n_ext_slots);
            n_ext_slots += 1;
        }
    }
    let fd_slots = fd_array_slots(n_maps, n_ext_slots)?;
    for p in &plan.programs {
        let mut kfuncs: Vec<usize> = p
            .linked
            .extern_sites
            .iter()
            .filter(|s| s.kind == SiteKind::KfuncCall)
            .map(|s| s.ext)
            .collect();
        kfuncs.sort_unstable();
        kfuncs.dedup();
        if kfuncs.len() > MAX_KFUNC_DESCS {
            return Err(Error::Limit {
                what: format!(
                    "program `{}` calls {} distinct kfuncs; the kernel accepts at most {MAX_KFUNC_DESCS} per program (MAX_KFUNC_DESCS / MAX_KFUNC_BTFS), over by {}",
                    p.def.func.name,
                    kfuncs.len(),
                    kfuncs.len() - MAX_KFUNC_DESCS
                ),
            });
        }
    }
    let mut blob = Blob::default();
    let fd_array = blob.reserve(
        4 * fd_slots,
        "fd_array: map fds, then BTF fds of kernel-symbol modules",
    );
    let btf_fd = blob.reserve(4, "BTF fd");
    let inner_fd = blob.reserve(4, "fd of the inner map template being used");
    let scratch = blob.reserve(4, "program fd being stored in a prog_array");
    let zero_key = blob.reserve(4, "key 0");
    let license = blob.push(&nul_terminated(&plan.license), "license");
    // Program code goes in before any step, so extern resolution can patch it in place.
    let prog_insns = plan
        .programs
        .iter()
        .map(|p| blob.push(&p.linked.insns, format!("insns of `{}`", p.def.func.name)))
        .collect();
    let mut b = Builder::for_plan(plan);
    let cleanup = b.label();
    let mut g = Gen {
        plan,
        b,
        blob,
        cleanup,
        fd_array,
        btf_fd,
        zero_key,
        license,
        data_init: vec![None; n_maps],
        inner_fd,
        scratch,
        prog_insns,
        ext_slot,
        steps: Vec::new(),
        marker_attr: None,
    };
    g.prologue();
    g.load_btf();
    for (i, map) in plan.maps.iter().enumerate() {
        let reused = g.reused_map(i, map);
        g.map_create(i, map);
        if map.data_kind().is_some() && !map.starts_zeroed() {
            g.map_init(i, map);
        }
        g.b.bind(reused);
    }
    for (i, map) in plan.maps.iter().enumerate() {
        for (slot, target) in &map.init {
            if let crate::maps::InitRef::Map(m) = target {
                g.init_map_slot(i, *slot, *m);
            }
        }
    }
    for k in 0..plan.externs.list.len() {
        g.resolve_extern(k);
    }
    for (j, prog) in plan.programs.iter().enumerate() {
        g.prog_load(j, prog);
    }
    for &(i, slot, j) in &plan.prog_array_init {
        g.init_prog_slot(i, slot, j);
    }
    g.close_extern_fds();
    g.epilogue();
    let Gen {
        b,
        blob,
        data_init,
        steps,
        ..
    } = g;
    let (insns, notes) = b.finish()?;
    let (blob, blob_map) = blob.into_parts();
    Ok(Loader {
        insns,
        blob,
        notes,
        blob_map,
        ctx_size,
        data_init,
        steps,
    })
}

/// `ENOENT`: what the lookup helpers return for a name the kernel does not have.
const ENOENT: i32 = 2;
/// `EBADF`
const EBADF: i32 = 9;
/// `EINVAL`
const EINVAL: i32 = 22;
/// `ENAMETOOLONG`
const ENAMETOOLONG: i32 = 36;
/// Longest attach target name set at load time, NUL included (`KSYM_NAME_LEN`).
const TARGET_NAME_MAX: usize = 512;

/// Size of the reserved `fd_array`: one slot per map, then one per kernel-BTF extern, which
/// start at index 1 at least (a kfunc call's `off` = 0 means vmlinux). A kfunc call's `off`
/// (s16) must reach every extern slot.
pub fn fd_array_slots(n_maps: usize, n_ext_slots: usize) -> Result<usize> {
    let slots = if n_ext_slots > 0 {
        n_maps.max(1) + n_ext_slots
    } else {
        n_maps.max(1)
    };
    let max = i16::MAX as usize + 1;
    if slots > max {
        return Err(Error::Limit {
            what: format!(
                "{n_maps} maps and {n_ext_slots} kernel-BTF externs need {slots} fd_array slots, but a kfunc call's 16-bit offset addresses at most {max} (over by {})",
                slots - max
            ),
        });
    }
    Ok(slots)
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

impl Gen<'_> {
    fn map_slot(&self, i: usize) -> BlobOff {
        self.fd_array.at(4 * i)
    }

    fn prologue(&mut self) {
        self.b
            .note("prologue: keep ctx in r6, clear the program fd slots of the ctx");
        self.b.mov_reg(CTX, R1);
        // A program slot preset to -1 (autoload off) stays -1: skipped, reported absent.
        for j in 0..self.plan.programs.len() {
            let off = ctx::prog_fd(self.plan.maps.len(), j);
            let skip = self.b.label();
            self.b.load(Size::W, R1, CTX, off);
            self.b.jump_if(false, BPF_JEQ, R1, ctx::PROG_SKIP, skip);
            self.b.store_imm(Size::W, CTX, off, 0);
            self.b.bind(skip);
        }
        self.zero_blob_fd_slots();
        self.take_reused_maps();
    }

    /// For each map: when its ctx descriptor says reuse (`set & REUSE`), its `map_fd` goes to
    /// the map's `fd_array` slot; otherwise `map_fd` is cleared. This runs before any step that
    /// can fail, so from here the loader owns every reused fd: the cleanup closes it with the
    /// maps it made, and success hands it back in `map_fd`.
    fn take_reused_maps(&mut self) {
        use ctx::{map as d, set};
        if self.plan.maps.is_empty() {
            return;
        }
        self.b.note(
            "maps to reuse (ctx set & REUSE): their fds go to fd_array, owned by the loader now; other map fd slots of the ctx are cleared",
        );
        for i in 0..self.plan.maps.len() {
            let (clear, next) = (self.b.label(), self.b.label());
            self.b.load(Size::W, R2, CTX, ctx::map_desc(i) + d::SET);
            self.b.and_imm(R2, set::REUSE as i32);
            self.b.jump_if(true, BPF_JEQ, R2, 0, clear);
            self.b.load(Size::W, R2, CTX, ctx::map_fd(i));
            self.b.blob_addr(R1, self.map_slot(i));
            self.b.store(Size::W, R1, 0, R2);
            self.b.goto_long(next);
            self.b.bind(clear);
            self.b.store_imm(Size::W, CTX, ctx::map_fd(i), 0);
            self.b.bind(next);
        }
    }

    /// A map the ctx gives to reuse is not created (nor, for a data map, written or frozen):
    /// its fd, already in `fd_array` and `map_fd` since the prologue, must be a descriptor
    /// number. Returns the label after the map's creation steps, where a reused map goes.
    fn reused_map(&mut self, i: usize, map: &MapDef) -> Label {
        use ctx::{map as d, set};
        let (create, reused) = (self.b.label(), self.b.label());
        self.b.note(format!(
            "map #{i} `{}`: reuse the fd the ctx gives (set & REUSE) instead of creating it",
            map.name
        ));
        self.b.load(Size::W, R2, CTX, ctx::map_desc(i) + d::SET);
        self.b.and_imm(R2, set::REUSE as i32);
        self.b.jump_if(true, BPF_JEQ, R2, 0, create);
        self.b.load(Size::W, R2, CTX, ctx::map_fd(i));
        self.b.jump_if(false, BPF_JSGE, R2, 1, reused);
        self.b.mov_imm(RET, -EBADF);
        self.fail(format!(
            "reuse map `{}`: the fd given is not a descriptor",
            map.name
        ));
        self.b.bind(create);
        reused
    }

    /// Zeroes every blob slot the cleanup closes (the `fd_array` of map and module BTF fds,
    /// the BTF fd, the inner map template fd): the blob comes from user space, and a slot that
    /// held a number there would make a failed load close a descriptor it never created.
    fn zero_blob_fd_slots(&mut self) {
        let (start, end) = (self.fd_array.0 as usize, self.inner_fd.0 as usize + 4);
        // Reserved one after the other at the start of the blob (with alignment padding).
        debug_assert!(
            self.fd_array.0 < self.btf_fd.0 && self.btf_fd.0 < self.inner_fd.0,
            "the fd slots are one area"
        );
        self.b
            .note("zero the blob's fd slots: the cleanup closes only what this run made");
        // Stores address at most i16::MAX bytes past r1: rebase every so often.
        const REACH: usize = 32_760;
        let mut base = start;
        while base < end {
            let stop = end.min(base + REACH);
            self.b.blob_addr(R1, BlobOff(base as u32));
            let mut off = base;
            while off < stop {
                let (size, len) = if stop - off >= 8 {
                    (Size::DW, 8)
                } else {
                    (Size::W, 4)
                };
                self.b.store_imm(size, R1, off - base, 0);
                off += len;
            }
            base = stop;
        }
    }

    /// Jumps to `skip` when program `j`'s ctx slot says it is not to be loaded.
    fn skip_if_off(&mut self, j: usize, skip: Label) {
        self.b
            .load(Size::W, R1, CTX, ctx::prog_fd(self.plan.maps.len(), j));
        self.b.jump_if(false, BPF_JEQ, R1, ctx::PROG_SKIP, skip);
    }

    /// `r7 = bpf_sys_bpf(cmd, &blob[attr], size)`
    fn sys_bpf(&mut self, cmd: i32, attr: BlobOff, size: usize) {
        self.b.mov_imm(R1, cmd);
        self.b.blob_addr(R2, attr);
        self.b.mov_imm(R3, size);
        self.b.call(abi::FUNC_SYS_BPF);
        self.b.mov_reg(RET, R0);
    }

    /// `if r7 < 0 goto cleanup`, as a short skip over a long jump.
    /// On failure the step's number goes to r8 for the ctx status; the success path runs
    /// only the one compare, so reporting costs nothing when nothing fails.
    fn check_err(&mut self, step: String) {
        let ok = self.b.label();
        self.b.jump_if(true, BPF_JSGE, RET, 0, ok);
        self.fail(step);
        self.b.bind(ok);
    }

    /// `r8 = number of step; goto cleanup` (r7 holds the errno).
    fn fail(&mut self, step: String) {
        self.steps.push(step);
        self.b.mov_imm(R8, self.steps.len());
        self.b.goto_long(self.cleanup);
    }

    /// With r1 = &attr: `attr.field = &blob[target]`.
    fn set_ptr(&mut self, field: usize, target: BlobOff) {
        self.b.blob_addr(R2, target);
        self.b.store(Size::DW, R1, field, R2);
    }

    /// With r1 = &attr: `attr.field = fd stored at blob[slot]`.
    fn set_fd(&mut self, field: usize, slot: BlobOff) {
        self.b.blob_addr(R2, slot);
        self.b.load(Size::W, R2, R2, 0);
        self.b.store(Size::W, R1, field, R2);
    }

    /// With r1 = &attr: copy the ctx log settings into the three log fields.
    fn set_log(&mut self, level: usize, size: usize, buf: usize) {
        self.b.load(Size::W, R2, CTX, ctx::LOG_LEVEL);
        self.b.store(Size::W, R1, level, R2);
        self.b.load(Size::W, R2, CTX, ctx::LOG_SIZE);
        self.b.store(Size::W, R1, size, R2);
        self.b.load(Size::DW, R2, CTX, ctx::LOG_BUF);
        self.b.store(Size::DW, R1, buf, R2);
    }

    /// `r0 = bpf_btf_find_by_name_kind(r1, r2, kind, 0)`: r1 and r2 (name and size with its
    /// NUL) are set by the caller. The result is `(btf_obj_fd << 32) | btf_id` or -errno.
    fn call_btf_find(&mut self, kind: u32) {
        self.b.mov_imm(R3, kind);
        self.b.mov_imm(R4, 0);
        self.b.call(abi::FUNC_BTF_FIND_BY_NAME_KIND);
    }

    /// With r0 = a found `(btf_obj_fd << 32) | btf_id`: the program attr's `attach_btf_id` and
    /// `attach_btf_obj_fd`.
    fn store_attach_target(&mut self, attr: BlobOff) {
        use abi::prog_load as f;
        self.b.blob_addr(R1, attr);
        self.b.store(Size::W, R1, f::ATTACH_BTF_ID, R0);
        self.b.rsh_imm(R0, 32);
        self.b.store(Size::W, R1, f::ATTACH_BTF_OBJ_FD, R0);
    }

    /// When the ctx asks for a log: a `BTF_LOAD` of four zero bytes with the log fields, which
    /// the kernel refuses writing a short known message (`LOG_MARKER`) into the log buffer.
    /// The program load that follows writes its own log over it; one refused before
    /// verification (EPERM for a locked-down type) writes none, and the marker left in the
    /// buffer tells the runtime so, instead of it showing an earlier step's log as this one's.
    fn log_marker(&mut self) {
        use abi::btf_load as f;
        let attr = match self.marker_attr {
            Some(a) => a,
            None => {
                let mut attr = Attr::new(f::SIZE);
                attr.u32(f::BTF_SIZE, 4);
                let a = self.blob.push(&attr.0, "BTF_LOAD attr of the log marker");
                self.marker_attr = Some(a);
                a
            }
        };
        let (none, refused) = (self.b.label(), self.b.label());
        self.b
            .note("log marker: a refused BTF_LOAD writes a known line into the log buffer");
        self.b.load(Size::W, R2, CTX, ctx::LOG_LEVEL);
        self.b.jump_if(false, BPF_JEQ, R2, 0, none);
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::BTF, self.zero_key);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_BTF_LOAD, attr, f::SIZE);
        // Four bytes are never a valid BTF; should a kernel take them, close what it made.
        self.b.jump_if(true, BPF_JSLE, RET, 0, refused);
        self.b.mov_reg(R1, RET);
        self.b.call(abi::FUNC_SYS_CLOSE);
        self.b.bind(refused);
        self.b.bind(none);
    }

    /// Closes the fd in `r1` when it is > 0 (32-bit signed compare).
    fn close_r1(&mut self) {
        let skip = self.b.label();
        self.b.jump_if(false, BPF_JSLE, R1, 0, skip);
        self.b.call(abi::FUNC_SYS_CLOSE);
        self.b.bind(skip);
    }

    fn close_blob_fd(&mut self, slot: BlobOff) {
        self.b.blob_addr(R1, slot);
        self.b.load(Size::W, R1, R1, 0);
        self.close_r1();
    }

    fn load_btf(&mut self) {
        use abi::btf_load as f;
        let bytes = self.plan.btf.to_bytes();
        let data = self.blob.push(&bytes, "BTF");
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::BTF_SIZE, bytes.len() as u32);
        let attr = self.blob.push(&attr.0, "BTF_LOAD attr");
        self.b.note(format!("load BTF ({} bytes)", bytes.len()));
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::BTF, data);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_BTF_LOAD, attr, f::SIZE);
        self.b.blob_addr(R1, self.btf_fd);
        self.b.store(Size::W, R1, 0, RET);
        self.check_err("load BTF".to_string());
    }

    /// The `BPF_MAP_CREATE` attr of `map`, in the blob.
    fn map_create_attr(&mut self, map: &MapDef) -> BlobOff {
        use abi::map_create as f;
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::MAP_TYPE, map.map_type)
            .u32(f::KEY_SIZE, map.key_size)
            .u32(f::VALUE_SIZE, map.value_size)
            .u32(f::MAX_ENTRIES, map.max_entries)
            .u32(f::MAP_FLAGS, map.map_flags)
            .u32(f::NUMA_NODE, map.numa_node)
            .name(f::MAP_NAME, &map.kernel_name)
            .u32(f::BTF_KEY_TYPE_ID, map.btf_key_type_id)
            .u32(f::BTF_VALUE_TYPE_ID, map.btf_value_type_id)
            .u64(f::MAP_EXTRA, map.map_extra);
        self.blob
            .push(&attr.0, format!("MAP_CREATE attr of `{}`", map.name))
    }

    /// Creates the inner map template of map-in-map `outer` into the `inner_fd` slot.
    fn inner_template(&mut self, outer: &MapDef, inner: &MapDef) {
        use abi::map_create as f;
        let attr = self.map_create_attr(inner);
        self.b
            .note(format!("inner map template of `{}`", outer.name));
        self.b.blob_addr(R1, attr);
        if inner.btf_key_type_id != 0 || inner.btf_value_type_id != 0 {
            self.set_fd(f::BTF_FD, self.btf_fd);
        }
        self.size_perf_event_array(inner);
        self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
        self.b.blob_addr(R1, self.inner_fd);
        self.b.store(Size::W, R1, 0, RET);
        self.check_err(format!("create the inner map template of `{}`", outer.name));
    }

    /// The attach target of program `j`, named by the user before load: its BTF name (with
    /// `prefix`, e.g. `btf_trace_`, already prepended by the runtime) comes through the ctx,
    /// is copied into a blob buffer and looked up like a compile-time target.
    fn runtime_target(&mut self, j: usize, attr: BlobOff, prefix: &str, kind: u32) {
        let name = self.plan.programs[j].def.func.name.clone();
        let k = self.plan.programs[..j]
            .iter()
            .filter(|p| p.runtime_target.is_some())
            .count();
        let entry = ctx::target(self.plan.maps.len(), self.plan.programs.len(), k);
        if kind == crate::plan::FREPLACE_TARGET {
            self.freplace_target(&name, attr, entry);
            return;
        }
        let buf = self.blob.reserve(
            TARGET_NAME_MAX,
            format!("attach target of `{name}`, set at load time"),
        );
        self.b.note(format!("attach target of `{name}`: the name the user set (`{prefix}...`, kind {kind}) from ctx entry {k}"));
        let (set, fits) = (self.b.label(), self.b.label());
        self.b.load(Size::DW, R3, CTX, entry);
        self.b.jump_if(true, BPF_JNE, R3, 0, set);
        self.b.mov_imm(RET, -EINVAL);
        self.fail(format!(
            "program `{name}` has no attach target: set one with `set_attach_target` before load"
        ));
        self.b.bind(set);
        // r9 keeps the size (NUL included), bounded to 1..=TARGET_NAME_MAX for the verifier.
        let bad = self.b.label();
        self.b.load(Size::W, R9, CTX, entry + 8);
        self.b.jump_if(false, BPF_JEQ, R9, 0, bad);
        self.b.jump_if(false, BPF_JLE, R9, TARGET_NAME_MAX, fits);
        self.b.bind(bad);
        self.b.mov_imm(RET, -ENAMETOOLONG);
        self.fail(format!(
            "the attach target set for program `{name}` is empty or longer than {} bytes",
            TARGET_NAME_MAX - 1
        ));
        self.b.bind(fits);
        self.b.blob_addr(R1, buf);
        self.b.mov_reg(R2, R9);
        self.b.call(abi::FUNC_COPY_FROM_USER);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "copy the attach target of program `{name}` from user memory"
        ));
        self.b.blob_addr(R1, buf);
        self.b.mov_reg(R2, R9);
        self.call_btf_find(kind);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "find the attach target set for program `{name}` in kernel BTF"
        ));
        self.store_attach_target(attr);
    }

    /// A `freplace` program's target, given before load: the program to extend (its fd goes to
    /// `attach_prog_fd`; it stays the user's, the loader does not close it) and the BTF id of
    /// the function it replaces.
    fn freplace_target(&mut self, name: &str, attr: BlobOff, entry: usize) {
        use abi::prog_load as f;
        self.b.note(format!(
            "freplace `{name}`: target program fd and function BTF id from the ctx"
        ));
        let set = self.b.label();
        self.b.load(Size::W, R2, CTX, entry + ctx::TARGET_PROG_FD);
        self.b.jump_if(false, BPF_JSGE, R2, 1, set);
        self.b.mov_imm(RET, -EINVAL);
        self.fail(format!("program `{name}` has no target program: set one with `set_attach_target_prog` before load"));
        self.b.bind(set);
        self.b.blob_addr(R1, attr);
        self.b.store(Size::W, R1, f::ATTACH_BTF_OBJ_FD, R2);
        self.b.load(Size::W, R2, CTX, entry + ctx::TARGET_BTF_ID);
        self.b.store(Size::W, R1, f::ATTACH_BTF_ID, R2);
    }

    /// Finds the kernel's `bpf_struct_ops_<name>` value type for struct_ops map attr `attr`.
    fn struct_ops_value_type(&mut self, attr: BlobOff, s: &StructOps) {
        let vtype = format!("bpf_struct_ops_{}", s.struct_name);
        let name = self.blob.push(
            &nul_terminated(&vtype),
            format!("struct_ops value type of `{}`", s.name),
        );
        self.b.note(format!(
            "struct_ops `{}`: find `{vtype}` in kernel BTF",
            s.name
        ));
        self.b.blob_addr(R1, name);
        self.b.mov_imm(R2, vtype.len() + 1);
        self.call_btf_find(crate::btf::kind::STRUCT);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "find the kernel's struct_ops type `{vtype}` of `{}` in kernel BTF",
            s.name
        ));
        self.b.blob_addr(R1, attr);
        self.b
            .store(Size::W, R1, abi::map_create::BTF_VMLINUX_VALUE_TYPE_ID, R0);
        // A module's type would need its BTF fd in the attr (beyond what the loader passes):
        // vmlinux types only; a module fd that came back is closed.
        self.b.rsh_imm(R0, 32);
        self.b.mov_reg(R1, R0);
        self.close_r1();
    }

    /// With r1 = &attr: a PERF_EVENT_ARRAY declared without max_entries gets one slot per
    /// possible CPU of the running machine (given by the runtime in the ctx), as libbpf does.
    fn size_perf_event_array(&mut self, map: &MapDef) {
        if map.map_type != crate::maps::PERF_EVENT_ARRAY || map.max_entries != 0 {
            return;
        }
        let n = self.plan.programs.len();
        self.b.load(
            Size::W,
            R2,
            CTX,
            ctx::possible_cpus(self.plan.maps.len(), n),
        );
        self.b.store(Size::W, R1, abi::map_create::MAX_ENTRIES, R2);
    }

    /// `outer[slot] = map m` (static `.values` of a map-in-map).
    fn init_map_slot(&mut self, i: usize, slot: u32, m: usize) {
        let (outer, inner) = (&self.plan.maps[i].name, &self.plan.maps[m].name);
        self.b.note(format!("`{outer}`[{slot}] = map `{inner}`"));
        let value = self.map_slot(m);
        self.map_update(
            i,
            slot,
            value,
            format!("store map `{inner}` in `{outer}`[{slot}]"),
        );
    }

    /// `prog_array[slot] = program j`, after the programs are loaded.
    fn init_prog_slot(&mut self, i: usize, slot: u32, j: usize) {
        let (map, prog) = (
            &self.plan.maps[i].name,
            &self.plan.programs[j].def.func.name,
        );
        self.b.note(format!(
            "`{map}`[{slot}] = program `{prog}` (unless not loaded)"
        ));
        let skip = self.b.label();
        self.skip_if_off(j, skip);
        self.b
            .load(Size::W, R2, CTX, ctx::prog_fd(self.plan.maps.len(), j));
        self.b.blob_addr(R1, self.scratch);
        self.b.store(Size::W, R1, 0, R2);
        let value = self.scratch;
        self.map_update(
            i,
            slot,
            value,
            format!("store program `{prog}` in `{map}`[{slot}]"),
        );
        self.b.bind(skip);
    }

    /// `BPF_MAP_UPDATE_ELEM(map i, key = slot, value = blob[value])`.
    fn map_update(&mut self, i: usize, slot: u32, value: BlobOff, what: String) {
        use abi::map_elem as f;
        let key = self.blob.push(&slot.to_le_bytes(), format!("key {slot}"));
        let attr = self.blob.push(
            &Attr::new(f::SIZE).0,
            format!(
                "MAP_UPDATE_ELEM attr of `{}`[{slot}]",
                self.plan.maps[i].name
            ),
        );
        self.b.blob_addr(R1, attr);
        self.set_fd(f::MAP_FD, self.map_slot(i));
        self.set_ptr(f::KEY, key);
        self.set_ptr(f::VALUE, value);
        self.sys_bpf(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE);
        self.check_err(what);
    }

    fn map_create(&mut self, i: usize, map: &MapDef) {
        use abi::map_create as f;
        if let Some(inner) = &map.inner {
            self.inner_template(map, inner);
        }
        let attr = self.map_create_attr(map);
        if let MapOrigin::StructOps(s) = &map.origin {
            self.struct_ops_value_type(attr, s);
        }
        self.b.note(format!("map_create #{i} `{}`", map.name));
        self.b.blob_addr(R1, attr);
        if map.btf_key_type_id != 0
            || map.btf_value_type_id != 0
            || matches!(map.origin, MapOrigin::StructOps(_))
        {
            self.set_fd(f::BTF_FD, self.btf_fd);
        }
        self.size_perf_event_array(map);
        if map.data_kind().is_none() {
            // ctx max_entries overrides the object's value when non-zero.
            let keep = self.b.label();
            self.b.load(Size::W, R2, CTX, ctx::map_max_entries(i));
            self.b.jump_if(false, BPF_JEQ, R2, 0, keep);
            self.b.store(Size::W, R1, f::MAX_ENTRIES, R2);
            self.b.bind(keep);
            self.map_settings(i);
        }
        if map.inner.is_some() {
            self.set_fd(f::INNER_MAP_FD, self.inner_fd);
        }
        if crate::maps::is_map_in_map(map.map_type) {
            self.user_inner_map(i, map);
        }
        self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
        if map.btf_key_type_id != 0 || map.btf_value_type_id != 0 {
            // A kernel that refuses the map's BTF types gets the map without them, as libbpf
            // does; on success this costs one compare.
            let created = self.b.label();
            self.b.jump_if(true, BPF_JSGE, RET, 0, created);
            self.b.note(format!(
                "map_create #{i} `{}` refused with BTF types: retry without",
                map.name
            ));
            self.b.blob_addr(R1, attr);
            for field in [f::BTF_FD, f::BTF_KEY_TYPE_ID, f::BTF_VALUE_TYPE_ID] {
                self.b.store_imm(Size::W, R1, field, 0);
            }
            self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
            self.b.bind(created);
        }
        self.b.blob_addr(R1, self.map_slot(i));
        self.b.store(Size::W, R1, 0, RET);
        self.b.store(Size::W, CTX, ctx::map_fd(i), RET);
        if map.inner.is_some() {
            // The outer map keeps what it needs of the template: close it either way.
            self.close_blob_fd(self.inner_fd);
            self.b.blob_addr(R1, self.inner_fd);
            self.b.store_imm(Size::W, R1, 0, 0);
        }
        self.check_err(format!("create map `{}`", map.name));
    }

    /// With r1 = &attr: the settings the user changed before load, each taken from map `i`'s
    /// ctx descriptor when its `set` bit is on (a changed key or value size drops the BTF
    /// key/value types, which describe the object's sizes). Costs two instructions when
    /// nothing is set.
    fn map_settings(&mut self, i: usize) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let none = self.b.label();
        self.b.load(Size::W, R3, CTX, desc + d::SET);
        self.b.jump_if(false, BPF_JEQ, R3, 0, none);
        let fields = [
            (set::KEY_SIZE, d::KEY_SIZE, f::KEY_SIZE, Size::W),
            (set::VALUE_SIZE, d::VALUE_SIZE, f::VALUE_SIZE, Size::W),
            (set::MAP_FLAGS, d::MAP_FLAGS, f::MAP_FLAGS, Size::W),
            (set::NUMA_NODE, d::NUMA_NODE, f::NUMA_NODE, Size::W),
            (set::MAP_EXTRA, d::MAP_EXTRA, f::MAP_EXTRA, Size::DW),
        ];
        for (bit, from, to, size) in fields {
            let skip = self.b.label();
            self.b.mov_reg(R2, R3);
            self.b.and_imm(R2, bit as i32);
            self.b.jump_if(true, BPF_JEQ, R2, 0, skip);
            self.b.load(size, R2, CTX, desc + from);
            self.b.store(size, R1, to, R2);
            if bit == set::KEY_SIZE || bit == set::VALUE_SIZE {
                self.b.store_imm(Size::W, R1, f::BTF_KEY_TYPE_ID, 0);
                self.b.store_imm(Size::W, R1, f::BTF_VALUE_TYPE_ID, 0);
            }
            self.b.bind(skip);
        }
        self.b.bind(none);
    }

    /// With r1 = &attr of map-in-map `i`: the inner map the user gave before load
    /// (`set_inner_map`) stands in for the object's template; without a template it is
    /// required. The fd stays the user's: the loader never closes it.
    fn user_inner_map(&mut self, i: usize, map: &MapDef) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let (given, done) = (self.b.label(), self.b.label());
        self.b.load(Size::W, R2, CTX, desc + d::SET);
        self.b.and_imm(R2, set::INNER_MAP as i32);
        self.b.jump_if(true, BPF_JNE, R2, 0, given);
        if map.inner.is_some() {
            self.b.goto_long(done);
        } else {
            self.b.mov_imm(RET, -EINVAL);
            self.fail(format!(
                "map `{}` has no inner map definition: give one with `set_inner_map` before load",
                map.name
            ));
        }
        self.b.bind(given);
        self.b.load(Size::W, R2, CTX, desc + d::INNER_MAP_FD);
        self.b.store(Size::W, R1, f::INNER_MAP_FD, R2);
        self.b.bind(done);
    }

    /// Writes a data map's initial value (the object's bytes, or the user's copy when the
    /// ctx gives one) and freezes read-only sections.
    fn map_init(&mut self, i: usize, map: &MapDef) {
        let crate::maps::MapOrigin::Data { kind, init, .. } = &map.origin else {
            return;
        };
        let value = self
            .blob
            .push(init, format!("initial value of `{}`", map.name));
        self.data_init[i] = Some(value.0);
        {
            use abi::map_elem as f;
            let attr = self.blob.push(
                &Attr::new(f::SIZE).0,
                format!("MAP_UPDATE_ELEM attr of `{}`", map.name),
            );
            self.b.note(format!(
                "initial value of `{}`: the user's copy when ctx gives one",
                map.name
            ));
            let keep = self.b.label();
            self.b.load(Size::DW, R3, CTX, ctx::map_initial_value(i));
            self.b.jump_if(true, BPF_JEQ, R3, 0, keep);
            self.b.blob_addr(R1, value);
            self.b.mov_imm(R2, map.value_size);
            self.b.call(abi::FUNC_COPY_FROM_USER);
            self.b.mov_reg(RET, R0);
            self.check_err(format!(
                "copy the initial value of `{}` from user memory",
                map.name
            ));
            self.b.bind(keep);
            self.b.note(format!("map_update_elem `{}`[0]", map.name));
            self.b.blob_addr(R1, attr);
            self.set_fd(f::MAP_FD, self.map_slot(i));
            self.set_ptr(f::KEY, self.zero_key);
            self.set_ptr(f::VALUE, value);
            self.sys_bpf(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE);
            self.check_err(format!("write the initial value of `{}`", map.name));
        }
        if kind.is_readonly() {
            use abi::map_freeze as f;
            let attr = self.blob.push(
                &Attr::new(8).0,
                format!("MAP_FREEZE attr of `{}`", map.name),
            );
            self.b.note(format!("map_freeze `{}`", map.name));
            self.b.blob_addr(R1, attr);
            self.set_fd(f::MAP_FD, self.map_slot(i));
            self.sys_bpf(abi::BPF_MAP_FREEZE, attr, f::SIZE);
            self.check_err(format!("freeze `{}`", map.name));
        }
    }

    fn prog_load(&mut self, j: usize, prog: &Program) {
        use abi::prog_load as f;
        let name = &prog.def.func.name;
        let linked = &prog.linked;
        let insns = self.prog_insns[j];
        let mut flags = 0;
        if prog.def.def.sleepable {
            flags |= BPF_F_SLEEPABLE;
        }
        if prog.def.def.xdp_frags {
            flags |= BPF_F_XDP_HAS_FRAGS;
        }
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::PROG_TYPE, prog.def.def.prog_type)
            .u32(f::INSN_CNT, (linked.insns.len() / 8) as u32)
            .u32(f::KERN_VERSION, self.plan.kern_version)
            .u32(f::PROG_FLAGS, flags)
            .name(f::PROG_NAME, name)
            .u32(f::EXPECTED_ATTACH_TYPE, prog.expected_attach_type)
            .u32(f::FUNC_INFO_REC_SIZE, linked.func_info.rec_size)
            .u32(f::FUNC_INFO_CNT, linked.func_info.count())
            .u32(f::LINE_INFO_REC_SIZE, linked.line_info.rec_size)
            .u32(f::LINE_INFO_CNT, linked.line_info.count())
            .u32(f::CORE_RELO_CNT, linked.core_relos.count())
            .u32(
                f::CORE_RELO_REC_SIZE,
                if linked.core_relos.count() > 0 {
                    linked.core_relos.rec_size
                } else {
                    0
                },
            );
        let records = [
            (f::FUNC_INFO, &linked.func_info, "func_info"),
            (f::LINE_INFO, &linked.line_info, "line_info"),
            (f::CORE_RELOS, &linked.core_relos, "CO-RE relocations"),
        ]
        .map(|(field, recs, what)| {
            (recs.count() > 0).then(|| {
                (
                    field,
                    self.blob.push(&recs.bytes, format!("{what} of `{name}`")),
                )
            })
        });
        let target = prog.attach_target.as_ref().map(|(t, kind)| {
            (
                self.blob
                    .push(&nul_terminated(t), format!("attach target of `{name}`")),
                t.len() + 1,
                *kind,
            )
        });
        let attr = self
            .blob
            .push(&attr.0, format!("PROG_LOAD attr of `{name}`"));

        let skip = self.b.label();
        self.b.note(format!(
            "program `{name}`: skipped when its ctx slot is -1 (autoload off)"
        ));
        self.skip_if_off(j, skip);
        if let Some((str_off, len, kind)) = target {
            let (t, _) = prog.attach_target.as_ref().expect("target exists");
            self.b.note(format!(
                "attach target of `{name}`: btf_find_by_name_kind(\"{t}\", kind {kind})"
            ));
            self.b.blob_addr(R1, str_off);
            self.b.mov_imm(R2, len);
            self.call_btf_find(kind);
            self.b.mov_reg(RET, R0);
            self.check_err(format!(
                "find attach target `{t}` of program `{name}` in kernel BTF"
            ));
            self.store_attach_target(attr);
        }
        if let Some((prefix, kind)) = &prog.runtime_target {
            self.runtime_target(j, attr, prefix, *kind);
        }
        self.log_marker();
        self.b.note(format!(
            "prog_load #{j} `{name}` ({} insns)",
            linked.insns.len() / 8
        ));
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::INSNS, insns);
        self.set_ptr(f::LICENSE, self.license);
        self.set_ptr(f::FD_ARRAY, self.fd_array);
        for (field, off) in records.into_iter().flatten() {
            self.set_ptr(field, off);
        }
        self.set_fd(f::PROG_BTF_FD, self.btf_fd);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_PROG_LOAD, attr, f::SIZE);
        self.b
            .store(Size::W, CTX, ctx::prog_fd(self.plan.maps.len(), j), RET);
        let freplace = prog
            .runtime_target
            .as_ref()
            .is_some_and(|t| t.1 == crate::plan::FREPLACE_TARGET);
        if target.is_some() || (prog.runtime_target.is_some() && !freplace) {
            // A module's BTF fd came with the target: the kernel holds its own reference now.
            self.b.blob_addr(R1, attr);
            self.b.load(Size::W, R1, R1, f::ATTACH_BTF_OBJ_FD);
            self.close_r1();
        }
        self.check_err(format!("load program `{name}`{}", self.plan.license_hint()));
        self.b.bind(skip);
    }

    /// Resolves extern `k` in the running kernel and patches every instruction that uses it.
    /// A weak extern that is absent leaves the instructions as emitted: a kfunc call with
    /// imm = 0 and off = 0, a load of the constant 0.
    fn resolve_extern(&mut self, k: usize) {
        let ext = &self.plan.externs.list[k];
        let btf_kind = match ext.kind {
            ExternKind::Kfunc => crate::btf::kind::FUNC,
            ExternKind::TypedKsym { btf_kind } => btf_kind,
            ExternKind::TypelessKsym => 0,
            ExternKind::Kconfig { .. } => return,
        };
        let sites: Vec<(BlobOff, SiteKind)> = (self.plan.programs.iter().enumerate())
            .flat_map(|(j, p)| {
                p.linked
                    .extern_sites
                    .iter()
                    .filter(|s| s.ext == k)
                    .map(move |s| (j, s))
            })
            .map(|(j, s)| (self.prog_insns[j].at(8 * s.insn), s.kind))
            .collect();
        let name = self.blob.push(
            &nul_terminated(&ext.name),
            format!("name of extern `{}`", ext.name),
        );
        let (found, done) = (self.b.label(), self.b.label());
        if btf_kind == 0 {
            let addr = self.blob.reserve(8, format!("address of `{}`", ext.name));
            self.b.note(format!(
                "ksym `{}`{}: address from kallsyms_lookup_name",
                ext.name,
                if ext.weak { " (weak)" } else { "" }
            ));
            self.b.blob_addr(R1, name);
            self.b.mov_imm(R2, ext.name.len() + 1);
            self.b.mov_imm(R3, 0);
            self.b.blob_addr(R4, addr);
            self.b.call(abi::FUNC_KALLSYMS_LOOKUP_NAME);
            self.absent_or_fail(
                ext.weak,
                found,
                done,
                format!("find kernel symbol `{}` in kallsyms", ext.name),
            );
            self.b.bind(found);
            self.b.blob_addr(R1, addr);
            self.b.load(Size::DW, R8, R1, 0);
            self.b.mov_reg(R9, R8);
            self.b.rsh_imm(R9, 32);
            for (site, _) in sites {
                self.b.blob_addr(R1, site);
                self.b.store(Size::W, R1, 4, R8);
                self.b.store(Size::W, R1, 12, R9);
            }
            self.b.bind(done);
            return;
        }
        let slot = self.ext_slot[k].expect("kernel-BTF externs have a slot");
        self.b.note(format!(
            "{} `{}`{}: btf_find_by_name_kind(kind {btf_kind}), module BTF fd into fd_array[{slot}]",
            if btf_kind == crate::btf::kind::FUNC { "kernel function" } else { "ksym" },
            ext.name,
            if ext.weak { " (weak)" } else { "" }
        ));
        self.b.blob_addr(R1, name);
        self.b.mov_imm(R2, ext.name.len() + 1);
        self.call_btf_find(btf_kind);
        let what = if btf_kind == crate::btf::kind::FUNC {
            "kernel function"
        } else {
            "kernel variable"
        };
        self.absent_or_fail(
            ext.weak,
            found,
            done,
            format!("find {what} `{}` in kernel BTF", ext.name),
        );
        self.b.bind(found);
        // r8 = BTF id, r9 = BTF object fd (0: vmlinux), r0 = the call's off.
        self.b.mov_reg(R8, R0);
        self.b.mov_reg(R9, R0);
        self.b.rsh_imm(R9, 32);
        self.b.blob_addr(R1, self.fd_array.at(4 * slot));
        self.b.store(Size::W, R1, 0, R9);
        let vmlinux = self.b.label();
        self.b.mov_imm(R0, 0);
        self.b.jump_if(false, BPF_JEQ, R9, 0, vmlinux);
        self.b.mov_imm(R0, slot);
        self.b.bind(vmlinux);
        for (site, kind) in sites {
            self.b.blob_addr(R1, site);
            self.b.store(Size::W, R1, 4, R8);
            match kind {
                SiteKind::KfuncCall => self.b.store(Size::H, R1, 2, R0),
                _ => {
                    self.b.store(Size::W, R1, 12, R9);
                    // src_reg = BPF_PSEUDO_BTF_ID, keeping dst_reg.
                    let dst = self.plan_insn_dst(site);
                    self.b.store_imm(
                        Size::B,
                        R1,
                        1,
                        i32::from((abi::BPF_PSEUDO_BTF_ID << 4) | dst),
                    );
                }
            }
        }
        self.b.bind(done);
    }

    /// After a lookup (result in r0): a found symbol continues at `found`; an absent weak one
    /// skips to `done`; an absent strong one fails the load with the lookup's errno.
    fn absent_or_fail(&mut self, weak: bool, found: Label, done: Label, what: String) {
        self.b.jump_if(true, BPF_JSGE, R0, 0, found);
        if weak {
            // Only "not found" means absent; any other error is a real failure.
            self.b.jump_if(true, BPF_JEQ, R0, -ENOENT, done);
        }
        self.b.mov_reg(RET, R0);
        self.fail(what);
    }

    /// The dst_reg of the instruction at blob offset `site` (from the compile-time copy).
    fn plan_insn_dst(&self, site: BlobOff) -> u8 {
        for (j, off) in self.prog_insns.iter().enumerate() {
            let code = &self.plan.programs[j].linked.insns;
            if site.0 >= off.0 && ((site.0 - off.0) as usize) < code.len() {
                return code[(site.0 - off.0) as usize + 1] & 0x0f;
            }
        }
        0
    }

    /// After the last program load: module BTF fds are held by the programs now.
    fn close_extern_fds(&mut self) {
        let slots: Vec<usize> = self.ext_slot.iter().flatten().copied().collect();
        if slots.is_empty() {
            return;
        }
        self.b
            .note("close the module BTF fds of kernel symbols (programs hold them now)");
        for slot in slots {
            let off = self.fd_array.at(4 * slot);
            self.close_blob_fd(off);
            self.b.blob_addr(R1, off);
            self.b.store_imm(Size::W, R1, 0, 0);
        }
    }

    fn epilogue(&mut self) {
        self.b
            .note("success: close the BTF fd (maps and programs hold it), return 0");
        self.close_blob_fd(self.btf_fd);
        self.b.mov_imm(R0, 0);
        self.b.exit();

        self.b
            .note("cleanup: close every fd made so far, return the error");
        self.b.bind(self.cleanup);
        let n_maps = self.plan.maps.len();
        self.b.store(
            Size::W,
            CTX,
            ctx::status(n_maps, self.plan.programs.len()),
            R8,
        );
        for j in 0..self.plan.programs.len() {
            self.b.load(Size::W, R1, CTX, ctx::prog_fd(n_maps, j));
            self.close_r1();
        }
        for i in 0..n_maps {
            self.close_blob_fd(self.map_slot(i));
        }
        for slot in self.ext_slot.clone().into_iter().flatten() {
            self.close_blob_fd(self.fd_array.at(4 * slot));
        }
        if self.plan.maps.iter().any(|m| m.inner.is_some()) {
            self.close_blob_fd(self.inner_fd);
        }
        self.close_blob_fd(self.btf_fd);
        self.b.mov_reg(R0, RET);
        self.b.exit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_array_is_sized_exactly_and_bounded_by_the_kfunc_offset() {
        assert_eq!(fd_array_slots(0, 0).unwrap(), 1);
        assert_eq!(fd_array_slots(3, 0).unwrap(), 3);
        // With no maps, slot 0 stays unused: off = 0 means vmlinux.
        assert_eq!(fd_array_slots(0, 2).unwrap(), 3);
        assert_eq!(fd_array_slots(5, 2).unwrap(), 7);
        assert_eq!(fd_array_slots(32_000, 768).unwrap(), 32_768);
        let err = fd_array_slots(32_000, 769).unwrap_err().to_string();
        assert!(
            err.contains("32769 fd_array slots") && err.contains("over by 1"),
            "{err}"
        );
    }
}
