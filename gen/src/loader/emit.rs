//! Instruction-level building blocks of the loader program: encoders for the few
//! instruction forms it uses, labels resolved at the end (no hand-counted jumps), and
//! notes that name each step for the disassembly.

use std::collections::BTreeMap;

use crate::abi::*;
use crate::error::{Error, Result};
use crate::loader::blob::BlobOff;

/// Register roles, fixed for the whole loader.
pub mod reg {
    /// Return value of helper calls.
    pub const R0: u8 = 0;
    /// First helper argument.
    pub const R1: u8 = 1;
    /// Second helper argument.
    pub const R2: u8 = 2;
    /// Third helper argument.
    pub const R3: u8 = 3;
    /// Fourth helper argument.
    pub const R4: u8 = 4;
    /// The ctx pointer, for the whole program.
    pub const CTX: u8 = 6;
    /// Result of the last syscall step (errno source for cleanup).
    pub const RET: u8 = 7;
    /// Scratch kept across helper calls (a resolved BTF id or address).
    pub const R8: u8 = 8;
    /// Scratch kept across helper calls (a resolved BTF fd or address high half).
    pub const R9: u8 = 9;
}

/// Access sizes.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// 1 byte
    B,
    /// 2 bytes
    H,
    /// 4 bytes
    W,
    /// 8 bytes
    DW,
}

impl Size {
    fn bits(self) -> u8 {
        match self {
            Size::B => 0x10,
            Size::H => 0x08,
            Size::W => BPF_W,
            Size::DW => BPF_DW,
        }
    }
}

/// A jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum JumpKind {
    /// 16-bit `off` field.
    Short,
    /// `gotol`: 32-bit `imm` field.
    Long,
}

/// The instruction stream under construction.
#[derive(Debug, Default)]
pub struct Builder {
    insns: Vec<[u8; 8]>,
    labels: Vec<Option<usize>>,
    jumps: Vec<(usize, Label, JumpKind)>,
    notes: BTreeMap<usize, String>,
}

fn encode(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (src << 4) | (dst & 0x0f);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

impl Builder {
    /// Current instruction index.
    pub fn pos(&self) -> usize {
        self.insns.len()
    }

    /// Names the step that starts here, for the disassembly.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.notes
            .entry(self.pos())
            .and_modify(|n| {
                n.push('\n');
                n.push_str(&text);
            })
            .or_insert(text);
    }

    fn raw(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(encode(code, dst, src, off, imm));
    }

    /// `dst = src` (64-bit)
    pub fn mov_reg(&mut self, dst: u8, src: u8) {
        self.raw(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
    }

    /// `dst = imm` (64-bit, sign-extended)
    pub fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.raw(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
    }

    /// `dst >>= imm` (64-bit logical)
    pub fn rsh_imm(&mut self, dst: u8, imm: i32) {
        self.raw(BPF_ALU64 | 0x70 | BPF_K, dst, 0, 0, imm);
    }

    /// `dst &= imm` (64-bit)
    pub fn and_imm(&mut self, dst: u8, imm: i32) {
        self.raw(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
    }

    /// `dst += src` (64-bit)
    pub fn add_reg(&mut self, dst: u8, src: u8) {
        self.raw(BPF_ALU64 | BPF_ADD | BPF_X, dst, src, 0, 0);
    }

    /// `dst = *(size *)(src + off)`
    pub fn load(&mut self, size: Size, dst: u8, src: u8, off: usize) {
        self.raw(BPF_LDX | BPF_MEM | size.bits(), dst, src, off as i16, 0);
    }

    /// `*(size *)(dst + off) = src`
    pub fn store(&mut self, size: Size, dst: u8, off: usize, src: u8) {
        self.raw(BPF_STX | BPF_MEM | size.bits(), dst, src, off as i16, 0);
    }

    /// `*(size *)(dst + off) = imm`
    pub fn store_imm(&mut self, size: Size, dst: u8, off: usize, imm: i32) {
        self.raw(BPF_ST | BPF_MEM | size.bits(), dst, 0, off as i16, imm);
    }

    /// `dst = &blob[off]`: a `ld_imm64` of the loader map's value address (the loader map
    /// is `fd_array[0]` of the loader program).
    pub fn blob_addr(&mut self, dst: u8, off: BlobOff) {
        self.raw(LD_IMM64, dst, BPF_PSEUDO_MAP_IDX_VALUE, 0, 0);
        self.raw(0, 0, 0, 0, off.0 as i32);
    }

    /// `call helper`
    pub fn call(&mut self, helper: i32) {
        self.raw(CALL, 0, 0, 0, helper);
    }

    /// `exit`
    pub fn exit(&mut self) {
        self.raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }

    /// A new, not yet placed label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the current position.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.pos());
    }

    /// `if dst <op> imm goto label` (64-bit compare when `wide`, else 32-bit).
    pub fn jump_if(&mut self, wide: bool, op: u8, dst: u8, imm: i32, label: Label) {
        let class = if wide { BPF_JMP } else { BPF_JMP32 };
        self.jumps.push((self.pos(), label, JumpKind::Short));
        self.raw(class | op | BPF_K, dst, 0, 0, imm);
    }

    /// `gotol label`: an unconditional jump with a 32-bit offset, so no loader is ever
    /// too large for its error branches.
    pub fn goto_long(&mut self, label: Label) {
        self.jumps.push((self.pos(), label, JumpKind::Long));
        self.raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 0);
    }

    /// Resolves jumps; returns the instruction bytes and the notes.
    pub fn finish(mut self) -> Result<(Vec<u8>, BTreeMap<usize, String>)> {
        for &(site, label, kind) in &self.jumps {
            let target = self.labels[label.0].ok_or_else(|| Error::Limit {
                what: "internal: jump to an unplaced label".into(),
            })?;
            let rel = target as i64 - site as i64 - 1;
            let insn = &mut self.insns[site];
            match kind {
                JumpKind::Short => {
                    let off = i16::try_from(rel).map_err(|_| Error::Limit {
                        what: format!("loader jump of {rel} instructions does not fit 16 bits"),
                    })?;
                    insn[2..4].copy_from_slice(&off.to_le_bytes());
                }
                JumpKind::Long => {
                    let imm = i32::try_from(rel).map_err(|_| Error::Limit {
                        what: format!("loader jump of {rel} instructions does not fit 32 bits"),
                    })?;
                    insn[4..8].copy_from_slice(&imm.to_le_bytes());
                }
            }
        }
        Ok((self.insns.concat(), self.notes))
    }
}
