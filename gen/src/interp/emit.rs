//! The interpreter: a fixed loader program that walks the op table in a loop headed by
//! `may_goto`, which the verifier checks until its state converges instead of unrolling it.
//! Its instruction count does not depend on the object; only immediates (blob offsets and
//! bounds) do.
//!
//! (A `bpf_loop` callback would do the same, but a `BPF_PSEUDO_FUNC` reference needs the
//! program's BTF func_info, "missing btf func_info" otherwise: that would cost the runtime a
//! `BTF_LOAD` for the loader itself.)
//!
//! The program copies the ctx into the blob's ctx area (`probe_read_kernel`: the ctx cannot
//! be read at a variable offset), runs the ops up to the first END, and on failure runs the
//! cleanup part (from `n_main`), then writes the failed step to the status word of the ctx
//! copy (read back with the fds, so no ctx offset limits the object's size), and returns the
//! errno. One iteration runs one op: it reads `pc`
//! from the state, bounds it, advances it, and dispatches on the op's kind. Every blob
//! offset an op gives is bounded against the blob size before it becomes a pointer, and every
//! size against the largest the table uses, as the verifier needs; the table is laid out so
//! those bounds hold (see `table.rs`).

use super::ops::{at, cond, flag, kind, OP_SIZE};
use crate::abi::{self, ctx, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JNE, BPF_JSET, BPF_JSGE, BPF_JSLE};
use crate::abi::{BPF_ADD, BPF_AND, BPF_ARSH, BPF_LSH, BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH};
use crate::abi::{BPF_JSLT, BPF_SUB, BPF_XOR};
use crate::error::Result;
use crate::loader::blob::BlobOff;
use crate::loader::emit::{reg::*, Builder, Label, Size};

/// Offsets inside the interpreter's state (in the blob).
pub mod state {
    /// `u32`: index of the next op.
    pub const PC: usize = 0;
    /// `u32`: the failed step (0: none).
    pub const STEP: usize = 4;
    /// `i64`: the result of the last call (the errno of a failure).
    pub const RET: usize = 8;
    /// `u32`: 0 while loading, 1 in the cleanup part.
    pub const MODE: usize = 16;
    /// Size of the state.
    pub const SIZE: usize = 24;
}

/// `bpf_probe_read_kernel`
const FUNC_PROBE_READ_KERNEL: i32 = abi::helper::PROBE_READ_KERNEL;
/// `EINVAL`: what a malformed op fails with.
const EINVAL: i32 = lskel_abi::errno::EINVAL;
/// `ENOENT`: what a lookup of an absent symbol returns.
const ENOENT: i32 = lskel_abi::errno::ENOENT;
/// `E2BIG`: what a walk that ran out of `may_goto` budget fails with.
const E2BIG: i32 = lskel_abi::errno::E2BIG;
/// The step reported for a malformed op (no step of the table has this number).
const BAD_OP_STEP: i32 = -1;
/// What a failure stores in `state.pc`: past every op, so the loop head stops the walk.
const PC_STOP: i32 = -1;
/// The JUMP truth table: bit `cond * 4 + ne * 2 + lt` is whether the jump is taken, where
/// `ne` is `(v & mask) != value` and `lt` is `(s32)(v & mask) < (s32)value`.
const JUMP_TRUTH: i32 = {
    let always = 0b1111 << (4 * cond::ALWAYS as u32);
    let eq = 0b0011 << (4 * cond::EQ as u32);
    let ne = 0b1100 << (4 * cond::NE as u32);
    let slt = 0b1010 << (4 * cond::SLT as u32);
    let sge = 0b0101 << (4 * cond::SGE as u32);
    always | eq | ne | slt | sge
};
/// The highest `cond` the truth table covers.
const COND_MAX: u8 = cond::SGE;

/// The constants the interpreter is emitted with.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Blob size (the loader map's value size).
    pub blob_len: usize,
    /// Offset of the op table.
    pub ops: BlobOff,
    /// Ops of the load (the cleanup part starts here).
    pub n_main: usize,
    /// All ops, cleanup included.
    pub n_ops: usize,
    /// Offset of the ctx copy.
    pub ctx_area: BlobOff,
    /// Size of the ctx.
    pub ctx_size: usize,
    /// Offset of the state.
    pub state: BlobOff,
    /// Largest `bpf_sys_bpf` attr size an op gives.
    pub max_attr: usize,
    /// Largest READ size an op gives (at least 1).
    pub max_read: usize,
    /// Largest name size a FIND gives (at least 1).
    pub max_name: usize,
    /// Ctx offset of the status word (written in the ctx area).
    pub status: usize,
    /// For a signed loader, the SHA-256 the loader map must have (`struct bpf_map`'s
    /// `sha`, computed by the kernel when user space read the frozen map's hash): checked
    /// before any byte of the map is read or written. `None`: unsigned, no check.
    pub map_sha256: Option<[u8; 32]>,
}

/// Registers of the loop body (r6 keeps the ctx until the loop starts).
mod cb {
    /// The blob's base address, set once before the loop (callee-saved, so helper calls keep
    /// it): the state, the ctx area and every operand are reached from it.
    pub const BASE: u8 = super::R9;
    /// The current op.
    pub const OP: u8 = super::R8;
    /// The interpreter state (r6 holds the ctx only before the loop; callee-saved).
    pub const STATE: u8 = super::CTX;
    /// Its step.
    pub const STEP: u8 = super::RET;
}

struct Emit {
    b: Builder,
    l: Layout,
    /// The loop's exits: next op, stop, fail (step in r7, errno in the state), bad op.
    next: Label,
    stop: Label,
    fail: Label,
    bad: Label,
}

/// Emits the interpreter for `l`; returns its instructions and notes.
pub fn emit(l: Layout) -> Result<(Vec<u8>, std::collections::BTreeMap<usize, String>)> {
    let mut b = Builder::default();
    let (next, stop, fail, bad) = (b.label(), b.label(), b.label(), b.label());
    let mut e = Emit {
        b,
        l,
        next,
        stop,
        fail,
        bad,
    };
    e.main();
    e.b.finish()
}

/// r5, a scratch register of the JUMP handler (no call there).
const R5: u8 = 5;

/// Offsets from [`cb::BASE`] reach at most this far (an instruction's 16-bit offset).
const NEAR: usize = i16::MAX as usize;

impl Emit {
    /// The offset from [`cb::STATE`] of the state field `field`.
    fn st(&self, field: usize) -> usize {
        field
    }

    /// A register and offset that reach blob offset `off` (`len` bytes), when one of the
    /// loop's base registers is near enough: the state's (the ctx area follows it) or the
    /// blob's.
    fn near(&self, off: usize, len: usize) -> Option<(u8, usize)> {
        let state = self.l.state.0 as usize;
        if off >= state && off - state + len <= NEAR {
            Some((cb::STATE, off - state))
        } else if off + len <= NEAR {
            Some((cb::BASE, off))
        } else {
            None
        }
    }

    /// `dst = *(size *)&blob[off]`; `dst` is also the address register when needed.
    fn load_blob(&mut self, size: Size, dst: u8, off: usize) {
        match self.near(off, 8) {
            Some((reg, at)) => self.b.load(size, dst, reg, at),
            None => {
                self.b.blob_addr(dst, BlobOff(off as u32));
                self.b.load(size, dst, dst, 0);
            }
        }
    }

    fn main(&mut self) {
        use cb::{BASE, STATE};
        let (out, ok, report, exhausted) = (
            self.b.label(),
            self.b.label(),
            self.b.label(),
            self.b.label(),
        );
        if let Some(sha) = self.l.map_sha256 {
            self.hash_check(sha);
        }
        self.b
            .note("interpreter: copy the ctx into the blob's ctx area");
        self.b.mov_reg(CTX, R1);
        self.b.blob_addr(R1, self.l.ctx_area);
        self.b.mov_imm(R2, self.l.ctx_size);
        self.b.mov_reg(R3, CTX);
        self.b.call(FUNC_PROBE_READ_KERNEL);
        self.b.mov_reg(RET, R0);
        self.b.jump_if(true, BPF_JNE, RET, 0, out);
        self.b
            .note("reset the state (pc and step in one word); r9 = the blob from here on");
        self.b.blob_addr(BASE, BlobOff(0));
        self.b.blob_addr(STATE, self.l.state);
        self.b.store_imm(Size::DW, STATE, self.st(state::PC), 0);
        self.b.store_imm(Size::DW, STATE, self.st(state::RET), 0);
        self.b.store_imm(Size::W, STATE, self.st(state::MODE), 0);
        self.body(exhausted);
        self.b
            .note("walk stopped: after the load ops, run the cleanup ops if a step failed");
        self.b.bind(self.stop);
        self.b.load(Size::W, R2, STATE, self.st(state::MODE));
        self.b.jump_if(true, BPF_JNE, R2, 0, report);
        self.b.load(Size::W, R2, STATE, self.st(state::STEP));
        self.b.jump_if(false, BPF_JEQ, R2, 0, ok);
        self.b.store_imm(Size::W, STATE, self.st(state::MODE), 1);
        self.b
            .store_imm(Size::W, STATE, self.st(state::PC), self.l.n_main);
        self.b.goto_long(self.next);
        self.b
            .note("failed: report the step in the ctx area, return the errno");
        self.b.bind(report);
        self.b.load(Size::W, R8, STATE, self.st(state::STEP));
        self.b.load(Size::DW, RET, STATE, self.st(state::RET));
        let status = self.l.ctx_area.0 as usize + self.l.status;
        if let Some((reg, at)) = self.near(status, 4) {
            self.b.store(Size::W, reg, at, R8);
        } else {
            self.b.blob_addr(R1, self.l.ctx_area.at(self.l.status));
            self.b.store(Size::W, R1, 0, R8);
        }
        self.b.bind(out);
        self.b.mov_reg(R0, RET);
        self.b.exit();
        self.b.bind(ok);
        self.b.mov_imm(R0, 0);
        self.b.exit();
        // Straight to the report: a path from here back into the loop would be one the
        // verifier calls infinite (the budget is spent, the cleanup could not run anyway).
        self.b.note("may_goto budget used up: fail with -E2BIG");
        self.b.bind(exhausted);
        self.b.mov_imm(R2, -E2BIG);
        self.b.store(Size::DW, STATE, self.st(state::RET), R2);
        self.b
            .store_imm(Size::W, STATE, self.st(state::STEP), BAD_OP_STEP);
        self.b.goto_long(report);
    }

    /// The signed loader's first instructions: the loader map's SHA-256, which the kernel
    /// keeps at offset 0 of `struct bpf_map` (`sha`, Linux 6.18) once user space asked for
    /// it, compared 8 bytes at a time with `sha`; any difference returns
    /// [`ctx::HASH_MISMATCH`] before the blob is touched. `sha` is in the instructions, so
    /// the signature covers it. r1 (the ctx) is not touched.
    ///
    /// 20 instructions: the map pointer is loaded once (a `CONST_PTR_TO_MAP` in r2 survives
    /// the loads), and the last word's compare jumps over the failure on a match, so the
    /// failure needs no jump of its own. Measured on Linux 6.18, the check adds 20 to the
    /// verifier's processed instructions (23 when the map pointer was loaded for each word).
    fn hash_check(&mut self, sha: [u8; 32]) {
        let (matched, mismatch) = (self.b.label(), self.b.label());
        self.b.note(
            "signed: compare the loader map's SHA-256 (struct bpf_map.sha) with the signed one",
        );
        self.b.loader_map(R2);
        for (i, word) in sha.chunks_exact(8).enumerate() {
            let mut dw = [0u8; 8];
            dw.copy_from_slice(word);
            self.b.load(Size::DW, R3, R2, 8 * i);
            self.b.ld_imm64(R4, u64::from_le_bytes(dw));
            if i < 3 {
                self.b.jump_reg(true, BPF_JNE, R3, R4, mismatch);
            } else {
                self.b.jump_reg(true, BPF_JEQ, R3, R4, matched);
            }
        }
        self.b
            .note("the map is not the blob this loader was signed with: -EBADMSG");
        self.b.bind(mismatch);
        self.b.mov_imm(R0, ctx::HASH_MISMATCH);
        self.b.exit();
        self.b.bind(matched);
    }

    /// `dst = &blob[op.field]`, the offset bounded to `0..=limit` (else the op is bad).
    fn field_ptr(&mut self, dst: u8, field: usize, limit: usize) {
        self.b.load(Size::W, dst, cb::OP, field);
        self.b.jump_if(true, BPF_JGT, dst, limit, self.bad);
        self.b.add_reg(dst, cb::BASE);
    }

    /// `dst = op.field`, or with `INDIRECT` the u32 at that blob offset (a size the ctx
    /// gives); `scratch` is clobbered (0 on both paths, so the verifier sees one state where
    /// they meet). The caller bounds the result.
    fn size_operand(&mut self, dst: u8, field: usize, scratch: u8) {
        let direct = self.b.label();
        self.b.load(Size::B, scratch, cb::OP, at::FLAGS);
        self.b.and_imm(scratch, i32::from(flag::INDIRECT));
        self.b.load(Size::W, dst, cb::OP, field);
        self.b.jump_if(true, BPF_JEQ, scratch, 0, direct);
        self.b.jump_if(true, BPF_JGT, dst, self.limit(4), self.bad);
        self.b.add_reg(dst, cb::BASE);
        self.b.load(Size::W, dst, dst, 0);
        self.b.mov_imm(scratch, 0);
        self.b.bind(direct);
    }

    /// The highest offset an access of `len` bytes may start at.
    fn limit(&self, len: usize) -> usize {
        self.l.blob_len - len
    }

    /// The loop: one op per iteration. Every path through an op ends at the loop head (a
    /// failure too: it sets `pc` past the table), so the verifier meets each op's code
    /// once, its states pruned at the `may_goto`; where two paths of one op join before
    /// that, their registers are made equal.
    fn body(&mut self, exhausted: Label) {
        use cb::*;
        let l = self.l;
        self.b.note("loop: run the op at state.pc");
        self.b.bind(self.next);
        self.b.may_goto(exhausted);
        self.b.load(Size::W, R1, STATE, self.st(state::PC));
        self.b.jump_if(true, BPF_JGE, R1, l.n_ops, self.stop);
        self.b.mov_reg(R2, R1);
        self.b.alu_imm(BPF_ADD, R2, 1);
        self.b.store(Size::W, STATE, self.st(state::PC), R2);
        self.b.alu_imm(BPF_MUL, R1, OP_SIZE);
        self.b.alu_imm(BPF_ADD, R1, l.ops.0);
        self.b.mov_reg(OP, BASE);
        self.b.add_reg(OP, R1);
        self.b.load(Size::W, STEP, OP, at::STEP);
        self.b.load(Size::B, R1, OP, at::KIND);
        let kinds = [
            (kind::SYS, self.b.label()),
            (kind::COPY, self.b.label()),
            (kind::STORE, self.b.label()),
            (kind::PTR, self.b.label()),
            (kind::JUMP, self.b.label()),
            (kind::READ, self.b.label()),
            (kind::CLOSE, self.b.label()),
            (kind::FAIL, self.b.label()),
            (kind::FIND, self.b.label()),
        ];
        for &(k, label) in &kinds {
            self.b.jump_if(true, BPF_JEQ, R1, u32::from(k), label);
        }
        self.b.note("END (or an unknown kind): stop the walk");
        self.b
            .store_imm(Size::W, STATE, self.st(state::PC), PC_STOP);
        self.b.goto_long(self.next);
        for (k, label) in kinds {
            self.b.bind(label);
            match k {
                kind::SYS => self.op_sys(),
                kind::COPY => self.op_copy(),
                kind::STORE => self.op_store(),
                kind::PTR => self.op_ptr(),
                kind::JUMP => self.op_jump(),
                kind::READ => self.op_read(),
                kind::CLOSE => self.op_close(),
                kind::FIND => self.op_find(),
                _ => self.op_fail(),
            }
        }
        self.b.note(
            "malformed op: fail with -EINVAL at step -1 (a generator bug); pc and step in one store",
        );
        self.b.bind(self.bad);
        const _: () = assert!(state::STEP == state::PC + 4 && PC_STOP == BAD_OP_STEP);
        self.b
            .store_imm(Size::DW, STATE, self.st(state::PC), PC_STOP);
        self.b
            .store_imm(Size::DW, STATE, self.st(state::RET), -EINVAL);
        self.b.goto_long(self.next);
        self.b.note(
            "failure: record the step, stop the walk at the loop head (state.ret holds the errno)",
        );
        self.b.bind(self.fail);
        self.b.store(Size::W, STATE, self.st(state::STEP), STEP);
        self.b
            .store_imm(Size::W, STATE, self.st(state::PC), PC_STOP);
        self.b.goto_long(self.next);
    }

    /// r0 -> state.ret
    fn keep_ret(&mut self) {
        self.b.store(Size::DW, cb::STATE, self.st(state::RET), R0);
    }

    /// r1 = op.flags
    fn flags(&mut self) {
        self.b.load(Size::B, R1, cb::OP, at::FLAGS);
    }

    fn op_sys(&mut self) {
        let (err, max) = (self.b.label(), self.l.max_attr);
        self.b
            .note("SYS: bpf_sys_bpf(a, &blob[b], c), result to blob[d] when OUT");
        self.field_ptr(R2, at::B, self.limit(max));
        self.b.load(Size::W, R3, cb::OP, at::C);
        self.b.jump_if(true, BPF_JEQ, R3, 0, self.bad);
        self.b.jump_if(true, BPF_JGT, R3, max, self.bad);
        self.b.load(Size::W, R1, cb::OP, at::A);
        self.b.call(abi::FUNC_SYS_BPF);
        // r0 is kept until the next call.
        self.keep_ret();
        self.flags();
        self.b.jump_if(true, BPF_JSLT, R0, 0, err);
        self.b.and_imm(R1, i32::from(flag::OUT));
        self.b.jump_if(true, BPF_JEQ, R1, 0, self.next);
        self.field_ptr(R1, at::D, self.limit(4));
        self.b.store(Size::W, R1, 0, R0);
        self.b.goto_long(self.next);
        self.b.bind(err);
        self.b
            .jump_if(true, BPF_JSET, R1, i32::from(flag::SOFT), self.next);
        self.b.goto_long(self.fail);
    }

    fn op_copy(&mut self) {
        let wide = self.b.label();
        self.b.note("COPY: blob[b] = blob[a]");
        self.field_ptr(R2, at::A, self.limit(8));
        self.field_ptr(R3, at::B, self.limit(8));
        self.flags();
        self.b
            .jump_if(true, BPF_JSET, R1, i32::from(flag::WIDE), wide);
        self.b.load(Size::W, R1, R2, 0);
        self.b.store(Size::W, R3, 0, R1);
        self.b.goto_long(self.next);
        self.b.bind(wide);
        self.b.load(Size::DW, R1, R2, 0);
        self.b.store(Size::DW, R3, 0, R1);
        self.b.goto_long(self.next);
    }

    fn op_store(&mut self) {
        let wide = self.b.label();
        self.b.note("STORE: blob[a] = b | c << 32");
        self.field_ptr(R3, at::A, self.limit(8));
        self.b.load(Size::W, R2, cb::OP, at::B);
        self.flags();
        self.b
            .jump_if(true, BPF_JSET, R1, i32::from(flag::WIDE), wide);
        self.b.store(Size::W, R3, 0, R2);
        self.b.goto_long(self.next);
        self.b.bind(wide);
        self.b.load(Size::W, R1, cb::OP, at::C);
        self.b.alu_imm(BPF_LSH, R1, 32);
        self.b.alu_reg(BPF_OR, R2, R1);
        self.b.store(Size::DW, R3, 0, R2);
        self.b.goto_long(self.next);
    }

    fn op_ptr(&mut self) {
        self.b.note("PTR: blob[a] = &blob[b]");
        self.field_ptr(R3, at::A, self.limit(8));
        self.field_ptr(R2, at::B, self.limit(1));
        self.b.store(Size::DW, R3, 0, R2);
        self.b.goto_long(self.next);
    }

    /// Without a branch: the condition is looked up in [`JUMP_TRUTH`], and `pc` becomes
    /// `d` or stays by masking, so the verifier meets this code once.
    fn op_jump(&mut self) {
        self.b.note(
            "JUMP: if cond(blob[a] & b, c) then pc = d (branch-free: truth table, masked pc)",
        );
        self.b.load(Size::B, R4, cb::OP, at::COND);
        self.b
            .jump_if(true, BPF_JGT, R4, u32::from(COND_MAX), self.bad);
        self.field_ptr(R2, at::A, self.limit(4));
        self.b.load(Size::W, R2, R2, 0);
        self.b.load(Size::W, R3, cb::OP, at::B);
        self.b.alu_reg(BPF_AND, R2, R3);
        self.b.load(Size::W, R3, cb::OP, at::C);
        // ne = ((v ^ c) | -(v ^ c)) >> 63: the sign bit is set unless v ^ c is 0.
        self.b.mov_reg(R1, R2);
        self.b.alu_reg(BPF_XOR, R1, R3);
        self.b.mov_reg(R5, R1);
        self.b.alu_imm(BPF_NEG, R5, 0);
        self.b.alu_reg(BPF_OR, R1, R5);
        self.b.alu_imm(BPF_RSH, R1, 63);
        // lt = (sext(v) - sext(c)) >> 63, exact on 64 bits for 32-bit operands.
        for r in [R2, R3] {
            self.b.alu_imm(BPF_LSH, r, 32);
            self.b.alu_imm(BPF_ARSH, r, 32);
        }
        self.b.alu_reg(BPF_SUB, R2, R3);
        self.b.alu_imm(BPF_RSH, R2, 63);
        // take = JUMP_TRUTH >> (cond * 4 + ne * 2 + lt) & 1
        self.b.alu_imm(BPF_LSH, R4, 2);
        self.b.alu_imm(BPF_LSH, R1, 1);
        self.b.alu_reg(BPF_OR, R4, R1);
        self.b.alu_reg(BPF_OR, R4, R2);
        self.b.mov_imm(R5, JUMP_TRUTH);
        self.b.alu_reg(BPF_RSH, R5, R4);
        self.b.and_imm(R5, 1);
        // pc ^= (pc ^ d) & -take
        self.b.alu_imm(BPF_NEG, R5, 0);
        self.b.load(Size::W, R1, cb::STATE, self.st(state::PC));
        self.b.load(Size::W, R2, cb::OP, at::D);
        self.b.alu_reg(BPF_XOR, R2, R1);
        self.b.alu_reg(BPF_AND, R2, R5);
        self.b.alu_reg(BPF_XOR, R1, R2);
        self.b.store(Size::W, cb::STATE, self.st(state::PC), R1);
        self.b.goto_long(self.next);
    }

    fn op_read(&mut self) {
        let (kernel, max) = (self.b.label(), self.l.max_read);
        self.b
            .note("READ: c bytes from the user pointer at blob[a] (when not 0) to &blob[b]");
        self.field_ptr(R3, at::A, self.limit(8));
        self.b.load(Size::DW, R3, R3, 0);
        self.b.jump_if(true, BPF_JEQ, R3, 0, self.next);
        self.field_ptr(R1, at::B, self.limit(max));
        self.size_operand(R2, at::C, R4);
        self.b.jump_if(true, BPF_JGT, R2, max, self.bad);
        self.load_blob(Size::W, R4, self.l.ctx_area.0 as usize + ctx::FLAGS);
        self.b
            .jump_if(true, BPF_JSET, R4, ctx::SKEL_KERNEL as i32, kernel);
        self.b.call(abi::FUNC_COPY_FROM_USER);
        self.read_done();
        self.b.bind(kernel);
        self.b.call(FUNC_PROBE_READ_KERNEL);
        self.read_done();
    }

    /// After READ's call (one copy per call site: no join before the loop head).
    fn read_done(&mut self) {
        self.keep_ret();
        self.b.jump_if(true, BPF_JSLT, R0, 0, self.fail);
        self.b.goto_long(self.next);
    }

    fn op_close(&mut self) {
        self.b.note("CLOSE: close blob[a] when > 0, zero the slot");
        self.field_ptr(R2, at::A, self.limit(4));
        self.b.load(Size::W, R1, R2, 0);
        self.b.store_imm(Size::W, R2, 0, 0);
        self.b.jump_if(false, BPF_JSLE, R1, 0, self.next);
        self.b.call(abi::FUNC_SYS_CLOSE);
        self.b.goto_long(self.next);
    }

    fn op_fail(&mut self) {
        self.b.note("FAIL: fail with -a");
        self.b.load(Size::W, R2, cb::OP, at::A);
        self.b.mov_imm(R1, 0);
        self.b.alu_reg(BPF_SUB, R1, R2);
        self.keep_ret_reg(R1);
        self.b.goto_long(self.fail);
    }

    /// `reg` -> state.ret
    fn keep_ret_reg(&mut self, reg: u8) {
        self.b.store(Size::DW, cb::STATE, self.st(state::RET), reg);
    }

    fn op_find(&mut self) {
        let (ksym, called, found) = (self.b.label(), self.b.label(), self.b.label());
        let max = self.l.max_name;
        self.b.note(
            "FIND: blob[d] = btf_find_by_name_kind(&blob[a], b, c, 0), 8 bytes (KSYM: kallsyms)",
        );
        self.field_ptr(R1, at::A, self.limit(max));
        self.size_operand(R2, at::B, R4);
        self.b.jump_if(true, BPF_JEQ, R2, 0, self.bad);
        self.b.jump_if(true, BPF_JGT, R2, max, self.bad);
        self.b.load(Size::B, R3, cb::OP, at::FLAGS);
        self.b
            .jump_if(true, BPF_JSET, R3, i32::from(flag::KSYM), ksym);
        self.b.load(Size::W, R3, cb::OP, at::C);
        self.b.mov_imm(R4, 0);
        self.b.call(abi::FUNC_BTF_FIND_BY_NAME_KIND);
        self.b.goto_long(called);
        self.b.bind(ksym);
        // The result pointer must be 8-byte aligned (the helper's MEM_ALIGNED argument): the
        // table places the word so (blob pieces are 8-byte aligned), the mask proves it.
        self.b.load(Size::W, R4, cb::OP, at::D);
        self.b.and_imm(R4, -8);
        self.b.jump_if(true, BPF_JGT, R4, self.limit(8), self.bad);
        self.b.add_reg(R4, cb::BASE);
        self.b.mov_imm(R3, 0);
        self.b.call(abi::FUNC_KALLSYMS_LOOKUP_NAME);
        // Both calls leave the same registers (r1-r5 clobbered, r0 unknown): one state here.
        self.b.bind(called);
        self.keep_ret();
        self.flags();
        self.b.jump_if(true, BPF_JSGE, R0, 0, found);
        // Only "not found" means a weak symbol is absent; any other error is a failure.
        self.b.and_imm(R1, i32::from(flag::SOFT));
        self.b.jump_if(true, BPF_JEQ, R1, 0, self.fail);
        self.b.jump_if(true, BPF_JEQ, R0, -ENOENT, self.next);
        self.b.goto_long(self.fail);
        self.b.bind(found);
        self.b
            .jump_if(true, BPF_JSET, R1, i32::from(flag::KSYM), self.next);
        self.field_ptr(R1, at::D, self.limit(8));
        self.b.store(Size::DW, R1, 0, R0);
        self.b.goto_long(self.next);
    }
}
