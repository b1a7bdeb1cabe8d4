//! Value conversion, as libbpf's `set_kcfg_value_tri` / `_str` / `_num`: the bytes one extern gets
//! from the text of its config value. Errors are the text after "NAME: ".

use super::config::show;
use super::{KconfigExtern, Kind, TRI_MODULE, TRI_NO, TRI_YES};

pub(super) fn set_tri(ext: &KconfigExtern, out: &mut [u8], v: u8) -> Result<(), String> {
    let c = char::from(v);
    match ext.ty.kind() {
        Kind::Bool => {
            if v == b'm' {
                return Err(format!("value '{c}' implies tristate or char type"));
            }
            out[0] = u8::from(v == b'y');
        }
        Kind::Tristate => {
            let t = match v {
                b'y' => TRI_YES,
                b'm' => TRI_MODULE,
                _ => TRI_NO,
            };
            out.copy_from_slice(&t.to_ne_bytes());
        }
        Kind::Char { .. } => out[0] = v,
        Kind::Int { .. } | Kind::Str { .. } => {
            return Err(format!("value '{c}' implies bool, tristate, or char type"));
        }
    }
    Ok(())
}

pub(super) fn set_str(ext: &KconfigExtern, out: &mut [u8], value: &[u8]) -> Result<(), String> {
    let Kind::Str { len: sz } = ext.ty.kind() else {
        return Err(format!("value '{}' implies char array type", show(value)));
    };
    if value.len() < 2 || value.last() != Some(&b'"') {
        return Err(format!("invalid string config '{}'", show(value)));
    }
    let inner = &value[1..value.len() - 1];
    // libbpf truncates (with a warning) to sz - 1 bytes.
    let n = inner.len().min(sz - 1);
    out[..n].copy_from_slice(&inner[..n]);
    out[n] = 0;
    Ok(())
}

pub(super) fn in_range(v: u64, size: usize, signed: bool) -> bool {
    if size == 8 {
        return true;
    }
    let bits = size as u32 * 8;
    if signed {
        v.wrapping_add(1u64 << (bits - 1)) < (1u64 << bits)
    } else {
        v >> bits == 0
    }
}

pub(super) fn set_num(ext: &KconfigExtern, out: &mut [u8], v: u64) -> Result<(), String> {
    let (size, signed) = match ext.ty.kind() {
        Kind::Bool => {
            if v > 1 {
                return Err(format!("value '{v}' isn't boolean compatible"));
            }
            (1, false)
        }
        Kind::Char { signed } => (1, signed),
        Kind::Int { size, signed } => (size, signed),
        Kind::Tristate | Kind::Str { .. } => {
            return Err(format!(
                "value '{v}' implies integer, char, or boolean type"
            ));
        }
    };
    if !in_range(v, size, signed) {
        return Err(format!("value '{v}' doesn't fit in {size} bytes"));
    }
    match size {
        1 => out.copy_from_slice(&(v as u8).to_ne_bytes()),
        2 => out.copy_from_slice(&(v as u16).to_ne_bytes()),
        4 => out.copy_from_slice(&(v as u32).to_ne_bytes()),
        _ => out.copy_from_slice(&v.to_ne_bytes()),
    }
    Ok(())
}

/// `strtoull(s, &end, 0)` that must consume all of `s`: leading white space, an optional sign (a minus
/// negates in two's complement), `0x`/`0X` hex, `0` octal, else decimal.
pub(super) fn parse_u64(s: &[u8]) -> Result<u64, &'static str> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let base: u64 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(base as u32)) {
        v = v
            .checked_mul(base)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or("out of range")?;
        i += 1;
    }
    if i == start || i != s.len() {
        return Err("not an integer");
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}
