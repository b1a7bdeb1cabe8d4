//! Writes into an instruction of a program in the blob, at run time: how extern resolution
//! puts a kernel address, BTF id or module slot into the code before the program loads. Each
//! helper expects r1 = the instruction's blob address and writes one named field.

use super::*;
use crate::abi::insn;

impl Gen<'_> {
    /// `insn.imm = reg` (32 bits).
    pub(super) fn patch_imm(&mut self, reg: u8) {
        self.b.store(Size::W, R1, insn::IMM, reg);
    }

    /// The 64-bit value of an `ld_imm64`: its low half from `lo`, its high half from `hi`.
    pub(super) fn patch_imm64(&mut self, lo: u8, hi: u8) {
        self.patch_imm(lo);
        self.b.store(Size::W, R1, insn::IMM_HI, hi);
    }

    /// `insn.off = reg` (16 bits): a kfunc call's `fd_array` slot.
    pub(super) fn patch_off(&mut self, reg: u8) {
        self.b.store(Size::H, R1, insn::OFF, reg);
    }

    /// `insn.src_reg = src` with the instruction's `dst` (known when generating) kept.
    pub(super) fn patch_src_reg(&mut self, src: u8, dst: u8) {
        self.b
            .store_imm(Size::B, R1, insn::REGS, i32::from(insn::regs(dst, src)));
    }

    /// The `dst_reg` of the instruction at blob offset `site`, from the generator's copy of
    /// the code.
    pub(super) fn insn_dst(&self, site: BlobOff) -> u8 {
        for (j, off) in self.prog_insns.iter().enumerate() {
            let code = &self.plan.programs[j].linked.insns;
            if site.0 >= off.0 && ((site.0 - off.0) as usize) < code.len() {
                return insn::dst_reg(code[(site.0 - off.0) as usize + insn::REGS]);
            }
        }
        0
    }
}
