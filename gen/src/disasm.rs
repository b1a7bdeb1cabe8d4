//! eBPF disassembler, used to snapshot the loader program that lskel emits.
//!
//! The text follows the kernel's `kernel/bpf/disasm.c` (as printed in verifier logs and by
//! `bpftool prog dump xlated`), without the `(code)` column, with absolute jump targets added
//! (`goto pc+5 <23>`) and with readable `ld_imm64` pseudo forms (`r1 = map_idx_value[0] + 136`,
//! `r1 = 0x1234 ll`). Anything that is not a valid instruction prints as
//! `.insn 0x.. dst=.. src=.. off=.. imm=..`; nothing here panics on any input.

use std::fmt::Write as _;

use lskel_abi::insn::atomic::{BPF_CMPXCHG, BPF_FETCH, BPF_LOAD_ACQ, BPF_STORE_REL, BPF_XCHG};
use lskel_abi::insn::pseudo::*;
pub use lskel_abi::insn::Insn;
use lskel_abi::insn::*;

/// Decodes a little-endian instruction stream. A trailing partial instruction (fewer than 8
/// bytes) is not returned; [`disassemble`] reports it as a `.trailing` line. Never panics.
pub fn decode(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect()
}

/// Disassembles to text, one instruction per line, each line ending in `\n`, prefixed by the
/// instruction (slot) index, e.g. `  12: r1 = *(u32 *)(r6 +28)`. `ld_imm64` takes two slots and
/// one line showing the 64-bit value. `note(index)` is asked for every index that starts an
/// instruction; a returned comment is printed as `; <comment>` on its own line(s) before it.
/// A trailing partial instruction, or an `ld_imm64` whose second slot is missing, is reported
/// in the text.
pub fn disassemble(bytes: &[u8], note: &dyn Fn(usize) -> Option<String>) -> String {
    let insns = decode(bytes);
    let n = insns.len();
    let width = n.max(1).to_string().len().max(4);
    // starts[k]: slot k begins an instruction (is not the second half of an ld_imm64).
    let mut starts = vec![true; n];
    let mut k = 0;
    while k < n {
        if insns[k].code == (BPF_LD | BPF_IMM | BPF_DW) && k + 1 < n {
            starts[k + 1] = false;
            k += 2;
        } else {
            k += 1;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < n {
        if let Some(c) = note(i) {
            for line in c.lines() {
                if line.is_empty() {
                    out.push_str(";\n");
                } else {
                    let _ = writeln!(out, "; {line}");
                }
            }
            if c.is_empty() {
                out.push_str(";\n");
            }
        }
        let (text, used) = format_insn(&insns, &starts, i);
        let _ = writeln!(out, "{i:>width$}: {text}");
        i += used;
    }
    let rest = &bytes[n * 8..];
    if !rest.is_empty() {
        let hex: Vec<String> = rest.iter().map(|b| format!("{b:02x}")).collect();
        let k = rest.len();
        let _ = writeln!(
            out,
            "{n:>width$}: .trailing {k} byte(s): {} (partial instruction)",
            hex.join(" ")
        );
    }
    out
}

// Instruction classes.

/// Helper names (`enum bpf_func_id`) for the helpers the loader uses.
fn helper_name(id: i32) -> Option<&'static str> {
    lskel_abi::helper::name(id)
}

fn unknown(insn: &Insn) -> String {
    let Insn {
        code,
        dst,
        src,
        off,
        imm,
    } = *insn;
    format!(".insn {code:#04x} dst={dst} src={src} off={off} imm={imm}")
}

/// Formats the instruction starting at slot `i`; returns the text and the slots it used.
fn format_insn(insns: &[Insn], starts: &[bool], i: usize) -> (String, usize) {
    let insn = &insns[i];
    if insn.code == (BPF_LD | BPF_IMM | BPF_DW) {
        return match insns.get(i + 1) {
            Some(next) => (ld_imm64(starts, i, insn, next), 2),
            None => (
                format!(
                    "{} (truncated ld_imm64: second slot missing)",
                    unknown(insn)
                ),
                1,
            ),
        };
    }
    let text = match class(insn.code) {
        BPF_ALU | BPF_ALU64 => alu(insn),
        BPF_JMP | BPF_JMP32 => jmp(starts, i, insn),
        BPF_LD => ld(insn),
        BPF_LDX => ldx(insn),
        BPF_ST => st(insn),
        BPF_STX => stx(insn),
        _ => None,
    };
    (text.unwrap_or_else(|| unknown(insn)), 1)
}

fn size_str(code: u8) -> &'static str {
    match size(code) {
        BPF_W => "u32",
        BPF_H => "u16",
        BPF_B => "u8",
        _ => "u64",
    }
}

/// Absolute target of a pc-relative reference from slot `i`, flagged when it is outside the
/// program or lands on the second slot of an `ld_imm64`.
fn target(starts: &[bool], i: usize, rel: i64) -> String {
    let t = i as i64 + rel + 1;
    match usize::try_from(t).ok().and_then(|u| starts.get(u)) {
        None => format!("<{t}: out of range>"),
        Some(false) => format!("<{t}: inside ld_imm64>"),
        Some(true) => format!("<{t}>"),
    }
}

fn ld_imm64(starts: &[bool], i: usize, insn: &Insn, next: &Insn) -> String {
    let d = insn.dst;
    let imm = insn.imm;
    let imm2 = next.imm;
    let full = ((imm2 as u32 as u64) << 32) | imm as u32 as u64;
    let mut s = match insn.src {
        0 => format!("r{d} = {full:#x} ll"),
        BPF_PSEUDO_MAP_FD => format!("r{d} = map_fd[{imm}]"),
        BPF_PSEUDO_MAP_VALUE => format!("r{d} = map_value[{imm}] + {}", imm2 as u32),
        BPF_PSEUDO_BTF_ID if imm2 == 0 => format!("r{d} = btf_id[{imm}]"),
        BPF_PSEUDO_BTF_ID => format!("r{d} = btf_id[{imm}] (btf_fd {imm2})"),
        BPF_PSEUDO_FUNC => {
            let t = target(starts, i, i64::from(imm));
            format!("r{d} = func pc{imm:+} {t}")
        }
        BPF_PSEUDO_MAP_IDX => format!("r{d} = map_idx[{imm}]"),
        BPF_PSEUDO_MAP_IDX_VALUE => format!("r{d} = map_idx_value[{imm}] + {}", imm2 as u32),
        src => format!("r{d} = ld_imm64 src={src} {full:#x}"),
    };
    let imm2_used = matches!(
        insn.src,
        0 | BPF_PSEUDO_MAP_VALUE | BPF_PSEUDO_MAP_IDX_VALUE | BPF_PSEUDO_BTF_ID
    ) || insn.src > BPF_PSEUDO_MAP_IDX_VALUE;
    if !imm2_used && imm2 != 0 {
        let _ = write!(s, " (bad imm2={imm2})");
    }
    if insn.off != 0 {
        let off = insn.off;
        let _ = write!(s, " (bad off={off})");
    }
    if next.code != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
        let Insn {
            code,
            dst,
            src,
            off,
            ..
        } = *next;
        let _ = write!(
            s,
            " (bad 2nd slot: code={code:#04x} dst={dst} src={src} off={off})"
        );
    }
    s
}

fn alu(insn: &Insn) -> Option<String> {
    let is64 = class(insn.code) == BPF_ALU64;
    let p = if is64 { 'r' } else { 'w' };
    let op = op(insn.code);
    let x = src(insn.code) == BPF_X;
    let (d, s, off, imm) = (insn.dst, insn.src, insn.off, insn.imm);
    let sym = match op {
        BPF_NEG => {
            return (!x && off == 0).then(|| format!("{p}{d} = -{p}{d}"));
        }
        BPF_END => {
            if off != 0 || !matches!(imm, 16 | 32 | 64) {
                return None;
            }
            return if is64 {
                (!x).then(|| format!("r{d} = bswap{imm} r{d}"))
            } else {
                let e = if x { "be" } else { "le" };
                Some(format!("r{d} = {e}{imm} r{d}"))
            };
        }
        BPF_MOV if x && off != 0 => {
            return match (is64, off) {
                (_, 8 | 16) | (true, 32) => Some(format!("{p}{d} = (s{off}){p}{s}")),
                (true, BPF_ADDR_SPACE_CAST) => {
                    let (to, from) = ((imm as u32) >> 16, imm as u16);
                    Some(format!("r{d} = addr_space_cast(r{s}, {to}, {from})"))
                }
                _ => None,
            };
        }
        BPF_DIV if off == 1 => "s/=",
        BPF_MOD if off == 1 => "s%=",
        _ if off != 0 => return None,
        _ => alu_symbol(op)?,
    };
    Some(if x {
        format!("{p}{d} {sym} {p}{s}")
    } else {
        format!("{p}{d} {sym} {imm}")
    })
}

fn jmp(starts: &[bool], i: usize, insn: &Insn) -> Option<String> {
    let is32 = class(insn.code) == BPF_JMP32;
    let p = if is32 { 'w' } else { 'r' };
    let op = op(insn.code);
    let x = src(insn.code) == BPF_X;
    let (d, s, off, imm) = (insn.dst, insn.src, insn.off, insn.imm);
    let sym = match op {
        BPF_JA if x => return None,
        BPF_JA if is32 => {
            let t = target(starts, i, i64::from(imm));
            return Some(format!("gotol pc{imm:+} {t}"));
        }
        BPF_JA => {
            let t = target(starts, i, i64::from(off));
            return Some(format!("goto pc{off:+} {t}"));
        }
        BPF_CALL | BPF_EXIT | BPF_JCOND if is32 => return None,
        BPF_CALL if x => return Some(format!("callx r{d}")),
        BPF_CALL => {
            return match s {
                0 => Some(match helper_name(imm) {
                    Some(name) => format!("call {name}#{imm}"),
                    None => format!("call {imm}"),
                }),
                BPF_PSEUDO_CALL => {
                    let t = target(starts, i, i64::from(imm));
                    Some(format!("call pc{imm:+} {t}"))
                }
                BPF_PSEUDO_KFUNC_CALL => Some(if off == 0 {
                    format!("call kfunc btf_id[{imm}]")
                } else {
                    format!("call kfunc btf_id[{imm}] (fd_array {off})")
                }),
                _ => None,
            };
        }
        BPF_EXIT => return (!x).then(|| "exit".to_string()),
        BPF_JCOND => {
            if x || s != 0 {
                return None;
            }
            let t = target(starts, i, i64::from(off));
            return Some(format!("may_goto pc{off:+} {t}"));
        }
        _ => jmp_symbol(op)?,
    };
    let t = target(starts, i, i64::from(off));
    Some(if x {
        format!("if {p}{d} {sym} {p}{s} goto pc{off:+} {t}")
    } else {
        let k = imm as u32;
        format!("if {p}{d} {sym} {k:#x} goto pc{off:+} {t}")
    })
}

fn ld(insn: &Insn) -> Option<String> {
    let sz = size_str(insn.code);
    let (s, imm) = (insn.src, insn.imm);
    if size(insn.code) == BPF_DW {
        return None;
    }
    match mode(insn.code) {
        BPF_ABS => Some(format!("r0 = *({sz} *)skb[{imm}]")),
        BPF_IND => Some(format!("r0 = *({sz} *)skb[r{s} + {imm}]")),
        _ => None,
    }
}

fn ldx(insn: &Insn) -> Option<String> {
    let (d, s, off) = (insn.dst, insn.src, insn.off);
    let sz = match mode(insn.code) {
        BPF_MEM => size_str(insn.code),
        BPF_MEMSX => match size(insn.code) {
            BPF_W => "s32",
            BPF_H => "s16",
            BPF_B => "s8",
            _ => return None,
        },
        _ => return None,
    };
    Some(format!("r{d} = *({sz} *)(r{s} {off:+})"))
}

fn st(insn: &Insn) -> Option<String> {
    let (d, off, imm) = (insn.dst, insn.off, insn.imm);
    let sz = size_str(insn.code);
    (mode(insn.code) == BPF_MEM).then(|| format!("*({sz} *)(r{d} {off:+}) = {imm}"))
}

fn stx(insn: &Insn) -> Option<String> {
    let (d, s, off, imm) = (insn.dst, insn.src, insn.off, insn.imm);
    let sz = size_str(insn.code);
    match mode(insn.code) {
        BPF_MEM => return Some(format!("*({sz} *)(r{d} {off:+}) = r{s}")),
        BPF_ATOMIC => {}
        _ => return None,
    }
    match imm {
        BPF_LOAD_ACQ => return Some(format!("r{d} = load_acquire(({sz} *)(r{s} {off:+}))")),
        BPF_STORE_REL => {
            return Some(format!("store_release(({sz} *)(r{d} {off:+}), r{s})"));
        }
        _ => {}
    }
    let bits = match size(insn.code) {
        BPF_W => "",
        BPF_DW => "64",
        _ => return None,
    };
    let (sym, name) = match imm & !BPF_FETCH {
        a if a == BPF_ADD as i32 => ("+=", "add"),
        a if a == BPF_OR as i32 => ("|=", "or"),
        a if a == BPF_AND as i32 => ("&=", "and"),
        a if a == BPF_XOR as i32 => ("^=", "xor"),
        _ => ("", ""),
    };
    Some(match imm {
        BPF_XCHG => format!("r{s} = atomic{bits}_xchg(({sz} *)(r{d} {off:+}), r{s})"),
        BPF_CMPXCHG => format!("r0 = atomic{bits}_cmpxchg(({sz} *)(r{d} {off:+}), r0, r{s})"),
        _ if name.is_empty() => return None,
        _ if imm & BPF_FETCH != 0 => {
            format!("r{s} = atomic{bits}_fetch_{name}(({sz} *)(r{d} {off:+}), r{s})")
        }
        _ => format!("lock *({sz} *)(r{d} {off:+}) {sym} r{s}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    fn bytes(insns: &[Insn]) -> Vec<u8> {
        insns.iter().flat_map(|i| i.to_bytes()).collect()
    }

    /// Disassembles `insns` placed at slot `at` (preceded by `at` `r0 = 0`), returns the line
    /// for slot `at` without its index prefix.
    fn text_at(at: usize, insns: &[Insn]) -> String {
        let mut all = vec![ins(0xb7, 0, 0, 0, 0); at];
        all.extend_from_slice(insns);
        // Pad so that jump targets after the instruction are in range.
        all.extend(std::iter::repeat_n(ins(0x95, 0, 0, 0, 0), 40));
        let out = disassemble(&bytes(&all), &|_| None);
        let prefix = format!("{at:>4}: ");
        out.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap()
            .to_string()
    }

    #[test]
    fn bytes_roundtrip() {
        let b = [0x61, 0x61, 0x1c, 0x00, 0xfe, 0xff, 0xff, 0xff];
        let i = Insn::from_bytes(b);
        assert_eq!(i, ins(0x61, 1, 6, 28, -2));
        assert_eq!(i.to_bytes(), b);
        assert_eq!(decode(&[0u8; 20]).len(), 2);
    }

    #[test]
    fn table() {
        #[rustfmt::skip]
        let cases: &[(&[Insn], &str)] = &[
            // ALU64 / ALU32
            (&[ins(0x07, 1, 0, 0, -8)], "r1 += -8"),
            (&[ins(0x0f, 1, 2, 0, 0)], "r1 += r2"),
            (&[ins(0x04, 1, 0, 0, 1)], "w1 += 1"),
            (&[ins(0x1c, 3, 4, 0, 0)], "w3 -= w4"),
            (&[ins(0x27, 1, 0, 0, 3)], "r1 *= 3"),
            (&[ins(0x37, 1, 0, 0, 3)], "r1 /= 3"),
            (&[ins(0x37, 1, 0, 1, 3)], "r1 s/= 3"),
            (&[ins(0x3c, 1, 2, 1, 0)], "w1 s/= w2"),
            (&[ins(0x97, 1, 0, 1, 7)], "r1 s%= 7"),
            (&[ins(0x9f, 1, 2, 0, 0)], "r1 %= r2"),
            (&[ins(0x47, 1, 0, 0, 0xff)], "r1 |= 255"),
            (&[ins(0x57, 1, 0, 0, 0xff)], "r1 &= 255"),
            (&[ins(0x67, 1, 0, 0, 32)], "r1 <<= 32"),
            (&[ins(0x77, 1, 0, 0, 32)], "r1 >>= 32"),
            (&[ins(0xc7, 1, 0, 0, 32)], "r1 s>>= 32"),
            (&[ins(0xcc, 1, 2, 0, 0)], "w1 s>>= w2"),
            (&[ins(0xa7, 1, 0, 0, 1)], "r1 ^= 1"),
            (&[ins(0x87, 1, 0, 0, 0)], "r1 = -r1"),
            (&[ins(0x84, 1, 0, 0, 0)], "w1 = -w1"),
            (&[ins(0xb7, 1, 0, 0, 0)], "r1 = 0"),
            (&[ins(0xbf, 6, 1, 0, 0)], "r6 = r1"),
            (&[ins(0xb4, 0, 0, 0, -22)], "w0 = -22"),
            (&[ins(0xbc, 1, 2, 0, 0)], "w1 = w2"),
            (&[ins(0xbf, 1, 2, 8, 0)], "r1 = (s8)r2"),
            (&[ins(0xbf, 1, 2, 32, 0)], "r1 = (s32)r2"),
            (&[ins(0xbc, 1, 2, 16, 0)], "w1 = (s16)w2"),
            (&[ins(0xbf, 1, 2, 1, 1 << 16)], "r1 = addr_space_cast(r2, 1, 0)"),
            (&[ins(0xd4, 1, 0, 0, 32)], "r1 = le32 r1"),
            (&[ins(0xdc, 1, 0, 0, 16)], "r1 = be16 r1"),
            (&[ins(0xd7, 1, 0, 0, 64)], "r1 = bswap64 r1"),
            // JMP / JMP32
            (&[ins(0x05, 0, 0, 3, 0)], "goto pc+3 <14>"),
            (&[ins(0x05, 0, 0, -2, 0)], "goto pc-2 <9>"),
            (&[ins(0x06, 0, 0, 0, 5)], "gotol pc+5 <16>"),
            (&[ins(0xc5, 7, 0, 5, 0)], "if r7 s< 0x0 goto pc+5 <16>"),
            (&[ins(0x15, 0, 0, 1, 0)], "if r0 == 0x0 goto pc+1 <12>"),
            (&[ins(0x55, 0, 0, 1, -1)], "if r0 != 0xffffffff goto pc+1 <12>"),
            (&[ins(0x1d, 1, 2, 1, 0)], "if r1 == r2 goto pc+1 <12>"),
            (&[ins(0x25, 1, 0, 1, 9)], "if r1 > 0x9 goto pc+1 <12>"),
            (&[ins(0x35, 1, 0, 1, 9)], "if r1 >= 0x9 goto pc+1 <12>"),
            (&[ins(0x45, 1, 0, 1, 4)], "if r1 & 0x4 goto pc+1 <12>"),
            (&[ins(0x65, 1, 0, 1, 9)], "if r1 s> 0x9 goto pc+1 <12>"),
            (&[ins(0x75, 1, 0, 1, 9)], "if r1 s>= 0x9 goto pc+1 <12>"),
            (&[ins(0xa5, 1, 0, 1, 9)], "if r1 < 0x9 goto pc+1 <12>"),
            (&[ins(0xbd, 1, 2, 1, 0)], "if r1 <= r2 goto pc+1 <12>"),
            (&[ins(0xdd, 1, 2, 1, 0)], "if r1 s<= r2 goto pc+1 <12>"),
            (&[ins(0x16, 1, 0, 1, 0)], "if w1 == 0x0 goto pc+1 <12>"),
            (&[ins(0xce, 1, 2, 1, 0)], "if w1 s< w2 goto pc+1 <12>"),
            (&[ins(0x05, 0, 0, -20, 0)], "goto pc-20 <-9: out of range>"),
            (&[ins(0x05, 0, 0, 30, 0)], "goto pc+30 <41>"),
            (&[ins(0x05, 0, 0, 60, 0)], "goto pc+60 <71: out of range>"),
            (&[ins(0xe5, 0, 0, 2, 0)], "may_goto pc+2 <13>"),
            // calls, exit
            (&[ins(0x85, 0, 0, 0, 166)], "call bpf_sys_bpf#166"),
            (&[ins(0x85, 0, 0, 0, 6)], "call bpf_trace_printk#6"),
            (&[ins(0x85, 0, 0, 0, 113)], "call bpf_probe_read_kernel#113"),
            (&[ins(0x85, 0, 0, 0, 148)], "call bpf_copy_from_user#148"),
            (&[ins(0x85, 0, 0, 0, 167)], "call bpf_btf_find_by_name_kind#167"),
            (&[ins(0x85, 0, 0, 0, 168)], "call bpf_sys_close#168"),
            (&[ins(0x85, 0, 0, 0, 179)], "call bpf_kallsyms_lookup_name#179"),
            (&[ins(0x85, 0, 0, 0, 181)], "call bpf_loop#181"),
            (&[ins(0x85, 0, 0, 0, 1)], "call 1"),
            (&[ins(0x85, 0, 1, 0, 4)], "call pc+4 <15>"),
            (&[ins(0x85, 0, 2, 0, 1234)], "call kfunc btf_id[1234]"),
            (&[ins(0x85, 0, 2, 3, 1234)], "call kfunc btf_id[1234] (fd_array 3)"),
            (&[ins(0x8d, 2, 0, 0, 0)], "callx r2"),
            (&[ins(0x95, 0, 0, 0, 0)], "exit"),
            // LDX / ST / STX
            (&[ins(0x61, 1, 6, 28, 0)], "r1 = *(u32 *)(r6 +28)"),
            (&[ins(0x69, 1, 6, 0, 0)], "r1 = *(u16 *)(r6 +0)"),
            (&[ins(0x71, 1, 6, 1, 0)], "r1 = *(u8 *)(r6 +1)"),
            (&[ins(0x79, 1, 10, -8, 0)], "r1 = *(u64 *)(r10 -8)"),
            (&[ins(0x91, 1, 6, 2, 0)], "r1 = *(s8 *)(r6 +2)"),
            (&[ins(0x89, 1, 6, 2, 0)], "r1 = *(s16 *)(r6 +2)"),
            (&[ins(0x81, 1, 6, 2, 0)], "r1 = *(s32 *)(r6 +2)"),
            (&[ins(0x62, 10, 0, -4, 7)], "*(u32 *)(r10 -4) = 7"),
            (&[ins(0x6a, 10, 0, -2, 7)], "*(u16 *)(r10 -2) = 7"),
            (&[ins(0x72, 10, 0, -1, -1)], "*(u8 *)(r10 -1) = -1"),
            (&[ins(0x7a, 10, 0, -8, 0)], "*(u64 *)(r10 -8) = 0"),
            (&[ins(0x63, 10, 1, -4, 0)], "*(u32 *)(r10 -4) = r1"),
            (&[ins(0x6b, 10, 1, -2, 0)], "*(u16 *)(r10 -2) = r1"),
            (&[ins(0x73, 10, 1, -1, 0)], "*(u8 *)(r10 -1) = r1"),
            (&[ins(0x7b, 10, 1, -8, 0)], "*(u64 *)(r10 -8) = r1"),
            // atomics
            (&[ins(0xdb, 1, 2, 0, 0x00)], "lock *(u64 *)(r1 +0) += r2"),
            (&[ins(0xc3, 1, 2, 4, 0x40)], "lock *(u32 *)(r1 +4) |= r2"),
            (&[ins(0xdb, 1, 2, 0, 0x50)], "lock *(u64 *)(r1 +0) &= r2"),
            (&[ins(0xdb, 1, 2, 0, 0xa0)], "lock *(u64 *)(r1 +0) ^= r2"),
            (&[ins(0xdb, 1, 2, 0, 0x01)], "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"),
            (&[ins(0xc3, 1, 2, 0, 0x41)], "r2 = atomic_fetch_or((u32 *)(r1 +0), r2)"),
            (&[ins(0xdb, 1, 2, 0, 0x51)], "r2 = atomic64_fetch_and((u64 *)(r1 +0), r2)"),
            (&[ins(0xdb, 1, 2, 0, 0xa1)], "r2 = atomic64_fetch_xor((u64 *)(r1 +0), r2)"),
            (&[ins(0xdb, 1, 2, -8, 0xe1)], "r2 = atomic64_xchg((u64 *)(r1 -8), r2)"),
            (&[ins(0xc3, 1, 2, 0, 0xf1)], "r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)"),
            (&[ins(0xd3, 0, 1, 0, 0x100)], "r0 = load_acquire((u8 *)(r1 +0))"),
            (&[ins(0xdb, 0, 1, 8, 0x100)], "r0 = load_acquire((u64 *)(r1 +8))"),
            (&[ins(0xcb, 1, 2, 0, 0x110)], "store_release((u16 *)(r1 +0), r2)"),
            // legacy LD_ABS / LD_IND
            (&[ins(0x20, 0, 0, 0, 12)], "r0 = *(u32 *)skb[12]"),
            (&[ins(0x28, 0, 0, 0, 12)], "r0 = *(u16 *)skb[12]"),
            (&[ins(0x50, 0, 3, 0, 14)], "r0 = *(u8 *)skb[r3 + 14]"),
            // ld_imm64, every pseudo form
            (&[ins(0x18, 1, 0, 0, 0x1234), ins(0, 0, 0, 0, 0)], "r1 = 0x1234 ll"),
            (&[ins(0x18, 2, 0, 0, -1), ins(0, 0, 0, 0, 0x7fff_ffff)], "r2 = 0x7fffffffffffffff ll"),
            (&[ins(0x18, 1, 1, 0, 4), ins(0, 0, 0, 0, 0)], "r1 = map_fd[4]"),
            (&[ins(0x18, 1, 2, 0, 4), ins(0, 0, 0, 0, 16)], "r1 = map_value[4] + 16"),
            (&[ins(0x18, 1, 3, 0, 77), ins(0, 0, 0, 0, 0)], "r1 = btf_id[77]"),
            (&[ins(0x18, 1, 3, 0, 77), ins(0, 0, 0, 0, 9)], "r1 = btf_id[77] (btf_fd 9)"),
            (&[ins(0x18, 1, 4, 0, 5), ins(0, 0, 0, 0, 0)], "r1 = func pc+5 <16>"),
            (&[ins(0x18, 1, 5, 0, 2), ins(0, 0, 0, 0, 0)], "r1 = map_idx[2]"),
            (&[ins(0x18, 1, 6, 0, 0), ins(0, 0, 0, 0, 136)], "r1 = map_idx_value[0] + 136"),
            (&[ins(0x18, 1, 7, 0, 1), ins(0, 0, 0, 0, 0)], "r1 = ld_imm64 src=7 0x1"),
            (&[ins(0x18, 1, 5, 0, 2), ins(0, 0, 0, 0, 3)], "r1 = map_idx[2] (bad imm2=3)"),
            (&[ins(0x18, 1, 0, 0, 1), ins(0x07, 0, 0, 0, 0)],
             "r1 = 0x1 ll (bad 2nd slot: code=0x07 dst=0 src=0 off=0)"),
            // invalid encodings
            (&[ins(0x8f, 1, 2, 0, 0)], ".insn 0x8f dst=1 src=2 off=0 imm=0"),
            (&[ins(0xdf, 1, 0, 0, 16)], ".insn 0xdf dst=1 src=0 off=0 imm=16"),
            (&[ins(0xd4, 1, 0, 0, 8)], ".insn 0xd4 dst=1 src=0 off=0 imm=8"),
            (&[ins(0x07, 1, 0, 1, 1)], ".insn 0x07 dst=1 src=0 off=1 imm=1"),
            (&[ins(0xbc, 1, 2, 32, 0)], ".insn 0xbc dst=1 src=2 off=32 imm=0"),
            (&[ins(0xe7, 1, 0, 0, 0)], ".insn 0xe7 dst=1 src=0 off=0 imm=0"),
            (&[ins(0xf5, 1, 0, 0, 0)], ".insn 0xf5 dst=1 src=0 off=0 imm=0"),
            (&[ins(0x86, 0, 0, 0, 1)], ".insn 0x86 dst=0 src=0 off=0 imm=1"),
            (&[ins(0x96, 0, 0, 0, 0)], ".insn 0x96 dst=0 src=0 off=0 imm=0"),
            (&[ins(0x85, 0, 3, 0, 1)], ".insn 0x85 dst=0 src=3 off=0 imm=1"),
            (&[ins(0x99, 1, 6, 0, 0)], ".insn 0x99 dst=1 src=6 off=0 imm=0"),
            (&[ins(0xd3, 1, 2, 0, 0x01)], ".insn 0xd3 dst=1 src=2 off=0 imm=1"),
            (&[ins(0xdb, 1, 2, 0, 0x11)], ".insn 0xdb dst=1 src=2 off=0 imm=17"),
            (&[ins(0x42, 1, 0, 0, 0)], ".insn 0x42 dst=1 src=0 off=0 imm=0"),
            (&[ins(0x38, 0, 0, 0, 0)], ".insn 0x38 dst=0 src=0 off=0 imm=0"),
            (&[ins(0x00, 0, 0, 0, 0)], ".insn 0x00 dst=0 src=0 off=0 imm=0"),
        ];
        for (insns, want) in cases {
            assert_eq!(text_at(10, insns), *want, "{insns:?}");
        }
    }

    #[test]
    fn ld_imm64_takes_two_slots_and_notes() {
        let prog = [
            ins(0xbf, 6, 1, 0, 0),
            ins(0x18, 1, 6, 0, 0),
            ins(0, 0, 0, 0, 136),
            ins(0x85, 0, 0, 0, 166),
            ins(0xc5, 0, 0, 1, 0),
            ins(0xb7, 0, 0, 0, 0),
            ins(0x95, 0, 0, 0, 0),
        ];
        let note = |i: usize| match i {
            0 => Some("prologue".to_string()),
            1 => Some("map_create counts\nsecond line".to_string()),
            2 => Some("never asked: second slot".to_string()),
            _ => None,
        };
        let out = disassemble(&bytes(&prog), &note);
        let want = "\
; prologue
   0: r6 = r1
; map_create counts
; second line
   1: r1 = map_idx_value[0] + 136
   3: call bpf_sys_bpf#166
   4: if r0 s< 0x0 goto pc+1 <6>
   5: r0 = 0
   6: exit
";
        assert_eq!(out, want);
    }

    #[test]
    fn jump_into_ld_imm64_is_flagged() {
        let prog = [
            ins(0x05, 0, 0, 1, 0),
            ins(0x18, 1, 0, 0, 1),
            ins(0, 0, 0, 0, 0),
            ins(0x95, 0, 0, 0, 0),
        ];
        let out = disassemble(&bytes(&prog), &|_| None);
        assert!(
            out.starts_with("   0: goto pc+1 <2: inside ld_imm64>\n"),
            "{out}"
        );
    }

    #[test]
    fn truncated_input() {
        let mut b = bytes(&[ins(0xb7, 0, 0, 0, 0), ins(0x18, 1, 0, 0, 0x1234)]);
        let out = disassemble(&b, &|_| None);
        assert_eq!(
            out,
            "   0: r0 = 0\n   1: .insn 0x18 dst=1 src=0 off=0 imm=4660 \
             (truncated ld_imm64: second slot missing)\n"
        );
        b.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode(&b).len(), 2);
        let out = disassemble(&b, &|_| None);
        assert!(out.ends_with("   2: .trailing 3 byte(s): 00 00 00 (partial instruction)\n"));
        assert_eq!(disassemble(&[], &|_| None), "");
        assert_eq!(
            disassemble(&[0x95], &|_| None),
            "   0: .trailing 1 byte(s): 95 (partial instruction)\n"
        );
    }

    #[test]
    fn random_bytes_do_not_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut b = Vec::with_capacity(80_003);
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&[0x18, 1, 2]);
        let out = disassemble(&b, &|i| (i % 97 == 0).then(|| format!("step {i}")));
        assert!(out.lines().count() >= 10_000 / 2);
        // Every code byte on its own, so each opcode is exercised at least once.
        for code in 0..=255u8 {
            for src in [0u8, 1, 2, 3, 4, 5, 6, 7, 15] {
                let insn = ins(code, 1, src, 1, 0x100);
                let _ = disassemble(&bytes(&[insn]), &|_| None);
                let _ = disassemble(&bytes(&[insn, insn]), &|_| None);
            }
        }
    }
}
