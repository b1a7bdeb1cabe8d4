//! Helpers shared by the kernel tests: the kernel gate and a tiny BPF assembler.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

/// Whether the bpf syscall is usable. Panics when it is not and `LSKEL_REQUIRE_KERNEL=1`; otherwise prints
/// why the test is skipped and returns false.
pub fn require_kernel() -> bool {
    match lskel::probe_kernel() {
        Ok(()) => true,
        Err(e) => {
            if std::env::var_os("LSKEL_REQUIRE_KERNEL").is_some_and(|v| v == "1") {
                panic!("LSKEL_REQUIRE_KERNEL=1 but the bpf syscall is unusable: {e}");
            }
            eprintln!("skipping: the bpf syscall is unusable: {e}");
            false
        }
    }
}

/// Serializes tests that count kernel objects.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R4: u8 = 4;
pub const R10: u8 = 10;

/// `BPF_PSEUDO_MAP_FD`
pub const PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_MAP_IDX`
pub const PSEUDO_MAP_IDX: u8 = 5;
/// `BPF_PSEUDO_MAP_IDX_VALUE`
pub const PSEUDO_MAP_IDX_VALUE: u8 = 6;

/// A BPF program under construction, as raw `struct bpf_insn` bytes.
#[derive(Default)]
pub struct Asm(pub Vec<u8>);

impl Asm {
    pub fn new() -> Self {
        Asm(Vec::new())
    }

    pub fn insn(mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        self.0.push(code);
        self.0.push(dst | (src << 4));
        self.0.extend_from_slice(&off.to_le_bytes());
        self.0.extend_from_slice(&imm.to_le_bytes());
        self
    }

    /// `dst = imm` (64-bit)
    pub fn mov64_imm(self, dst: u8, imm: i32) -> Self {
        self.insn(0xb7, dst, 0, 0, imm)
    }
    /// `dst = src` (64-bit)
    pub fn mov64_reg(self, dst: u8, src: u8) -> Self {
        self.insn(0xbf, dst, src, 0, 0)
    }
    /// `dst += imm` (64-bit)
    pub fn add64_imm(self, dst: u8, imm: i32) -> Self {
        self.insn(0x07, dst, 0, 0, imm)
    }
    /// `dst = *(u32 *)(src + off)`
    pub fn ldx_w(self, dst: u8, src: u8, off: i16) -> Self {
        self.insn(0x61, dst, src, off, 0)
    }
    /// `dst = *(u64 *)(src + off)`
    pub fn ldx_dw(self, dst: u8, src: u8, off: i16) -> Self {
        self.insn(0x79, dst, src, off, 0)
    }
    /// `*(u32 *)(dst + off) = src`
    pub fn stx_w(self, dst: u8, src: u8, off: i16) -> Self {
        self.insn(0x63, dst, src, off, 0)
    }
    /// `*(u64 *)(dst + off) = src`
    pub fn stx_dw(self, dst: u8, src: u8, off: i16) -> Self {
        self.insn(0x7b, dst, src, off, 0)
    }
    /// `dst = imm64`, with `src` as the pseudo kind (`BPF_PSEUDO_*`) and `imm2` as the second half.
    pub fn ld_imm64(self, dst: u8, src: u8, imm: i32, imm2: i32) -> Self {
        self.insn(0x18, dst, src, 0, imm).insn(0, 0, 0, 0, imm2)
    }
    /// `call helper`
    pub fn call(self, helper: i32) -> Self {
        self.insn(0x85, 0, 0, 0, helper)
    }
    /// `exit`
    pub fn exit(self) -> Self {
        self.insn(0x95, 0, 0, 0, 0)
    }
    /// `r0 = imm; exit`
    pub fn ret(self, imm: i32) -> Self {
        self.mov64_imm(R0, imm).exit()
    }
}
