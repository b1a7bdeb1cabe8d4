//! Enum bodies: enumerators with their values, and a size C would not pick spelt out.

use std::fmt::Write;

use super::super::kind;
use super::{indent, Dumper};
use crate::error::Result;

impl Dumper<'_> {
    pub(super) fn enum_def(&self, id: u32, lvl: usize) -> Result<String> {
        let t = self.ty(id)?;
        let signed = t.kflag();
        let mut out = String::from("enum");
        if t.name_off != 0 {
            out.push(' ');
            out.push_str(&self.names[id as usize]);
        }
        out.push_str(" {\n");
        let names = self.enumerators.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let mut wide = false;
        let step = if t.kind() == kind::ENUM { 2 } else { 3 };
        for (k, c) in t.extra.chunks_exact(step).enumerate() {
            let raw = if step == 2 {
                if signed {
                    c[1] as i32 as i64 as u64
                } else {
                    u64::from(c[1])
                }
            } else {
                u64::from(c[1]) | (u64::from(c[2]) << 32)
            };
            let value = if signed {
                let v = raw as i64;
                wide |= i32::try_from(v).is_err();
                if v == i64::MIN {
                    "(-9223372036854775807LL - 1)".to_string()
                } else if i32::try_from(v).is_err() {
                    format!("{v}LL")
                } else {
                    v.to_string()
                }
            } else {
                wide |= raw > u64::from(u32::MAX);
                if raw > u64::from(u32::MAX) {
                    format!("{raw}ULL")
                } else {
                    raw.to_string()
                }
            };
            let name = names.get(k).map(String::as_str).unwrap_or("");
            let _ = writeln!(out, "{}{name} = {value},", indent(lvl + 1));
        }
        out.push_str(&indent(lvl));
        out.push('}');
        // C makes an enum `int`-sized unless a value needs more: say so when BTF differs.
        let natural = if wide { 8 } else { 4 };
        if t.size_or_type != natural {
            let mode = match t.size_or_type {
                1 => "QI",
                2 => "HI",
                4 => "SI",
                _ => "DI",
            };
            let _ = write!(out, " __attribute__((mode({mode})))");
        }
        Ok(out)
    }
}
