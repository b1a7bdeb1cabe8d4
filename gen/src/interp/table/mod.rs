//! Turning a plan into the op table and the blob the interpreter walks. The steps are the
//! straight-line loader's (same attrs, same order of `bpf(2)` commands, same step names),
//! written as ops instead of instructions.
//!
//! Blob layout: the `fd_array` first (the design rule), the fd slots, the state, the ctx
//! area (the loader's copy of the ctx, where the fds it makes are written back), license,
//! code, BTF and attrs, the op table, then the data sections' initial values, smallest
//! first, so that every READ destination `dst` satisfies `dst + largest <= blob size` (the
//! one bound the interpreter checks), and a tail pad so every attr may be read at the
//! largest attr size.

mod externs;
mod maps;
mod targets;

use super::ops::{cond, flag, kind, Op};
use crate::abi::{self, ctx};
use crate::loader::blob::{Attr, Blob, BlobOff};
use crate::loader::{
    log_marker_attr, nul_terminated, push_map_create, push_prog_load, ProgLoadPieces,
};
use crate::maps::{MapDef, MapOrigin};
use crate::plan::{Plan, Program};
use crate::target::AttachTarget;

/// `EBADF`, as an op operand.
const EBADF: u32 = lskel_abi::errno::EBADF as u32;
/// `EINVAL`, as an op operand.
const EINVAL: u32 = lskel_abi::errno::EINVAL as u32;
/// `ENAMETOOLONG`, as an op operand.
const ENAMETOOLONG: u32 = lskel_abi::errno::ENAMETOOLONG as u32;
/// Longest attach target name set at load time, NUL included (`KSYM_NAME_LEN`).
const TARGET_NAME_MAX: usize = 512;

/// A place in the op table a jump goes to.
#[derive(Clone, Copy, Debug)]
struct Label(usize);

/// A data section's initial value, placed at the end of the blob when the table is done.
#[derive(Clone, Copy, Debug)]
struct Val(usize);

/// Which operand of an op holds a value's offset once it is placed.
#[derive(Clone, Copy, Debug)]
enum Operand {
    B,
}

/// The table under construction.
pub(super) struct Table<'p> {
    plan: &'p Plan,
    pub blob: Blob,
    ops: Vec<Op>,
    labels: Vec<Option<u32>>,
    jumps: Vec<(usize, Label)>,
    values: Vec<(Vec<u8>, String, usize)>,
    value_refs: Vec<(usize, Operand, Val)>,
    pub steps: Vec<String>,
    fd_array: BlobOff,
    btf_fd: BlobOff,
    inner_fd: BlobOff,
    scratch: BlobOff,
    zero_key: BlobOff,
    license: BlobOff,
    pub state: BlobOff,
    pub ctx_area: BlobOff,
    prog_insns: Vec<BlobOff>,
    marker_attr: Option<BlobOff>,
    /// `attach_btf_obj_fd` fields of program attrs a FIND fills: the cleanup closes them.
    target_fds: Vec<u32>,
    /// The scratch word kernel symbol lookups write to.
    found: Option<BlobOff>,
    /// `fd_array` slots of kernel-BTF externs (their module BTF fds).
    ext_slots: Vec<usize>,
    /// Per map: the value an initial value goes to.
    data_val: Vec<Option<Val>>,
    /// Whether the loader takes the user's map settings from the ctx (sizes, flags, reused
    /// maps, inner maps, initial values): always for an unsigned loader, for a signed one
    /// only with `ctx_overrides`. Without, those ctx fields are never read.
    overrides: bool,
    /// Each map's `fd_array` slot, and how many every program is bound to.
    layout: crate::maps::FdLayout,
}

/// What the table gives the interpreter and the `Loader`.
pub(super) struct Done {
    pub blob: Blob,
    pub ops: BlobOff,
    pub n_main: usize,
    pub n_ops: usize,
    pub max_attr: usize,
    pub max_read: usize,
    pub max_name: usize,
    pub data_init: Vec<Option<u32>>,
    pub steps: Vec<String>,
}

impl<'p> Table<'p> {
    /// `ext_slots`: the `fd_array` slots of kernel-BTF externs; `overrides`: whether the
    /// user's map settings are taken from the ctx.
    pub fn new(
        plan: &'p Plan,
        fd_slots: usize,
        ext_slots: Vec<usize>,
        ctx_size: usize,
        overrides: bool,
    ) -> Table<'p> {
        let mut blob = Blob::default();
        let fd_array = blob.reserve(4 * fd_slots, "fd_array: map fds");
        let btf_fd = blob.reserve(4, "BTF fd");
        let inner_fd = blob.reserve(4, "fd of the inner map template being used");
        let scratch = blob.reserve(4, "program fd being stored in a prog_array");
        let zero_key = blob.reserve(4, "key 0");
        let state = blob.reserve(
            crate::interp::emit::state::SIZE,
            "interpreter state: pc, step, ret",
        );
        let ctx_area = blob.reserve(
            ctx_size,
            "ctx area: the ctx as the loader read it, with the fds it made",
        );
        let license = blob.push(&nul_terminated(&plan.license), "license");
        let prog_insns = (plan.programs.iter())
            .map(|p| blob.push(&p.linked.insns, format!("insns of `{}`", p.def.func.name)))
            .collect();
        Table {
            plan,
            blob,
            ops: Vec::new(),
            labels: Vec::new(),
            jumps: Vec::new(),
            values: Vec::new(),
            value_refs: Vec::new(),
            steps: Vec::new(),
            fd_array,
            btf_fd,
            inner_fd,
            scratch,
            zero_key,
            license,
            state,
            ctx_area,
            prog_insns,
            marker_attr: None,
            target_fds: Vec::new(),
            found: None,
            ext_slots,
            data_val: vec![None; plan.maps.len()],
            overrides,
            layout: plan.fd_layout(),
        }
    }

    // --- op builders -------------------------------------------------------------------

    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.ops.len() as u32);
    }

    fn step(&mut self, what: String) -> u32 {
        self.steps.push(what);
        self.steps.len() as u32
    }

    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    fn area(&self, off: usize) -> u32 {
        self.ctx_area.at(off).0
    }

    fn map_slot(&self, i: usize) -> BlobOff {
        self.fd_array.at(4 * self.layout.slots[i])
    }

    fn sys(
        &mut self,
        cmd: i32,
        attr: BlobOff,
        size: usize,
        out: Option<u32>,
        soft: bool,
        step: u32,
    ) {
        let mut op = Op::new(kind::SYS);
        op.a = cmd as u32;
        op.b = attr.0;
        op.c = size as u32;
        if let Some(out) = out {
            op.flags |= flag::OUT;
            op.d = out;
        }
        if soft {
            op.flags |= flag::SOFT;
        }
        op.step = step;
        self.push(op);
    }

    fn copy(&mut self, src: u32, dst: u32, wide: bool) {
        let mut op = Op::new(kind::COPY);
        op.a = src;
        op.b = dst;
        if wide {
            op.flags = flag::WIDE;
        }
        self.push(op);
    }

    fn store(&mut self, dst: u32, value: u32) {
        let mut op = Op::new(kind::STORE);
        op.a = dst;
        op.b = value;
        self.push(op);
    }

    fn ptr(&mut self, dst: u32, target: BlobOff) {
        let mut op = Op::new(kind::PTR);
        op.a = dst;
        op.b = target.0;
        self.push(op);
    }

    fn ptr_val(&mut self, dst: u32, v: Val) {
        self.value_refs.push((self.ops.len(), Operand::B, v));
        self.ptr(dst, BlobOff(0));
    }

    /// `if cond(blob[src] & mask, value) goto to`
    fn jump(&mut self, c: u8, src: u32, mask: u32, value: u32, to: Label) {
        let mut op = Op::new(kind::JUMP);
        op.cond = c;
        op.a = src;
        op.b = mask;
        op.c = value;
        self.jumps.push((self.ops.len(), to));
        self.push(op);
    }

    fn goto(&mut self, to: Label) {
        self.jump(cond::ALWAYS, 0, 0, 0, to);
    }

    fn close(&mut self, slot: u32) {
        let mut op = Op::new(kind::CLOSE);
        op.a = slot;
        self.push(op);
    }

    fn fail(&mut self, errno: u32, what: String) {
        let mut op = Op::new(kind::FAIL);
        op.a = errno;
        op.step = self.step(what);
        self.push(op);
    }

    /// `blob[dst] = btf_find_by_name_kind(name, kind)`, failing the load at `what`.
    fn find(&mut self, name: BlobOff, size: usize, btf_kind: u32, dst: BlobOff, what: String) {
        let mut op = Op::new(kind::FIND);
        op.a = name.0;
        op.b = size as u32;
        op.c = btf_kind;
        op.d = dst.0;
        op.step = self.step(what);
        self.push(op);
    }

    /// The three log fields of an attr from the ctx.
    fn log(&mut self, attr: BlobOff, level: usize, size: usize, buf: usize) {
        self.copy(self.area(ctx::LOG_LEVEL), attr.at(level).0, false);
        self.copy(self.area(ctx::LOG_SIZE), attr.at(size).0, false);
        self.copy(self.area(ctx::LOG_BUF), attr.at(buf).0, true);
    }

    // --- steps -------------------------------------------------------------------------

    /// Program slots: a slot preset to -1 (autoload off) stays; others start at 0. Maps to
    /// reuse: their fds go to `fd_array` (the loader owns them from here); other map slots
    /// of the ctx start at 0. Without overrides no map is reused: every map slot starts at 0.
    pub fn prologue(&mut self) {
        self.zero_fd_slots();
        let n_maps = self.plan.maps.len();
        for j in 0..self.plan.programs.len() {
            let (slot, skip) = (self.area(ctx::prog_fd(n_maps, j)), self.label());
            self.jump(cond::EQ, slot, u32::MAX, ctx::PROG_SKIP as u32, skip);
            self.store(slot, 0);
            self.bind(skip);
        }
        for i in 0..n_maps {
            if !self.overrides {
                self.store(self.area(ctx::map_fd(i)), 0);
                continue;
            }
            let (clear, next) = (self.label(), self.label());
            let set = self.area(ctx::map_desc(i) + ctx::map::SET);
            self.jump(cond::EQ, set, ctx::set::REUSE, 0, clear);
            self.copy(self.area(ctx::map_fd(i)), self.map_slot(i).0, false);
            self.goto(next);
            self.bind(clear);
            self.store(self.area(ctx::map_fd(i)), 0);
            self.bind(next);
        }
    }

    /// Zeroes every blob slot the cleanup closes (`fd_array`, BTF fd, inner map template
    /// fd): the blob comes from user space, and a number left there would make a failed load
    /// close a descriptor it never made. The slots are one area at the start of the blob.
    fn zero_fd_slots(&mut self) {
        let (start, end) = (self.fd_array.0, self.inner_fd.0 + 4);
        let mut off = start;
        while off < end {
            let mut op = Op::new(kind::STORE);
            op.a = off;
            if end - off >= 8 {
                op.flags = flag::WIDE;
                off += 8;
            } else {
                off += 4;
            }
            self.push(op);
        }
    }

    pub fn load_btf(&mut self) {
        use abi::btf_load as f;
        let bytes = self.plan.btf.to_bytes();
        let data = self.blob.push(&bytes, "BTF");
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::BTF_SIZE, bytes.len() as u32);
        let attr = self.blob.push(&attr.0, "BTF_LOAD attr");
        self.ptr(attr.at(f::BTF).0, data);
        self.log(attr, f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        let step = self.step("load BTF".into());
        self.sys(
            abi::BPF_BTF_LOAD,
            attr,
            f::SIZE,
            Some(self.btf_fd.0),
            false,
            step,
        );
    }

    /// A `BTF_LOAD` of four zero bytes with the log fields, when a log is asked for: the
    /// kernel refuses it writing a known line, which a program refused before verification
    /// leaves in the buffer (see the straight-line loader's `log_marker`).
    fn log_marker(&mut self) {
        use abi::btf_load as f;
        let attr = log_marker_attr(&mut self.blob, &mut self.marker_attr);
        let none = self.label();
        self.jump(cond::EQ, self.area(ctx::LOG_LEVEL), u32::MAX, 0, none);
        self.ptr(attr.at(f::BTF).0, self.zero_key);
        self.log(attr, f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys(abi::BPF_BTF_LOAD, attr, f::SIZE, None, true, 0);
        // Four bytes are never a valid BTF; should a kernel take them, close what it made.
        let ret = self.state.at(crate::interp::emit::state::RET).0;
        self.jump(cond::SLT, ret, u32::MAX, 1, none);
        self.close(ret);
        self.bind(none);
    }

    pub fn prog_load(&mut self, j: usize, prog: &Program) {
        use abi::prog_load as f;
        let name = &prog.def.func.name;
        let ProgLoadPieces {
            attr,
            records,
            kernel_target,
            size,
        } = push_prog_load(
            &mut self.blob,
            prog,
            self.plan.kern_version,
            self.layout.bound,
        );
        let n_maps = self.plan.maps.len();
        let (skip, slot) = (self.label(), self.area(ctx::prog_fd(n_maps, j)));
        self.jump(cond::EQ, slot, u32::MAX, ctx::PROG_SKIP as u32, skip);
        if let Some((off, t, kind)) = kernel_target {
            let what = format!("find attach target `{t}` of program `{name}` in kernel BTF");
            self.find(off, t.len() + 1, kind, attr.at(f::ATTACH_BTF_ID), what);
            self.target_fds.push(attr.at(f::ATTACH_BTF_OBJ_FD).0);
        }
        match &prog.target {
            Some(AttachTarget::Freplace { slot }) => self.freplace_target(name, attr, *slot),
            Some(AttachTarget::BeforeLoad { btf_kind, slot, .. }) => {
                self.runtime_target(name, attr, *btf_kind, *slot);
            }
            _ => {}
        }
        self.log_marker();
        self.ptr(attr.at(f::INSNS).0, self.prog_insns[j]);
        self.ptr(attr.at(f::LICENSE).0, self.license);
        self.ptr(attr.at(f::FD_ARRAY).0, self.fd_array);
        for (field, off) in records.into_iter().flatten() {
            self.ptr(attr.at(field).0, off);
        }
        self.copy(self.btf_fd.0, attr.at(f::PROG_BTF_FD).0, false);
        self.log(attr, f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        let step = self.step(format!("load program `{name}`{}", self.plan.license_hint()));
        self.sys(abi::BPF_PROG_LOAD, attr, size, Some(slot), false, step);
        if kernel_target.is_some() || matches!(prog.target, Some(AttachTarget::BeforeLoad { .. })) {
            // A module's BTF fd came with the target: the program holds its own reference now.
            self.close(attr.at(f::ATTACH_BTF_OBJ_FD).0);
        }
        self.bind(skip);
    }

    /// Success closes the BTF fd (maps and programs hold it); the cleanup part (run on
    /// failure) closes every fd made so far.
    pub fn epilogue(&mut self) -> usize {
        self.close(self.btf_fd.0);
        self.push(Op::new(kind::END));
        let n_main = self.ops.len();
        let n_maps = self.plan.maps.len();
        for j in 0..self.plan.programs.len() {
            self.close(self.area(ctx::prog_fd(n_maps, j)));
        }
        for i in 0..n_maps {
            self.close(self.map_slot(i).0);
        }
        if self.plan.maps.iter().any(|m| m.inner.is_some()) {
            self.close(self.inner_fd.0);
        }
        for fd in std::mem::take(&mut self.target_fds) {
            self.close(fd);
        }
        self.close_extern_fds();
        self.close(self.btf_fd.0);
        self.push(Op::new(kind::END));
        n_main
    }

    /// Resolves jumps, places the op table and the initial values, pads the tail.
    pub fn finish(mut self, n_main: usize) -> Done {
        for &(at, to) in &self.jumps {
            self.ops[at].d = self.labels[to.0].unwrap_or(u32::MAX);
        }
        let n_ops = self.ops.len();
        // Reserved now, written once the values are placed.
        let table = self
            .blob
            .reserve(n_ops * crate::interp::ops::OP_SIZE, "op table");
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by_key(|&v| self.values[v].0.len());
        let mut placed = vec![BlobOff(0); self.values.len()];
        for v in order {
            let (bytes, what, _) = &self.values[v];
            placed[v] = self.blob.push(bytes, what.clone());
        }
        for &(at, operand, v) in &self.value_refs {
            match operand {
                Operand::B => self.ops[at].b = placed[v.0].0,
            }
        }
        let max_attr = (self.ops.iter())
            .filter(|o| o.kind == kind::SYS)
            .map(|o| o.c as usize)
            .max()
            .unwrap_or(8);
        // A size from the ctx is bounded by the table to TARGET_NAME_MAX first.
        let size_bound = |o: &Op, v: u32| {
            if o.flags & flag::INDIRECT != 0 {
                TARGET_NAME_MAX
            } else {
                v as usize
            }
        };
        let max_read = (self.values.iter().map(|v| v.2))
            .chain(
                (self.ops.iter())
                    .filter(|o| o.kind == kind::READ)
                    .map(|o| size_bound(o, o.c)),
            )
            .max()
            .unwrap_or(0)
            .max(1);
        let max_name = (self.ops.iter())
            .filter(|o| o.kind == kind::FIND)
            .map(|o| size_bound(o, o.b))
            .max()
            .unwrap_or(1);
        // Every attr readable at max_attr bytes, every field at 8, a READ of max_read.
        let need = (self.ops.iter())
            .map(|o| match o.kind {
                kind::SYS => (o.b as usize + max_attr).max(o.d as usize + 8),
                kind::READ => (o.b as usize + max_read).max(o.a as usize + 8),
                kind::COPY => (o.a as usize).max(o.b as usize) + 8,
                kind::FIND => (o.a as usize + max_name).max(o.d as usize + 8),
                kind::PTR | kind::STORE | kind::JUMP | kind::CLOSE => o.a as usize + 8,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if need > self.blob.len() {
            self.blob.reserve(
                need - self.blob.len(),
                "tail pad: bounds of the interpreter",
            );
        }
        let bytes: Vec<u8> = self.ops.iter().flat_map(|o| o.encode()).collect();
        self.blob.write(table, &bytes);
        let data_init = (self.data_val.iter())
            .map(|v| v.map(|v| placed[v.0].0))
            .collect();
        Done {
            blob: self.blob,
            ops: table,
            n_main,
            n_ops,
            max_attr,
            max_read,
            max_name,
            data_init,
            steps: self.steps,
        }
    }
}
