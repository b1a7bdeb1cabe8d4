//! `struct bpf_insn`: its encoding and the opcode parts (`linux/bpf_common.h`, `linux/bpf.h`),
//! under their C names since they are combined as in C (`BPF_ALU64 | BPF_MOV | BPF_K`).

c_values! { u8;
    // Classes (low 3 bits of `code`).
    "BPF_LD" => BPF_LD = 0x00;
    "BPF_LDX" => BPF_LDX = 0x01;
    "BPF_ST" => BPF_ST = 0x02;
    "BPF_STX" => BPF_STX = 0x03;
    "BPF_ALU" => BPF_ALU = 0x04;
    "BPF_JMP" => BPF_JMP = 0x05;
    "BPF_JMP32" => BPF_JMP32 = 0x06;
    "BPF_ALU64" => BPF_ALU64 = 0x07;
    /// Bits of `code` that hold the class.
    "BPF_CLASS(0xff)" => CLASS_MASK = 0x07;

    // Sizes of loads and stores.
    "BPF_W" => BPF_W = 0x00;
    "BPF_H" => BPF_H = 0x08;
    "BPF_B" => BPF_B = 0x10;
    "BPF_DW" => BPF_DW = 0x18;
    /// Bits of `code` that hold the size.
    "BPF_SIZE(0xff)" => SIZE_MASK = 0x18;

    // Modes of loads and stores.
    "BPF_IMM" => BPF_IMM = 0x00;
    "BPF_ABS" => BPF_ABS = 0x20;
    "BPF_IND" => BPF_IND = 0x40;
    "BPF_MEM" => BPF_MEM = 0x60;
    "BPF_MEMSX" => BPF_MEMSX = 0x80;
    "BPF_ATOMIC" => BPF_ATOMIC = 0xc0;
    /// Bits of `code` that hold the mode.
    "BPF_MODE(0xff)" => MODE_MASK = 0xe0;

    // Operand source of ALU and jumps.
    /// The operand is `imm`.
    "BPF_K" => BPF_K = 0x00;
    /// The operand is `src_reg`.
    "BPF_X" => BPF_X = 0x08;
    /// Bit of `code` that holds the source.
    "BPF_SRC(0xff)" => SRC_MASK = 0x08;

    // ALU operations.
    "BPF_ADD" => BPF_ADD = 0x00;
    "BPF_SUB" => BPF_SUB = 0x10;
    "BPF_MUL" => BPF_MUL = 0x20;
    "BPF_DIV" => BPF_DIV = 0x30;
    "BPF_OR" => BPF_OR = 0x40;
    "BPF_AND" => BPF_AND = 0x50;
    "BPF_LSH" => BPF_LSH = 0x60;
    "BPF_RSH" => BPF_RSH = 0x70;
    "BPF_NEG" => BPF_NEG = 0x80;
    "BPF_MOD" => BPF_MOD = 0x90;
    "BPF_XOR" => BPF_XOR = 0xa0;
    "BPF_MOV" => BPF_MOV = 0xb0;
    "BPF_ARSH" => BPF_ARSH = 0xc0;
    "BPF_END" => BPF_END = 0xd0;
    /// Bits of `code` that hold the ALU or jump operation.
    "BPF_OP(0xff)" => OP_MASK = 0xf0;

    // Jump operations.
    "BPF_JA" => BPF_JA = 0x00;
    "BPF_JEQ" => BPF_JEQ = 0x10;
    "BPF_JGT" => BPF_JGT = 0x20;
    "BPF_JGE" => BPF_JGE = 0x30;
    "BPF_JSET" => BPF_JSET = 0x40;
    "BPF_JNE" => BPF_JNE = 0x50;
    "BPF_JSGT" => BPF_JSGT = 0x60;
    "BPF_JSGE" => BPF_JSGE = 0x70;
    "BPF_CALL" => BPF_CALL = 0x80;
    "BPF_EXIT" => BPF_EXIT = 0x90;
    "BPF_JLT" => BPF_JLT = 0xa0;
    "BPF_JLE" => BPF_JLE = 0xb0;
    "BPF_JSLT" => BPF_JSLT = 0xc0;
    "BPF_JSLE" => BPF_JSLE = 0xd0;
    /// `may_goto`.
    "BPF_JCOND" => BPF_JCOND = 0xe0;

    /// Opcode of `ld_imm64`.
    "BPF_LD | BPF_IMM | BPF_DW" => LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;
    /// Opcode of a call.
    "BPF_JMP | BPF_CALL" => CALL = BPF_JMP | BPF_CALL;
}

/// `imm` values of `BPF_ATOMIC` operations.
pub mod atomic {
    c_values! { i32;
        /// Also return the old value.
        "BPF_FETCH" => BPF_FETCH = 0x01;
        "BPF_XCHG" => BPF_XCHG = 0xe0 | BPF_FETCH;
        "BPF_CMPXCHG" => BPF_CMPXCHG = 0xf0 | BPF_FETCH;
        "BPF_LOAD_ACQ" => BPF_LOAD_ACQ = 0x100;
        "BPF_STORE_REL" => BPF_STORE_REL = 0x110;
    }
}

/// `src_reg` values that give an instruction a special meaning.
pub mod pseudo {
    c_values! { u8;
        /// `ld_imm64`: imm is a map fd.
        "BPF_PSEUDO_MAP_FD" => BPF_PSEUDO_MAP_FD = 1;
        /// `ld_imm64`: a map value's address, imm = map fd, second imm = offset.
        "BPF_PSEUDO_MAP_VALUE" => BPF_PSEUDO_MAP_VALUE = 2;
        /// `ld_imm64` of a kernel variable or function by BTF id.
        "BPF_PSEUDO_BTF_ID" => BPF_PSEUDO_BTF_ID = 3;
        /// `ld_imm64` of a subprogram address (callbacks).
        "BPF_PSEUDO_FUNC" => BPF_PSEUDO_FUNC = 4;
        /// `ld_imm64` of a map, imm = index into `fd_array`.
        "BPF_PSEUDO_MAP_IDX" => BPF_PSEUDO_MAP_IDX = 5;
        /// `ld_imm64` of a map value address, imm = `fd_array` index.
        "BPF_PSEUDO_MAP_IDX_VALUE" => BPF_PSEUDO_MAP_IDX_VALUE = 6;
        /// A call: a bpf-to-bpf call, imm = pc-relative target.
        "BPF_PSEUDO_CALL" => BPF_PSEUDO_CALL = 1;
        /// A call of a kernel function by BTF id.
        "BPF_PSEUDO_KFUNC_CALL" => BPF_PSEUDO_KFUNC_CALL = 2;
    }
}

c_values! { table LAYOUT_C_VALUES; usize;
    "sizeof(struct bpf_insn)" => INSN_SIZE = 8;
    /// Byte offset of `off` in an encoded instruction.
    "offsetof(struct bpf_insn, off)" => OFF_AT = 2;
    /// Byte offset of `imm` in an encoded instruction.
    "offsetof(struct bpf_insn, imm)" => IMM_AT = 4;
}

c_values! { table OFF_C_VALUES; i16;
    /// `off` of `BPF_ALU64 | BPF_MOV | BPF_X` that makes it an address-space cast (arena).
    "BPF_ADDR_SPACE_CAST" => BPF_ADDR_SPACE_CAST = 1;
}

/// The class of opcode `code` (`BPF_CLASS`).
pub const fn class(code: u8) -> u8 {
    code & CLASS_MASK
}
/// The size of load/store opcode `code` (`BPF_SIZE`).
pub const fn size(code: u8) -> u8 {
    code & SIZE_MASK
}
/// The mode of load/store opcode `code` (`BPF_MODE`).
pub const fn mode(code: u8) -> u8 {
    code & MODE_MASK
}
/// The operation of ALU or jump opcode `code` (`BPF_OP`).
pub const fn op(code: u8) -> u8 {
    code & OP_MASK
}
/// The operand source of ALU or jump opcode `code` (`BPF_SRC`).
pub const fn src(code: u8) -> u8 {
    code & SRC_MASK
}
/// Bytes moved by a load or store of size `size` ([`BPF_W`], …).
pub const fn size_bytes(size: u8) -> u32 {
    match size & SIZE_MASK {
        BPF_W => 4,
        BPF_H => 2,
        BPF_B => 1,
        _ => 8,
    }
}

/// The symbol of an ALU operation with two operands as the kernel's disassembler writes it
/// (`+=` for [`BPF_ADD`]); `None` for the others ([`BPF_NEG`], [`BPF_END`], unknown).
pub const fn alu_symbol(op: u8) -> Option<&'static str> {
    Some(match op {
        BPF_ADD => "+=",
        BPF_SUB => "-=",
        BPF_MUL => "*=",
        BPF_DIV => "/=",
        BPF_OR => "|=",
        BPF_AND => "&=",
        BPF_LSH => "<<=",
        BPF_RSH => ">>=",
        BPF_MOD => "%=",
        BPF_XOR => "^=",
        BPF_MOV => "=",
        BPF_ARSH => "s>>=",
        _ => return None,
    })
}

/// The comparison of a conditional jump as the kernel's disassembler writes it (`==` for
/// [`BPF_JEQ`]); `None` for the other jump operations.
pub const fn jmp_symbol(op: u8) -> Option<&'static str> {
    Some(match op {
        BPF_JEQ => "==",
        BPF_JGT => ">",
        BPF_JGE => ">=",
        BPF_JSET => "&",
        BPF_JNE => "!=",
        BPF_JSGT => "s>",
        BPF_JSGE => "s>=",
        BPF_JLT => "<",
        BPF_JLE => "<=",
        BPF_JSLT => "s<",
        BPF_JSLE => "s<=",
        _ => return None,
    })
}

/// One decoded `struct bpf_insn` (the registers split out of their shared byte).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register.
    pub dst: u8,
    /// Source register (or pseudo kind).
    pub src: u8,
    /// Offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

impl Insn {
    /// Decodes one little-endian `struct bpf_insn`: code, regs byte (dst low nibble, src high
    /// nibble), off, imm.
    pub const fn from_bytes(b: [u8; INSN_SIZE]) -> Insn {
        Insn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes back to the little-endian layout (`dst`/`src` are truncated to 4 bits).
    pub const fn to_bytes(self) -> [u8; INSN_SIZE] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }
}

/// Encodes one instruction (little-endian, `dst` truncated to 4 bits).
pub const fn encode(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; INSN_SIZE] {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
    .to_bytes()
}

/// Byte offsets of the fields of an encoded `struct bpf_insn` (8 bytes: `u8 code`,
/// `u8 dst_reg:4, src_reg:4`, `s16 off`, `s32 imm`), for patching one in place; an `ld_imm64`
/// takes two, the upper half of its value in the second's `imm`.
pub mod field {
    use super::INSN_SIZE;

    /// `code`
    pub const CODE: usize = 0;
    /// The register byte: `dst_reg` in the low nibble, `src_reg` in the high one.
    pub const REGS: usize = 1;
    /// `off`
    pub const OFF: usize = 2;
    /// `imm`
    pub const IMM: usize = 4;
    /// Size of one instruction.
    pub const SIZE: usize = INSN_SIZE;
    /// `imm` of an `ld_imm64`'s second instruction: the upper 32 bits of its value.
    pub const IMM_HI: usize = SIZE + IMM;

    /// The register byte of `dst` and `src`.
    pub const fn regs(dst: u8, src: u8) -> u8 {
        (src << 4) | (dst & 0x0f)
    }

    /// `dst_reg` of a register byte.
    pub const fn dst_reg(regs: u8) -> u8 {
        regs & 0x0f
    }
}
