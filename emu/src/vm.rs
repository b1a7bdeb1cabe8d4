//! The eBPF interpreter.

use crate::kernel::MockKernel;
use crate::mem::{
    Fault, Memory, RegionKind, BLOB_BASE, MAP_BASE, STACK_BASE, STACK_SIZE, STACK_STRIDE,
};
use crate::{Error, ErrorKind};

use lskel_abi::insn::atomic::{BPF_CMPXCHG, BPF_FETCH, BPF_LOAD_ACQ, BPF_STORE_REL, BPF_XCHG};
use lskel_abi::insn::*;

/// Deepest bpf-to-bpf call nesting the verifier allows.
mod bpf_loop;

const MAX_CALL_DEPTH: usize = 8;

pub(crate) use lskel_abi::insn::Insn;

pub(crate) fn decode(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|b| Insn::from_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

/// Helper arguments r1..r5 with their initialisation state.
pub(crate) struct Args {
    vals: [u64; 5],
    init: [bool; 5],
    pc: usize,
}

/// One ALU binary operation at one width: `$u`/`$s` are the unsigned and
/// signed types of that width and `$mask` keeps shift counts in range.
/// `None` for an opcode that is not a binary ALU operation.
macro_rules! alu_binop {
    ($u:ty, $s:ty, $mask:expr, $op:expr, $signed:expr, $a:expr, $b:expr) => {{
        let (a, b): ($u, $u) = ($a, $b);
        let signed: bool = $signed;
        match $op {
            BPF_ADD => Some(a.wrapping_add(b)),
            BPF_SUB => Some(a.wrapping_sub(b)),
            BPF_MUL => Some(a.wrapping_mul(b)),
            BPF_DIV if b == 0 => Some(0),
            BPF_DIV if signed => Some((a as $s).wrapping_div(b as $s) as $u),
            BPF_DIV => Some(a / b),
            BPF_MOD if b == 0 => Some(a),
            BPF_MOD if signed => Some((a as $s).wrapping_rem(b as $s) as $u),
            BPF_MOD => Some(a % b),
            BPF_OR => Some(a | b),
            BPF_AND => Some(a & b),
            BPF_XOR => Some(a ^ b),
            BPF_LSH => Some(a << (b & $mask)),
            BPF_RSH => Some(a >> (b & $mask)),
            BPF_ARSH => Some(((a as $s) >> (b & $mask)) as $u),
            _ => None,
        }
    }};
}

impl Args {
    /// Argument `n` (1-based, as the register number).
    pub fn get(&self, n: usize) -> Result<u64, Error> {
        if self.init[n - 1] {
            Ok(self.vals[n - 1])
        } else {
            Err(Error::at(
                self.pc,
                ErrorKind::Register,
                format!("helper argument r{n} is not initialized"),
            ))
        }
    }
}

struct Frame {
    ret_pc: usize,
    saved: [u64; 5],
    saved_init: [bool; 5],
}

pub(crate) struct Vm {
    insns: Vec<Insn>,
    second_half: Vec<bool>,
    regs: [u64; 11],
    init: [bool; 11],
    pub mem: Memory,
    frames: Vec<Frame>,
    blob_len: u64,
    pub executed: u64,
    /// The run's instruction budget (callbacks of `bpf_loop` share it).
    limit: u64,
}

fn fault(pc: usize, what: &str, f: Fault, mem: &Memory) -> Error {
    Error::at(
        pc,
        ErrorKind::Memory,
        format!("{what} at {}: {}", mem.describe(f.addr), f.why),
    )
}

fn size_of(code: u8) -> u64 {
    size_bytes(code).into()
}

fn sext(v: u64, bytes: u64) -> u64 {
    match bytes {
        1 => v as u8 as i8 as i64 as u64,
        2 => v as u16 as i16 as i64 as u64,
        4 => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

fn trunc(v: u64, bytes: u64) -> u64 {
    if bytes >= 8 {
        v
    } else {
        v & ((1u64 << (bytes * 8)) - 1)
    }
}

impl Vm {
    pub fn new(insns: &[u8], mem: Memory) -> Result<Vm, Error> {
        if insns.is_empty() || insns.len() % 8 != 0 {
            return Err(Error::setup(format!(
                "loader insns are {} bytes, not a non-zero multiple of 8",
                insns.len()
            )));
        }
        let insns = decode(insns);
        let mut second_half = vec![false; insns.len()];
        let mut i = 0;
        while i < insns.len() {
            if insns[i].code == LD_IMM64 {
                if i + 1 >= insns.len() {
                    return Err(Error::at(
                        i,
                        ErrorKind::Insn,
                        "ld_imm64 without its second half",
                    ));
                }
                let n = insns[i + 1];
                if n.code != 0 || n.dst != 0 || n.src != 0 || n.off != 0 {
                    return Err(Error::at(
                        i,
                        ErrorKind::Insn,
                        "ld_imm64 second half has non-zero code/regs/off",
                    ));
                }
                second_half[i + 1] = true;
                i += 2;
            } else {
                i += 1;
            }
        }
        let blob_len = mem
            .region(RegionKind::Blob)
            .map_or(0, |r| r.bytes.len() as u64);
        let mut vm = Vm {
            insns,
            second_half,
            regs: [0; 11],
            init: [false; 11],
            mem,
            frames: Vec::new(),
            blob_len,
            executed: 0,
            limit: 0,
        };
        vm.ensure_stack(0);
        vm.regs[10] = STACK_BASE + STACK_SIZE as u64;
        vm.init[10] = true;
        Ok(vm)
    }

    fn ensure_stack(&mut self, depth: usize) {
        let kind = RegionKind::Stack(depth);
        match self.mem.region_mut(kind) {
            Some(r) => r.bytes.iter_mut().for_each(|b| *b = 0),
            None => self.mem.add(
                kind,
                STACK_BASE + depth as u64 * STACK_STRIDE,
                vec![0; STACK_SIZE],
            ),
        }
    }

    pub fn set_reg(&mut self, r: usize, v: u64) {
        self.regs[r] = v;
        self.init[r] = true;
    }

    fn get(&self, pc: usize, r: u8) -> Result<u64, Error> {
        let r = usize::from(r);
        if r > 10 {
            return Err(Error::at(
                pc,
                ErrorKind::Insn,
                format!("register r{r} does not exist"),
            ));
        }
        if !self.init[r] {
            return Err(Error::at(
                pc,
                ErrorKind::Register,
                format!("reads r{r}, which is not initialized (helper calls clobber r1-r5)"),
            ));
        }
        Ok(self.regs[r])
    }

    fn put(&mut self, pc: usize, r: u8, v: u64) -> Result<(), Error> {
        let r = usize::from(r);
        if r >= 10 {
            return Err(Error::at(
                pc,
                ErrorKind::Insn,
                format!("writes r{r}, which is read-only or does not exist"),
            ));
        }
        self.regs[r] = v;
        self.init[r] = true;
        Ok(())
    }

    fn bad(pc: usize, i: &Insn) -> Error {
        Error::at(
            pc,
            ErrorKind::Insn,
            format!(
                "invalid instruction code={:#04x} dst=r{} src=r{} off={} imm={}",
                i.code, i.dst, i.src, i.off, i.imm
            ),
        )
    }

    /// Runs to the final `exit`; returns r0.
    pub fn run(&mut self, k: &mut MockKernel, limit: u64) -> Result<u64, Error> {
        self.limit = limit;
        self.exec(k, 0)
    }

    /// Runs from `pc` until the final `exit`, or until a `bpf_loop` callback entered at `pc`
    /// returns; gives r0.
    fn exec(&mut self, k: &mut MockKernel, mut pc: usize) -> Result<u64, Error> {
        let limit = self.limit;
        loop {
            if self.executed >= limit {
                return Err(Error::at(
                    pc,
                    ErrorKind::Limit,
                    format!("instruction limit of {limit} reached (a loop?)"),
                ));
            }
            self.executed += 1;
            if pc >= self.insns.len() {
                return Err(Error::at(
                    pc,
                    ErrorKind::Insn,
                    format!("execution falls off the end ({} insns)", self.insns.len()),
                ));
            }
            if self.second_half[pc] {
                return Err(Error::at(
                    pc,
                    ErrorKind::Insn,
                    "jumps into the second half of an ld_imm64",
                ));
            }
            let i = self.insns[pc];
            match class(i.code) {
                BPF_ALU | BPF_ALU64 => {
                    self.alu(pc, &i)?;
                    pc += 1;
                }
                BPF_JMP | BPF_JMP32 => match self.jmp(pc, &i, k)? {
                    Some(bpf_loop::LOOP_RETURN) => return Ok(self.regs[0]),
                    Some(next) => pc = next,
                    None => return self.get(pc, 0),
                },
                BPF_LD => {
                    self.ld(pc, &i)?;
                    pc += 2;
                }
                BPF_LDX => {
                    self.ldx(pc, &i)?;
                    pc += 1;
                }
                BPF_ST | BPF_STX => {
                    self.st(pc, &i)?;
                    pc += 1;
                }
                _ => unreachable!(),
            }
        }
    }

    fn alu(&mut self, pc: usize, i: &Insn) -> Result<(), Error> {
        let is64 = class(i.code) == BPF_ALU64;
        let op = op(i.code);
        let x = src(i.code) == BPF_X;
        let src = |vm: &Vm| -> Result<u64, Error> {
            if x {
                vm.get(pc, i.src)
            } else if is64 {
                Ok(i.imm as i64 as u64)
            } else {
                Ok(u64::from(i.imm as u32))
            }
        };
        if (!x && i.src != 0) || (x && op != BPF_END && i.imm != 0) {
            return Err(Self::bad(pc, i));
        }
        // MOV does not read dst.
        if op == BPF_MOV {
            let s = src(self)?;
            let v = match (is64, i.off) {
                (_, 0) => s,
                (true, 8) | (false, 8) if x => sext(s, 1),
                (true, 16) | (false, 16) if x => sext(s, 2),
                (true, 32) if x => sext(s, 4),
                _ => return Err(Self::bad(pc, i)),
            };
            let v = if is64 { v } else { v as u32 as u64 };
            return self.put(pc, i.dst, v);
        }
        let a = self.get(pc, i.dst)?;
        if op == BPF_END {
            // byte swaps
            if i.off != 0 || !matches!(i.imm, 16 | 32 | 64) || (is64 && x) {
                return Err(Self::bad(pc, i));
            }
            let v = if is64 || x {
                match i.imm {
                    16 => u64::from((a as u16).swap_bytes()),
                    32 => u64::from((a as u32).swap_bytes()),
                    _ => a.swap_bytes(),
                }
            } else {
                match i.imm {
                    16 => a & 0xffff,
                    32 => a & 0xffff_ffff,
                    _ => a,
                }
            };
            return self.put(pc, i.dst, v);
        }
        if op == BPF_NEG {
            if x || i.off != 0 {
                return Err(Self::bad(pc, i));
            }
            let v = if is64 {
                a.wrapping_neg()
            } else {
                u64::from((a as u32).wrapping_neg())
            };
            return self.put(pc, i.dst, v);
        }
        let signed = match (op, i.off) {
            (BPF_DIV | BPF_MOD, 0) => false,
            (BPF_DIV | BPF_MOD, 1) => true,
            (_, 0) => false,
            _ => return Err(Self::bad(pc, i)),
        };
        let b = src(self)?;
        if !x && matches!(op, BPF_LSH | BPF_RSH | BPF_ARSH) && b >= if is64 { 64 } else { 32 } {
            return Err(Error::at(
                pc,
                ErrorKind::Insn,
                format!("shift by {b} out of range"),
            ));
        }
        let v = if is64 {
            alu_binop!(u64, i64, 63, op, signed, a, b)
        } else {
            alu_binop!(u32, i32, 31, op, signed, a as u32, b as u32).map(u64::from)
        };
        let v = v.ok_or_else(|| Self::bad(pc, i))?;
        self.put(pc, i.dst, v)
    }

    fn target(&self, pc: usize, rel: i64) -> Result<usize, Error> {
        let t = pc as i64 + 1 + rel;
        if t < 0 || t as usize >= self.insns.len() {
            return Err(Error::at(
                pc,
                ErrorKind::Insn,
                format!(
                    "jump target {t} outside the program ({} insns)",
                    self.insns.len()
                ),
            ));
        }
        Ok(t as usize)
    }

    /// Returns the next pc, or `None` on the final exit.
    fn jmp(&mut self, pc: usize, i: &Insn, k: &mut MockKernel) -> Result<Option<usize>, Error> {
        let is32 = class(i.code) == BPF_JMP32;
        let op = op(i.code);
        let x = src(i.code) == BPF_X;
        match op {
            BPF_JA => {
                if x || i.src != 0 || i.dst != 0 {
                    return Err(Self::bad(pc, i));
                }
                let rel = if is32 {
                    if i.off != 0 {
                        return Err(Self::bad(pc, i));
                    }
                    i64::from(i.imm)
                } else {
                    if i.imm != 0 {
                        return Err(Self::bad(pc, i));
                    }
                    i64::from(i.off)
                };
                return self.target(pc, rel).map(Some);
            }
            BPF_CALL if !is32 && !x => return self.call(pc, i, k).map(Some),
            BPF_EXIT if !is32 && !x => {
                if i.src != 0 || i.dst != 0 || i.off != 0 || i.imm != 0 {
                    return Err(Self::bad(pc, i));
                }
                self.get(pc, 0)?;
                let Some(f) = self.frames.pop() else {
                    return Ok(None);
                };
                self.regs[6..11].copy_from_slice(&f.saved);
                self.init[6..11].copy_from_slice(&f.saved_init);
                self.init[1..6].iter_mut().for_each(|b| *b = false);
                return Ok(Some(f.ret_pc));
            }
            BPF_JCOND if !is32 && !x => {
                // may_goto: the emulator never runs out of its budget, so falls through.
                self.target(pc, i64::from(i.off))?;
                return Ok(Some(pc + 1));
            }
            BPF_JEQ..=BPF_JSGE | BPF_JLT..=BPF_JSLE => {}
            _ => return Err(Self::bad(pc, i)),
        }
        if !x && i.src != 0 {
            return Err(Self::bad(pc, i));
        }
        let a = self.get(pc, i.dst)?;
        let b = if x {
            self.get(pc, i.src)?
        } else {
            i.imm as i64 as u64
        };
        let taken = if is32 {
            let (a, b) = (a as u32, b as u32);
            let (sa, sb) = (a as i32, b as i32);
            match op {
                BPF_JEQ => a == b,
                BPF_JGT => a > b,
                BPF_JGE => a >= b,
                BPF_JSET => a & b != 0,
                BPF_JNE => a != b,
                BPF_JSGT => sa > sb,
                BPF_JSGE => sa >= sb,
                BPF_JLT => a < b,
                BPF_JLE => a <= b,
                BPF_JSLT => sa < sb,
                _ => sa <= sb,
            }
        } else {
            let (sa, sb) = (a as i64, b as i64);
            match op {
                BPF_JEQ => a == b,
                BPF_JGT => a > b,
                BPF_JGE => a >= b,
                BPF_JSET => a & b != 0,
                BPF_JNE => a != b,
                BPF_JSGT => sa > sb,
                BPF_JSGE => sa >= sb,
                BPF_JLT => a < b,
                BPF_JLE => a <= b,
                BPF_JSLT => sa < sb,
                _ => sa <= sb,
            }
        };
        let t = self.target(pc, i64::from(i.off))?;
        Ok(Some(if taken { t } else { pc + 1 }))
    }

    fn call(&mut self, pc: usize, i: &Insn, k: &mut MockKernel) -> Result<usize, Error> {
        if i.dst != 0 || i.off != 0 && i.src != pseudo::BPF_PSEUDO_KFUNC_CALL {
            return Err(Self::bad(pc, i));
        }
        match i.src {
            0 if i.imm == lskel_abi::helper::LOOP => self.bpf_loop(pc, k),
            0 => {
                let mut args = Args {
                    vals: [0; 5],
                    init: [false; 5],
                    pc,
                };
                args.vals.copy_from_slice(&self.regs[1..6]);
                args.init.copy_from_slice(&self.init[1..6]);
                let r0 = k.call_helper(i.imm, &args, &mut self.mem, pc)?;
                self.regs[0] = r0;
                self.init[0] = true;
                self.init[1..6].iter_mut().for_each(|b| *b = false);
                Ok(pc + 1)
            }
            pseudo::BPF_PSEUDO_CALL => {
                let t = self.target(pc, i64::from(i.imm))?;
                if self.frames.len() + 1 >= MAX_CALL_DEPTH {
                    return Err(Error::at(
                        pc,
                        ErrorKind::Limit,
                        "bpf-to-bpf calls nested too deep",
                    ));
                }
                let mut saved = [0; 5];
                saved.copy_from_slice(&self.regs[6..11]);
                let mut saved_init = [false; 5];
                saved_init.copy_from_slice(&self.init[6..11]);
                self.frames.push(Frame {
                    ret_pc: pc + 1,
                    saved,
                    saved_init,
                });
                let depth = self.frames.len();
                self.ensure_stack(depth);
                self.init[6..10].iter_mut().for_each(|b| *b = false);
                self.regs[10] = STACK_BASE + depth as u64 * STACK_STRIDE + STACK_SIZE as u64;
                Ok(t)
            }
            pseudo::BPF_PSEUDO_KFUNC_CALL => Err(Error::at(
                pc,
                ErrorKind::Helper,
                format!(
                    "the loader calls kfunc btf_id {}; the emulator has no kfuncs",
                    i.imm
                ),
            )),
            _ => Err(Self::bad(pc, i)),
        }
    }

    fn ld(&mut self, pc: usize, i: &Insn) -> Result<(), Error> {
        if i.code != LD_IMM64 || i.off != 0 {
            return Err(Error::at(
                pc,
                ErrorKind::Insn,
                format!("legacy or invalid BPF_LD instruction {:#04x}", i.code),
            ));
        }
        let imm2 = self.insns[pc + 1].imm;
        let v = match i.src {
            0 => u64::from(i.imm as u32) | (u64::from(imm2 as u32) << 32),
            pseudo::BPF_PSEUDO_MAP_IDX_VALUE => {
                if i.imm != 0 {
                    return Err(Error::at(
                        pc,
                        ErrorKind::Insn,
                        format!(
                            "map_idx_value[{}]: the loader's fd_array holds only the loader map (index 0)",
                            i.imm
                        ),
                    ));
                }
                let off = u64::from(imm2 as u32);
                if off >= self.blob_len {
                    return Err(Error::at(
                        pc,
                        ErrorKind::Memory,
                        format!(
                            "map_idx_value[0] + {off}: offset beyond the loader map's value ({} bytes)",
                            self.blob_len
                        ),
                    ));
                }
                BLOB_BASE + off
            }
            pseudo::BPF_PSEUDO_MAP_IDX => {
                if i.imm != 0 || imm2 != 0 {
                    return Err(Error::at(
                        pc,
                        ErrorKind::Insn,
                        format!(
                            "map_idx[{}] (second imm {imm2}): the loader's fd_array holds only the loader map (index 0), and the second imm must be 0",
                            i.imm
                        ),
                    ));
                }
                MAP_BASE
            }
            pseudo::BPF_PSEUDO_FUNC => self.func_addr(pc, i.imm)?,
            s => {
                return Err(Error::at(
                    pc,
                    ErrorKind::Insn,
                    format!("ld_imm64 with src_reg {s}: the emulator only knows 0, 4 (BPF_PSEUDO_FUNC), 5 (BPF_PSEUDO_MAP_IDX) and 6 (BPF_PSEUDO_MAP_IDX_VALUE)"),
                ))
            }
        };
        self.put(pc, i.dst, v)
    }

    fn ldx(&mut self, pc: usize, i: &Insn) -> Result<(), Error> {
        let mode = i.code & 0xe0;
        let size = size_of(i.code);
        if (mode != BPF_MEM && mode != BPF_MEMSX) || (mode == BPF_MEMSX && size == 8) || i.imm != 0
        {
            return Err(Self::bad(pc, i));
        }
        let addr = self.get(pc, i.src)?.wrapping_add(i.off as i64 as u64);
        let v = self
            .mem
            .read_uint(addr, size)
            .map_err(|f| fault(pc, "load", f, &self.mem))?;
        let v = if mode == BPF_MEMSX { sext(v, size) } else { v };
        self.put(pc, i.dst, v)
    }

    fn st(&mut self, pc: usize, i: &Insn) -> Result<(), Error> {
        let mode = i.code & 0xe0;
        let size = size_of(i.code);
        let is_stx = class(i.code) == BPF_STX;
        if mode == BPF_MEM {
            let v = if is_stx {
                if i.imm != 0 {
                    return Err(Self::bad(pc, i));
                }
                self.get(pc, i.src)?
            } else {
                if i.src != 0 {
                    return Err(Self::bad(pc, i));
                }
                i.imm as i64 as u64
            };
            let addr = self.get(pc, i.dst)?.wrapping_add(i.off as i64 as u64);
            return self
                .mem
                .write_uint(addr, size, trunc(v, size))
                .map_err(|f| fault(pc, "store", f, &self.mem));
        }
        if !(is_stx && mode == BPF_ATOMIC) {
            return Err(Self::bad(pc, i));
        }
        match i.imm {
            BPF_LOAD_ACQ => {
                let addr = self.get(pc, i.src)?.wrapping_add(i.off as i64 as u64);
                let v = self
                    .mem
                    .read_uint(addr, size)
                    .map_err(|f| fault(pc, "load-acquire", f, &self.mem))?;
                return self.put(pc, i.dst, v);
            }
            BPF_STORE_REL => {
                let v = self.get(pc, i.src)?;
                let addr = self.get(pc, i.dst)?.wrapping_add(i.off as i64 as u64);
                return self
                    .mem
                    .write_uint(addr, size, trunc(v, size))
                    .map_err(|f| fault(pc, "store-release", f, &self.mem));
            }
            _ => {}
        }
        if size != 4 && size != 8 {
            return Err(Self::bad(pc, i));
        }
        let addr = self.get(pc, i.dst)?.wrapping_add(i.off as i64 as u64);
        let src = self.get(pc, i.src)?;
        let old = self
            .mem
            .read_uint(addr, size)
            .map_err(|f| fault(pc, "atomic", f, &self.mem))?;
        let s = trunc(src, size);
        let new = match i.imm & !BPF_FETCH {
            _ if i.imm == BPF_XCHG => s,
            _ if i.imm == BPF_CMPXCHG => {
                let r0 = trunc(self.get(pc, 0)?, size);
                if old == r0 {
                    s
                } else {
                    old
                }
            }
            0x00 => trunc(old.wrapping_add(s), size),
            0x40 => old | s,
            0x50 => old & s,
            0xa0 => old ^ s,
            _ => return Err(Self::bad(pc, i)),
        };
        self.mem
            .write_uint(addr, size, new)
            .map_err(|f| fault(pc, "atomic", f, &self.mem))?;
        if i.imm == BPF_CMPXCHG {
            self.put(pc, 0, old)?;
        } else if i.imm & BPF_FETCH != 0 {
            self.put(pc, i.src, old)?;
        }
        Ok(())
    }
}
