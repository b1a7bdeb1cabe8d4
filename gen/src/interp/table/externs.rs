//! Kernel symbols as ops: each extern is looked up with a FIND (kernel BTF, or kallsyms for
//! a typeless ksym) into a scratch word, and the instructions that use it are patched in
//! the blob from there, as the straight-line loader does (`loader/externs.rs`).
//!
//! A patch writes whole aligned words: the first word of an instruction (code, registers,
//! off) is known when generating except for what the lookup decides, so it is stored as a
//! constant; the immediates are copied from the lookup's result.

use super::super::ops::{cond, flag, kind, Op};
use super::Table;
use crate::abi::insn;
use crate::externs::ExternKind;
use crate::loader::blob::BlobOff;
use crate::reloc::SiteKind;

impl Table<'_> {
    /// Resolves extern `k` and patches every instruction that uses it; `slot` is the
    /// `fd_array` slot of its module BTF fd (kernel-BTF externs). A weak extern that is
    /// absent leaves the instructions as emitted.
    pub fn resolve_extern(&mut self, k: usize, slot: Option<usize>) {
        let ext = &self.plan.externs.list[k];
        let (name_len, weak) = (ext.name.len() + 1, ext.weak);
        let (btf_kind, what) = match ext.kind {
            ExternKind::Kfunc => (crate::btf::kind::FUNC, "kernel function"),
            ExternKind::TypedKsym { btf_kind } => (btf_kind, "kernel variable"),
            ExternKind::TypelessKsym => (0, ""),
            ExternKind::Kconfig { .. } => return,
        };
        let what = if btf_kind == 0 {
            format!("find kernel symbol `{}` in kallsyms", ext.name)
        } else {
            format!("find {what} `{}` in kernel BTF", ext.name)
        };
        let sites: Vec<(usize, usize, SiteKind)> = (self.plan.programs.iter().enumerate())
            .flat_map(|(j, p)| {
                (p.linked.extern_sites.iter())
                    .filter(|s| s.ext == k)
                    .map(move |s| (j, s.insn, s.kind))
            })
            .collect();
        let mut name = ext.name.as_bytes().to_vec();
        name.push(0);
        let name = self
            .blob
            .push(&name, format!("name of extern `{}`", ext.name));
        let found = self.found_word();
        let mut op = Op::new(kind::FIND);
        op.a = name.0;
        op.b = name_len as u32;
        op.c = btf_kind;
        op.d = found.0;
        if btf_kind == 0 {
            op.flags |= flag::KSYM;
        }
        if weak {
            op.flags |= flag::SOFT;
        }
        op.step = self.step(what);
        self.push(op);
        let done = self.label();
        if weak {
            let ret = self.state.at(crate::interp::emit::state::RET).0;
            self.jump(cond::SLT, ret, u32::MAX, 0, done);
        }
        let (id, hi) = (found.0, found.at(4).0);
        if let Some(slot) = slot {
            self.copy(hi, self.fd_array.at(4 * slot).0, false);
        }
        for (j, n, site_kind) in sites {
            let at = self.prog_insns[j].at(insn::SIZE * n);
            let code = &self.plan.programs[j].linked.insns[insn::SIZE * n..];
            match (site_kind, slot) {
                (SiteKind::KfuncCall, Some(slot)) => {
                    // off = the fd_array slot of the module's BTF, 0 for vmlinux.
                    let (vmlinux, next) = (self.label(), self.label());
                    self.jump(cond::EQ, hi, u32::MAX, 0, vmlinux);
                    self.store(at.0, first_word(code, None, slot as u16));
                    self.goto(next);
                    self.bind(vmlinux);
                    self.store(at.0, first_word(code, None, 0));
                    self.bind(next);
                    self.copy(id, at.at(insn::IMM).0, false);
                }
                (SiteKind::Address, _) => {
                    self.copy(id, at.at(insn::IMM).0, false);
                    self.copy(hi, at.at(insn::IMM_HI).0, false);
                }
                // An ld_imm64 of the variable: (BTF id, module fd) as BPF_PSEUDO_BTF_ID.
                _ => {
                    let off = u16::from_le_bytes([code[insn::OFF], code[insn::OFF + 1]]);
                    self.store(
                        at.0,
                        first_word(code, Some(crate::abi::BPF_PSEUDO_BTF_ID), off),
                    );
                    self.copy(id, at.at(insn::IMM).0, false);
                    self.copy(hi, at.at(insn::IMM_HI).0, false);
                }
            }
        }
        self.bind(done);
    }

    /// The 8-byte word every lookup writes its result to (reserved once).
    pub(super) fn found_word(&mut self) -> BlobOff {
        match self.found {
            Some(w) => w,
            None => {
                let w = self
                    .blob
                    .reserve(8, "result of the last kernel symbol lookup");
                self.found = Some(w);
                w
            }
        }
    }

    /// Closes the module BTF fds of kernel symbols (after the last program load, and in the
    /// cleanup) and zeroes their slots.
    pub fn close_extern_fds(&mut self) {
        for slot in self.ext_slots.clone() {
            self.close(self.fd_array.at(4 * slot).0);
        }
    }
}

/// The first word of the instruction `code` starts with (code, registers, off), with
/// `src_reg` replaced when `src` is given and `off` set.
fn first_word(code: &[u8], src: Option<u8>, off: u16) -> u32 {
    let regs = match src {
        Some(src) => insn::regs(insn::dst_reg(code[insn::REGS]), src),
        None => code[insn::REGS],
    };
    u32::from(code[insn::CODE]) | u32::from(regs) << 8 | u32::from(off) << 16
}
