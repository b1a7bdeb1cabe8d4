//! The running kernel's struct_ops layouts, read from its BTF at load time.
//!
//! A struct_ops map's value is the kernel's `struct bpf_struct_ops_<name>`: a common header, then the
//! kernel's `struct <name>` as its member `data`. The value's size, where `data` starts and where each
//! member of `struct <name>` sits are the running kernel's, not the object's, and a BPF program has no
//! way to read them, so the runtime reads them here from `/sys/kernel/btf/vmlinux` (as libbpf does) and
//! passes them to the loader through its ctx.
//!
//! The parser reads the BTF format of `include/uapi/linux/btf.h` (a header, then a type section and a
//! string section, in either byte order). It makes one linear pass over the type section that records
//! where each type starts and finds the one type looked up by name; every later read is bounds-checked,
//! type chains are followed iteratively with a depth limit, and bad input gives an [`Error::KernelBtf`],
//! never a panic. Split BTF (a module's, whose type ids and string offsets continue vmlinux's) is not
//! handled: struct_ops types defined by modules are not found.

// Wired in by the struct_ops loader change (the runtime side that fills the loader ctx); until then
// nothing in the crate calls this module.
#![allow(dead_code)] // some accessors are for tests and future callers

use crate::error::{Error, Result};

mod layout;

pub(crate) use layout::*;

/// Where the running kernel exposes its own BTF.
pub(crate) const VMLINUX_BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// The kernel names the value type of struct_ops `foo` `struct bpf_struct_ops_foo`.
const VALUE_PREFIX: &str = "bpf_struct_ops_";
/// The member of the value type that holds the kernel's `struct foo`.
const DATA_MEMBER: &str = "data";

const MAGIC: u16 = lskel_abi::btf::BTF_MAGIC;
const VERSION: u8 = lskel_abi::btf::BTF_VERSION;
/// `struct btf_header`: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len.
const HEADER_LEN: usize = lskel_abi::btf::HEADER_SIZE;
/// `struct btf_type`: name_off, info, size/type.
const TYPE_LEN: usize = lskel_abi::btf::TYPE_SIZE;
/// How many typedefs, modifiers and array levels a type chain may have (libbpf allows 32 too).
const MAX_CHAIN: usize = 32;
/// Pointer size of the BPF target and of the 64-bit kernels struct_ops runs on.
const PTR_SIZE: usize = 8;
/// A sanity limit on a struct_ops value (real ones are a few hundred bytes): bigger means corrupt BTF,
/// and it keeps [`StructOpsLayout::translate`] from allocating whatever a corrupt size says.
const MAX_VALUE_SIZE: usize = 1 << 20;

/// `BTF_KIND_*` values.
mod kind {
    use lskel_abi::btf::kind as k;
    pub(super) const INT: u8 = k::INT as u8;
    pub(super) const PTR: u8 = k::PTR as u8;
    pub(super) const ARRAY: u8 = k::ARRAY as u8;
    pub(super) const STRUCT: u8 = k::STRUCT as u8;
    pub(super) const UNION: u8 = k::UNION as u8;
    pub(super) const ENUM: u8 = k::ENUM as u8;
    pub(super) const FWD: u8 = k::FWD as u8;
    pub(super) const TYPEDEF: u8 = k::TYPEDEF as u8;
    pub(super) const VOLATILE: u8 = k::VOLATILE as u8;
    pub(super) const CONST: u8 = k::CONST as u8;
    pub(super) const RESTRICT: u8 = k::RESTRICT as u8;
    pub(super) const FUNC: u8 = k::FUNC as u8;
    pub(super) const FUNC_PROTO: u8 = k::FUNC_PROTO as u8;
    pub(super) const VAR: u8 = k::VAR as u8;
    pub(super) const DATASEC: u8 = k::DATASEC as u8;
    pub(super) const FLOAT: u8 = k::FLOAT as u8;
    pub(super) const DECL_TAG: u8 = k::DECL_TAG as u8;
    pub(super) const TYPE_TAG: u8 = k::TYPE_TAG as u8;
    pub(super) const ENUM64: u8 = k::ENUM64 as u8;
}

/// The C-ish name of a kind, for error messages.
fn kind_name(k: u8) -> &'static str {
    match k {
        kind::INT => "INT",
        kind::PTR => "PTR",
        kind::ARRAY => "ARRAY",
        kind::STRUCT => "STRUCT",
        kind::UNION => "UNION",
        kind::ENUM => "ENUM",
        kind::FWD => "FWD",
        kind::TYPEDEF => "TYPEDEF",
        kind::VOLATILE => "VOLATILE",
        kind::CONST => "CONST",
        kind::RESTRICT => "RESTRICT",
        kind::FUNC => "FUNC",
        kind::FUNC_PROTO => "FUNC_PROTO",
        kind::VAR => "VAR",
        kind::DATASEC => "DATASEC",
        kind::FLOAT => "FLOAT",
        kind::DECL_TAG => "DECL_TAG",
        kind::TYPE_TAG => "TYPE_TAG",
        kind::ENUM64 => "ENUM64",
        _ => "UNKNOWN",
    }
}

/// Kinds that only qualify or rename the type they point to.
fn is_modifier(k: u8) -> bool {
    matches!(
        k,
        kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG
    )
}

fn btf_error(what: String) -> Error {
    Error::KernelBtf { what }
}

fn malformed(what: std::fmt::Arguments<'_>) -> Error {
    btf_error(format!("malformed kernel BTF: {what}"))
}

/// A parsed BTF blob: the two sections and where each type record starts.
struct Btf<'a> {
    big_endian: bool,
    types: &'a [u8],
    strings: &'a [u8],
    /// Byte offset in `types` of type id `i`, at index `i - 1` (id 0 is `void` and has no record).
    offsets: Vec<u32>,
}

/// The fixed part of one type record.
#[derive(Debug, Clone, Copy)]
struct Type {
    kind: u8,
    kind_flag: bool,
    vlen: usize,
    name_off: u32,
    /// `size` for sized kinds, `type` for the kinds that refer to another type.
    size_or_type: u32,
    /// Offset in the type section of the data that follows the fixed part.
    extra: usize,
}

/// A struct or union member, offsets decoded.
#[derive(Debug, Clone, Copy)]
struct Member {
    name_off: u32,
    type_id: u32,
    bit_offset: u32,
    bitfield_bits: u8,
}

fn read_u32(big_endian: bool, buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

impl<'a> Btf<'a> {
    /// Checks the header, walks the type section once recording every type's offset and, if `find`
    /// is `(kind, name)`, returns the first type of that kind and name as well.
    fn parse(data: &'a [u8], find: Option<(u8, &str)>) -> Result<(Self, Option<u32>)> {
        let big_endian = match data.get(..2) {
            Some(m) if m == MAGIC.to_le_bytes() => false,
            Some(m) if m == MAGIC.to_be_bytes() => true,
            Some(_) => return Err(malformed(format_args!("bad magic number"))),
            None => {
                return Err(malformed(format_args!(
                    "{} bytes, shorter than its header",
                    data.len()
                )))
            }
        };
        let header = |at: usize| read_u32(big_endian, data, at).map(|v| v as usize);
        let (Some(hdr_len), Some(type_off), Some(type_len), Some(str_off), Some(str_len)) =
            (header(4), header(8), header(12), header(16), header(20))
        else {
            return Err(malformed(format_args!(
                "{} bytes, shorter than its header",
                data.len()
            )));
        };
        let version = data.get(2).copied().unwrap_or_default();
        if version != VERSION {
            return Err(malformed(format_args!(
                "version {version}, expected {VERSION}"
            )));
        }
        let body = (hdr_len >= HEADER_LEN)
            .then(|| data.get(hdr_len..))
            .flatten()
            .ok_or_else(|| malformed(format_args!("header length {hdr_len}")))?;
        let section = |off: usize, len: usize, what: &str| {
            off.checked_add(len)
                .and_then(|end| body.get(off..end))
                .ok_or_else(|| {
                    malformed(format_args!(
                        "{what} section (offset {off}, {len} bytes) runs past the end ({} bytes \
                         after the header)",
                        body.len()
                    ))
                })
        };
        let types = section(type_off, type_len, "type")?;
        let strings = section(str_off, str_len, "string")?;

        let mut offsets = Vec::with_capacity(types.len() / (TYPE_LEN + 4));
        let mut found = None;
        let mut pos = 0usize;
        while pos < types.len() {
            let id = offsets.len() + 1;
            let truncated = || {
                malformed(format_args!(
                    "the type section ends inside type id {id} (at byte {pos})"
                ))
            };
            let name_off = read_u32(big_endian, types, pos).ok_or_else(truncated)?;
            let info = read_u32(big_endian, types, pos + 4).ok_or_else(truncated)?;
            let k = lskel_abi::btf::bits::kind(info) as u8;
            let vlen = lskel_abi::btf::bits::vlen(info) as usize;
            let extra = match k {
                kind::PTR
                | kind::FWD
                | kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::FUNC
                | kind::FLOAT
                | kind::TYPE_TAG => 0,
                kind::INT | kind::VAR | kind::DECL_TAG => 4,
                kind::ARRAY => 12,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen,
                kind::ENUM | kind::FUNC_PROTO => 8 * vlen,
                _ => {
                    return Err(malformed(format_args!(
                        "type id {id} (at byte {pos}) has unknown kind {k}"
                    )))
                }
            };
            let end = pos + TYPE_LEN + extra;
            if end > types.len() {
                return Err(truncated());
            }
            if let Some((want, name)) = find {
                if found.is_none() && k == want && name_matches(strings, name_off, name) {
                    found = Some(id as u32);
                }
            }
            // `pos < types.len()`, and the section's length came from a u32.
            offsets.push(pos as u32);
            pos = end;
        }
        let btf = Btf {
            big_endian,
            types,
            strings,
            offsets,
        };
        Ok((btf, found))
    }

    fn u32_at(&self, at: usize) -> Result<u32> {
        read_u32(self.big_endian, self.types, at)
            .ok_or_else(|| malformed(format_args!("read past the type section at byte {at}")))
    }

    /// The record of type `id`; `void` (0) and ids past the last type are errors.
    fn ty(&self, id: u32) -> Result<Type> {
        let at = id
            .checked_sub(1)
            .and_then(|i| self.offsets.get(i as usize).copied())
            .ok_or_else(|| {
                malformed(format_args!(
                    "reference to type id {id}, which does not exist ({} types)",
                    self.offsets.len()
                ))
            })? as usize;
        let info = self.u32_at(at + 4)?;
        Ok(Type {
            kind: lskel_abi::btf::bits::kind(info) as u8,
            kind_flag: lskel_abi::btf::bits::kflag(info),
            vlen: lskel_abi::btf::bits::vlen(info) as usize,
            name_off: self.u32_at(at)?,
            size_or_type: self.u32_at(at + 8)?,
            extra: at + TYPE_LEN,
        })
    }

    /// Member `i` of struct or union `t`.
    fn member(&self, t: &Type, i: usize) -> Result<Member> {
        let at = t.extra + 12 * i;
        let raw = self.u32_at(at + 8)?;
        let (bit_offset, bitfield_bits) = if t.kind_flag {
            (
                lskel_abi::btf::bits::member_bit_offset(raw),
                lskel_abi::btf::bits::member_bitfield_size(raw) as u8,
            )
        } else {
            (raw, 0)
        };
        Ok(Member {
            name_off: self.u32_at(at)?,
            type_id: self.u32_at(at + 4)?,
            bit_offset,
            bitfield_bits,
        })
    }

    /// The NUL-terminated string at `off` in the string section.
    fn name(&self, off: u32) -> Result<&'a str> {
        let tail = self.strings.get(off as usize..).unwrap_or_default();
        let len = tail.iter().position(|&b| b == 0).ok_or_else(|| {
            malformed(format_args!(
                "string offset {off} is not followed by a NUL inside the string section ({} bytes)",
                self.strings.len()
            ))
        })?;
        std::str::from_utf8(&tail[..len])
            .map_err(|_| malformed(format_args!("string at offset {off} is not UTF-8")))
    }

    fn name_is(&self, off: u32, name: &str) -> bool {
        name_matches(self.strings, off, name)
    }

    /// Follows typedefs, qualifiers and type tags from `id`; `None` is `void`.
    fn skip_modifiers(&self, mut id: u32) -> Result<Option<Type>> {
        for _ in 0..MAX_CHAIN {
            if id == 0 {
                return Ok(None);
            }
            let t = self.ty(id)?;
            if !is_modifier(t.kind) {
                return Ok(Some(t));
            }
            id = t.size_or_type;
        }
        Err(malformed(format_args!(
            "type chain at id {id} is longer than {MAX_CHAIN} (a loop?)"
        )))
    }

    /// Byte size of type `id`: typedefs, qualifiers, type tags and variables followed, arrays
    /// multiplied out, pointers [`PTR_SIZE`].
    fn size_of(&self, start: u32) -> Result<usize> {
        let overflow = || malformed(format_args!("the size of type id {start} overflows"));
        let mut id = start;
        let mut count: usize = 1;
        for _ in 0..MAX_CHAIN {
            if id == 0 {
                return Err(malformed(format_args!(
                    "type id {start} has no size: it is void"
                )));
            }
            let t = self.ty(id)?;
            let size = match t.kind {
                kind::INT
                | kind::ENUM
                | kind::ENUM64
                | kind::STRUCT
                | kind::UNION
                | kind::FLOAT
                | kind::DATASEC => t.size_or_type as usize,
                kind::PTR => PTR_SIZE,
                k if is_modifier(k) || k == kind::VAR => {
                    id = t.size_or_type;
                    continue;
                }
                kind::ARRAY => {
                    let elem = self.u32_at(t.extra)?;
                    let n = self.u32_at(t.extra + 8)?;
                    count = count.checked_mul(n as usize).ok_or_else(overflow)?;
                    id = elem;
                    continue;
                }
                k => {
                    return Err(malformed(format_args!(
                        "type id {start} has no size: it leads to a {} (id {id})",
                        kind_name(k)
                    )))
                }
            };
            return count.checked_mul(size).ok_or_else(overflow);
        }
        Err(malformed(format_args!(
            "type chain at id {start} is longer than {MAX_CHAIN} (a loop?)"
        )))
    }

    /// Whether type `id` is a pointer to a function prototype (modifiers skipped on both sides).
    fn is_func_ptr(&self, id: u32) -> Result<bool> {
        match self.skip_modifiers(id)? {
            Some(t) if t.kind == kind::PTR => Ok(self
                .skip_modifiers(t.size_or_type)?
                .is_some_and(|t| t.kind == kind::FUNC_PROTO)),
            _ => Ok(false),
        }
    }
}

/// Whether the string at `off` in `strings` is exactly `name`.
fn name_matches(strings: &[u8], off: u32, name: &str) -> bool {
    strings
        .get(off as usize..)
        .and_then(|s| s.strip_prefix(name.as_bytes()))
        .is_some_and(|rest| rest.first() == Some(&0))
}

#[cfg(test)]
mod tests;
