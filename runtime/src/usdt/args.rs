//! USDT argument specs: the assembler operands of a note, parsed into what the BPF side reads (x86-64).

use super::{USDT_ARG_SPEC_SIZE, USDT_MAX_ARG_CNT, USDT_SPEC_SIZE};

/// `enum __bpf_usdt_arg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum UsdtArgType {
    /// `BPF_USDT_ARG_CONST`: the value is `val_off`.
    Const = 0,
    /// `BPF_USDT_ARG_REG`: the value is the register at `reg_off` of `struct pt_regs`.
    Reg = 1,
    /// `BPF_USDT_ARG_REG_DEREF`: the value is read from user memory at register + `val_off`.
    RegDeref = 2,
}

/// `struct __bpf_usdt_arg_spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArgSpec {
    /// The constant, or the offset added to the register before the read.
    pub val_off: u64,
    /// Where the argument is.
    pub arg_type: UsdtArgType,
    /// Offset of the register in `struct pt_regs`.
    pub reg_off: i16,
    /// Whether the value is sign-extended.
    pub arg_signed: bool,
    /// `64 - 8 * size`: how far the value is shifted left then right.
    pub arg_bitshift: i8,
}

/// `struct __bpf_usdt_spec`: the arguments of one probe and the user's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSpec {
    /// At most [`USDT_MAX_ARG_CNT`].
    pub args: Vec<UsdtArgSpec>,
    /// What `bpf_usdt_cookie()` returns.
    pub usdt_cookie: u64,
}

impl UsdtSpec {
    /// The spec in the layout `usdt.bpf.h` reads: 12 × {u64 val_off; u32 arg_type; s16 reg_off;
    /// bool arg_signed; s8 arg_bitshift}, then u64 usdt_cookie, s16 arg_cnt, padding to 208 bytes.
    pub fn to_bytes(&self) -> [u8; USDT_SPEC_SIZE] {
        let mut b = [0u8; USDT_SPEC_SIZE];
        for (i, a) in self.args.iter().take(USDT_MAX_ARG_CNT).enumerate() {
            let o = i * USDT_ARG_SPEC_SIZE;
            b[o..o + 8].copy_from_slice(&a.val_off.to_le_bytes());
            b[o + 8..o + 12].copy_from_slice(&(a.arg_type as u32).to_le_bytes());
            b[o + 12..o + 14].copy_from_slice(&a.reg_off.to_le_bytes());
            b[o + 14] = u8::from(a.arg_signed);
            b[o + 15] = a.arg_bitshift as u8;
        }
        let o = USDT_MAX_ARG_CNT * USDT_ARG_SPEC_SIZE;
        b[o..o + 8].copy_from_slice(&self.usdt_cookie.to_le_bytes());
        let cnt = self.args.len().min(USDT_MAX_ARG_CNT) as i16;
        b[o + 8..o + 10].copy_from_slice(&cnt.to_le_bytes());
        b
    }
}

/// Offset in x86-64 `struct pt_regs` of a register, by any of its names (`rax`, `eax`, `ax`, `al`, ...).
pub fn x86_64_pt_regs_offset(reg: &str) -> Option<i16> {
    const MAP: &[([&str; 4], i16)] = &[
        (["rip", "eip", "", ""], 128),
        (["rax", "eax", "ax", "al"], 80),
        (["rbx", "ebx", "bx", "bl"], 40),
        (["rcx", "ecx", "cx", "cl"], 88),
        (["rdx", "edx", "dx", "dl"], 96),
        (["rsi", "esi", "si", "sil"], 104),
        (["rdi", "edi", "di", "dil"], 112),
        (["rbp", "ebp", "bp", "bpl"], 32),
        (["rsp", "esp", "sp", "spl"], 152),
        (["r8", "r8d", "r8w", "r8b"], 72),
        (["r9", "r9d", "r9w", "r9b"], 64),
        (["r10", "r10d", "r10w", "r10b"], 56),
        (["r11", "r11d", "r11w", "r11b"], 48),
        (["r12", "r12d", "r12w", "r12b"], 24),
        (["r13", "r13d", "r13w", "r13b"], 16),
        (["r14", "r14d", "r14w", "r14b"], 8),
        (["r15", "r15d", "r15w", "r15b"], 0),
    ];
    if reg.is_empty() {
        return None;
    }
    MAP.iter()
        .find(|(names, _)| names.contains(&reg))
        .map(|&(_, off)| off)
}

pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()? as i64
    } else {
        digits.parse::<u64>().ok()? as i64
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

pub(super) fn reg(s: &str) -> Result<i16, String> {
    let name = s
        .trim()
        .strip_prefix('%')
        .ok_or_else(|| format!("`{s}` is not a register"))?;
    x86_64_pt_regs_offset(name).ok_or_else(|| format!("unknown register `%{name}`"))
}

/// Parses one x86-64 argument spec: `SIZE@%reg`, `SIZE@OFF(%reg)`, `SIZE@(%reg)` or `SIZE@$CONST`
/// (SIZE 1, 2, 4 or 8, negative for signed). Scale-index-base operands (`1@-96(%rbp,%rax,8)`) are refused:
/// the spec layout of libbpf 1.1's `usdt.bpf.h` cannot express them.
pub fn parse_x86_64_arg(arg: &str) -> Result<UsdtArgSpec, String> {
    let (size, loc) = arg
        .split_once('@')
        .ok_or_else(|| format!("`{arg}`: no `@`"))?;
    let size = parse_int(size).ok_or_else(|| format!("`{arg}`: bad size"))?;
    let arg_signed = size < 0;
    let arg_bitshift = match size.unsigned_abs() {
        n @ (1 | 2 | 4 | 8) => (64 - 8 * n) as i8,
        _ => return Err(format!("`{arg}`: size must be 1, 2, 4 or 8")),
    };
    let loc = loc.trim();
    let (arg_type, val_off, reg_off) = if let Some(c) = loc.strip_prefix('$') {
        let v = parse_int(c).ok_or_else(|| format!("`{arg}`: bad constant"))?;
        (UsdtArgType::Const, v as u64, 0)
    } else if loc.starts_with('%') {
        (
            UsdtArgType::Reg,
            0,
            reg(loc).map_err(|e| format!("`{arg}`: {e}"))?,
        )
    } else if let Some((off, rest)) = loc.split_once('(') {
        let inner = rest
            .strip_suffix(')')
            .ok_or_else(|| format!("`{arg}`: no closing `)`"))?;
        if inner.contains(',') {
            return Err(format!(
                "`{arg}`: scale-index-base operands are not supported"
            ));
        }
        let off = if off.trim().is_empty() {
            0
        } else {
            parse_int(off).ok_or_else(|| format!("`{arg}`: bad offset"))?
        };
        (
            UsdtArgType::RegDeref,
            off as u64,
            reg(inner).map_err(|e| format!("`{arg}`: {e}"))?,
        )
    } else {
        return Err(format!("`{arg}`: unrecognized location"));
    };
    Ok(UsdtArgSpec {
        val_off,
        arg_type,
        reg_off,
        arg_signed,
        arg_bitshift,
    })
}

/// Parses a whole argument string (space-separated specs) into a [`UsdtSpec`] with `usdt_cookie`.
pub fn parse_x86_64_args(args: &str, usdt_cookie: u64) -> Result<UsdtSpec, String> {
    let args = args
        .split_ascii_whitespace()
        .map(parse_x86_64_arg)
        .collect::<Result<Vec<_>, _>>()?;
    if args.len() > USDT_MAX_ARG_CNT {
        return Err(format!(
            "{} arguments, at most {USDT_MAX_ARG_CNT} are supported",
            args.len()
        ));
    }
    Ok(UsdtSpec { args, usdt_cookie })
}
