//! Struct and union bodies: members and bitfields, alignment and packedness, and the
//! padding bitfields for gaps C alignment would not leave.

use std::fmt::Write;

use super::super::{kind, Type};
use super::{indent, round_up, Dumper, Member, MAX_NEST, MAX_PAD_BITS};
use crate::error::{btf_err, Result};

impl<'b> Dumper<'b> {
    pub(super) fn members(&self, t: &'b Type) -> Result<Vec<Member<'b>>> {
        let mut out = Vec::with_capacity(t.vlen());
        for (name_off, ty, off) in t.members() {
            let (mut bit_off, mut bits) = if t.kflag() {
                (
                    u64::from(lskel_abi::btf::bits::member_bit_offset(off)),
                    u64::from(lskel_abi::btf::bits::member_bitfield_size(off)),
                )
            } else {
                (u64::from(off), 0)
            };
            if !t.kflag() {
                // Old-style bitfields: the width is in the INT's encoding.
                let base = self.btf.skip_mods_and_typedefs(ty)?;
                let bt = self.ty(base)?;
                if bt.kind() == kind::INT {
                    let enc = bt.extra.first().copied().unwrap_or(0);
                    let (int_bits, int_off) =
                        (u64::from(enc & 0xff), u64::from((enc >> 16) & 0xff));
                    if int_bits != u64::from(bt.size_or_type) * 8 || int_off != 0 {
                        bits = int_bits;
                        bit_off += int_off;
                    }
                }
            }
            out.push(Member {
                name: self.btf.name(name_off)?,
                ty,
                bit_off,
                bits,
            });
        }
        Ok(out)
    }

    /// The alignment C gives type `id`, in bytes (1 for packed records).
    pub(super) fn align(&self, id: u32, depth: u32) -> Result<u64> {
        if depth > MAX_NEST {
            return Err(self.too_deep(id));
        }
        let id = self.btf.skip_mods_and_typedefs(id)?;
        if id == 0 {
            return Ok(1);
        }
        let t = self.ty(id)?;
        Ok(match t.kind() {
            kind::INT | kind::FLOAT => u64::from(t.size_or_type).clamp(1, 16),
            kind::ENUM | kind::ENUM64 => u64::from(t.size_or_type).clamp(1, 8),
            kind::PTR => 8,
            kind::ARRAY => self.align(t.array().unwrap_or_default().0, depth + 1)?,
            kind::STRUCT | kind::UNION => {
                let (align, packed) = self.layout(id, depth + 1)?;
                if packed {
                    1
                } else {
                    align
                }
            }
            _ => 1,
        })
    }

    /// (natural alignment, packed) of a struct or union, computed once.
    pub(super) fn layout(&self, id: u32, depth: u32) -> Result<(u64, bool)> {
        if let Some(&l) = self.layouts.borrow().get(&id) {
            return Ok(l);
        }
        let t = self.ty(id)?;
        let mut align = 1;
        let mut packed = false;
        for m in self.members(t)? {
            let a = self.align(m.ty, depth + 1)?;
            align = align.max(a);
            if m.bits == 0 && m.bit_off % (a * 8) != 0 {
                packed = true;
            }
        }
        if u64::from(t.size_or_type) % align != 0 {
            packed = true;
        }
        self.layouts.borrow_mut().insert(id, (align, packed));
        Ok((align, packed))
    }

    /// The definition of a struct or union, without the trailing `;`.
    pub(super) fn composite_def(&self, id: u32, lvl: usize, depth: u32) -> Result<String> {
        let t = self.ty(id)?;
        let is_union = t.kind() == kind::UNION;
        let mut out = String::from(if is_union { "union" } else { "struct" });
        if t.name_off != 0 {
            out.push(' ');
            out.push_str(&self.names[id as usize]);
        }
        out.push_str(" {\n");
        let (align, packed) = self.layout(id, depth)?;
        let mut off = 0u64;
        let pad = |out: &mut String, from: u64, to: u64| {
            if to - from > MAX_PAD_BITS {
                return Err(btf_err(format!(
                    "type [{id}] has a gap of {} bytes between members: more padding than C output is written for",
                    (to - from) / 8
                )));
            }
            pad_bits(out, from, to, lvl + 1);
            Ok(())
        };
        for m in self.members(t)? {
            let size_bits = if m.bits > 0 {
                m.bits
            } else {
                self.btf.size_of(m.ty).unwrap_or(0).saturating_mul(8)
            };
            if !is_union {
                let unit = if packed {
                    if m.bits > 0 {
                        1
                    } else {
                        8
                    }
                } else {
                    self.align(m.ty, depth + 1)? * 8
                };
                let natural = if m.bits > 0 && !packed {
                    if off % unit + m.bits > unit {
                        round_up(off, unit)
                    } else {
                        off
                    }
                } else {
                    round_up(off, unit)
                };
                if natural != m.bit_off && m.bit_off > off {
                    pad(&mut out, off, m.bit_off)?;
                }
            }
            let decl = self.declare(m.ty, m.name.to_string(), lvl + 1, depth + 1)?;
            out.push_str(&indent(lvl + 1));
            out.push_str(&decl);
            if m.bits > 0 {
                let _ = write!(out, ": {}", m.bits);
            }
            out.push_str(";\n");
            if !is_union {
                off = m.bit_off.saturating_add(size_bits);
            }
        }
        let size = u64::from(t.size_or_type) * 8;
        if !is_union && size > round_up(off, if packed { 8 } else { align * 8 }) {
            pad(&mut out, off, size)?;
        }
        if out.ends_with(" {\n") {
            // No members: `struct x {}`, as bpftool writes it.
            out.pop();
        } else {
            out.push_str(&indent(lvl));
        }
        out.push('}');
        if packed {
            out.push_str(" __attribute__((packed))");
        }
        Ok(out)
    }
}

/// Unnamed bitfields that move the next member from bit `from` to bit `to`: whole bytes in
/// the widest naturally aligned type that fits, bits in `char`.
fn pad_bits(out: &mut String, mut from: u64, to: u64, lvl: usize) {
    while from < to {
        let rem = to - from;
        let (ty, bits) = if from % 8 != 0 {
            ("char", rem.min(8 - from % 8))
        } else if from % 64 == 0 && rem >= 64 {
            ("long", 64)
        } else if from % 32 == 0 && rem >= 32 {
            ("int", 32)
        } else if from % 16 == 0 && rem >= 16 {
            ("short", 16)
        } else {
            ("char", rem.min(8))
        };
        let _ = writeln!(out, "{}{ty}: {bits};", indent(lvl));
        from += bits;
    }
}
