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
use std::sync::OnceLock;

/// Where the running kernel exposes its own BTF.
pub(crate) const VMLINUX_BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// The kernel names the value type of struct_ops `foo` `struct bpf_struct_ops_foo`.
const VALUE_PREFIX: &str = "bpf_struct_ops_";
/// The member of the value type that holds the kernel's `struct foo`.
const DATA_MEMBER: &str = "data";

const MAGIC: u16 = 0xeb9f;
const VERSION: u8 = 1;
/// `struct btf_header`: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len.
const HEADER_LEN: usize = 24;
/// `struct btf_type`: name_off, info, size/type.
const TYPE_LEN: usize = 12;
/// How many typedefs, modifiers and array levels a type chain may have (libbpf allows 32 too).
const MAX_CHAIN: usize = 32;
/// Pointer size of the BPF target and of the 64-bit kernels struct_ops runs on.
const PTR_SIZE: usize = 8;
/// A sanity limit on a struct_ops value (real ones are a few hundred bytes): bigger means corrupt BTF,
/// and it keeps [`StructOpsLayout::translate`] from allocating whatever a corrupt size says.
const MAX_VALUE_SIZE: usize = 1 << 20;

/// `BTF_KIND_*` values.
mod kind {
    pub(super) const INT: u8 = 1;
    pub(super) const PTR: u8 = 2;
    pub(super) const ARRAY: u8 = 3;
    pub(super) const STRUCT: u8 = 4;
    pub(super) const UNION: u8 = 5;
    pub(super) const ENUM: u8 = 6;
    pub(super) const FWD: u8 = 7;
    pub(super) const TYPEDEF: u8 = 8;
    pub(super) const VOLATILE: u8 = 9;
    pub(super) const CONST: u8 = 10;
    pub(super) const RESTRICT: u8 = 11;
    pub(super) const FUNC: u8 = 12;
    pub(super) const FUNC_PROTO: u8 = 13;
    pub(super) const VAR: u8 = 14;
    pub(super) const DATASEC: u8 = 15;
    pub(super) const FLOAT: u8 = 16;
    pub(super) const DECL_TAG: u8 = 17;
    pub(super) const TYPE_TAG: u8 = 18;
    pub(super) const ENUM64: u8 = 19;
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

/// The running kernel's layout of one struct_ops type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StructOpsLayout {
    /// The struct_ops name, e.g. `tcp_congestion_ops`.
    pub(crate) struct_name: String,
    /// Size of `struct bpf_struct_ops_<struct_name>`: the map's value size.
    pub(crate) value_size: usize,
    /// Byte offset of that struct's member `data` (the kernel's `struct <struct_name>`).
    pub(crate) data_offset: usize,
    /// Size of the kernel's `struct <struct_name>`.
    pub(crate) struct_size: usize,
    /// The members of the kernel's `struct <struct_name>`, in declaration order.
    pub(crate) members: Vec<KernelMember>,
}

/// One member of a kernel struct_ops struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelMember {
    /// The member's name (empty for an anonymous struct or union member).
    pub(crate) name: String,
    /// Byte offset within the struct (for a bitfield: of the byte holding its first bit).
    pub(crate) offset: usize,
    /// Byte size of the member's type, typedefs and qualifiers resolved (for a bitfield: of its
    /// underlying type).
    pub(crate) size: usize,
    /// Whether the member is a function pointer (a slot for a BPF program).
    pub(crate) is_func: bool,
    /// Width in bits of a bitfield member; 0 when the member is not a bitfield.
    pub(crate) bitfield_bits: u8,
}

/// One member of the object's struct_ops struct, as the object's BTF lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectMember<'a> {
    /// The member's name.
    pub(crate) name: &'a str,
    /// Byte offset within the object's struct.
    pub(crate) offset: usize,
    /// Byte size.
    pub(crate) size: usize,
    /// Whether the member is a function pointer (a slot for a BPF program).
    pub(crate) is_func: bool,
}

/// A struct_ops map value in the running kernel's layout, made by [`StructOpsLayout::translate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelValue {
    /// `value_size` bytes: zeros, with the object's non-function members at their kernel offsets.
    pub(crate) value: Vec<u8>,
    /// For each function member of the object, in the order given: its byte offset in `value`
    /// (`data_offset` + the kernel member's offset), where the program's fd goes; `None` when the
    /// running kernel's struct has no such member (libbpf then skips the program, or fails if the
    /// caller requires it).
    pub(crate) func_offsets: Vec<Option<usize>>,
}

impl StructOpsLayout {
    /// The kernel member called `name`, if the kernel's struct has one. Anonymous members never match.
    pub(crate) fn member(&self, name: &str) -> Option<&KernelMember> {
        if name.is_empty() {
            return None;
        }
        self.members.iter().find(|m| m.name == name)
    }

    /// Lays the object's struct value `object` (described by `members`) out as the running kernel's
    /// `struct bpf_struct_ops_<name>`.
    ///
    /// Non-function members are copied to their kernel offsets; one that is all zeros is skipped, so a
    /// member the kernel lacks is fine as long as the object leaves it zero. A non-zero member the kernel
    /// lacks, whose size differs, or that the kernel has as a function pointer or a bitfield, is refused.
    /// Function members are not copied: their offsets in the value come back in
    /// [`KernelValue::func_offsets`].
    pub(crate) fn translate(
        &self,
        members: &[ObjectMember<'_>],
        object: &[u8],
    ) -> Result<KernelValue> {
        let name = &self.struct_name;
        let mut value = vec![0u8; self.value_size];
        let mut func_offsets = Vec::new();
        for m in members {
            let bytes = m
                .offset
                .checked_add(m.size)
                .and_then(|end| object.get(m.offset..end))
                .ok_or_else(|| {
                    btf_error(format!(
                        "struct_ops `{name}`: the object's member `{}` (bytes {}..+{}) lies outside \
                         its {}-byte struct",
                        m.name,
                        m.offset,
                        m.size,
                        object.len()
                    ))
                })?;
            let kernel = self.member(m.name);
            if m.is_func {
                match kernel {
                    None => func_offsets.push(None),
                    Some(k) if k.is_func => func_offsets.push(Some(self.data_offset + k.offset)),
                    Some(_) => {
                        return Err(btf_error(format!(
                            "struct_ops `{name}`: member `{}` is a function pointer in the object \
                             but not in the running kernel's `struct {name}`",
                            m.name
                        )))
                    }
                }
                continue;
            }
            if bytes.iter().all(|&b| b == 0) {
                continue;
            }
            let k = kernel.ok_or_else(|| {
                btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}`, which the running kernel's \
                     `struct {name}` does not have",
                    m.name
                ))
            })?;
            if k.is_func {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}` as data, but in the running \
                     kernel's `struct {name}` it is a function pointer",
                    m.name
                )));
            }
            if k.bitfield_bits != 0 {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: member `{}` is a bitfield in the running kernel's \
                     `struct {name}`; setting bitfields is not supported",
                    m.name
                )));
            }
            if k.size != m.size {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}` as {} bytes, but the running \
                     kernel's is {} bytes",
                    m.name, m.size, k.size
                )));
            }
            // struct_ops_layout checked that every non-bitfield member lies inside the value.
            let at = self.data_offset + k.offset;
            let slot = value.get_mut(at..at + k.size).ok_or_else(|| {
                btf_error(format!(
                    "struct_ops `{name}`: kernel member `{}` lies outside the value",
                    m.name
                ))
            })?;
            slot.copy_from_slice(bytes);
        }
        Ok(KernelValue {
            value,
            func_offsets,
        })
    }
}

/// The layout of struct_ops `struct_name` (e.g. `tcp_congestion_ops`) in the BTF `btf`.
pub(crate) fn struct_ops_layout(btf: &[u8], struct_name: &str) -> Result<StructOpsLayout> {
    let value_name = format!("{VALUE_PREFIX}{struct_name}");
    let (btf, found) = Btf::parse(btf, Some((kind::STRUCT, &value_name)))?;
    let value_id = found.ok_or_else(|| {
        btf_error(format!(
            "the running kernel has no struct_ops type `{value_name}` (is the subsystem built in?)"
        ))
    })?;
    let value_ty = btf.ty(value_id)?;
    let value_size = value_ty.size_or_type as usize;
    if value_size > MAX_VALUE_SIZE {
        return Err(malformed(format_args!(
            "`struct {value_name}` claims {value_size} bytes"
        )));
    }

    let mut data = None;
    for i in 0..value_ty.vlen {
        let m = btf.member(&value_ty, i)?;
        if btf.name_is(m.name_off, DATA_MEMBER) {
            data = Some(m);
            break;
        }
    }
    let data = data.ok_or_else(|| {
        btf_error(format!(
            "the running kernel's `struct {value_name}` has no member `{DATA_MEMBER}`"
        ))
    })?;
    if data.bitfield_bits != 0 || data.bit_offset % 8 != 0 {
        return Err(malformed(format_args!(
            "member `{DATA_MEMBER}` of `struct {value_name}` is not byte-aligned"
        )));
    }
    let data_offset = (data.bit_offset / 8) as usize;
    let st = match btf.skip_modifiers(data.type_id)? {
        Some(t) if t.kind == kind::STRUCT && btf.name_is(t.name_off, struct_name) => t,
        _ => {
            return Err(btf_error(format!(
                "member `{DATA_MEMBER}` of the running kernel's `struct {value_name}` is not a \
                 `struct {struct_name}`"
            )))
        }
    };
    let struct_size = st.size_or_type as usize;
    if data_offset
        .checked_add(struct_size)
        .is_none_or(|end| end > value_size)
    {
        return Err(malformed(format_args!(
            "`struct {struct_name}` ({struct_size} bytes at {data_offset}) does not fit in the \
             {value_size}-byte `struct {value_name}`"
        )));
    }

    let mut members = Vec::with_capacity(st.vlen);
    for i in 0..st.vlen {
        let m = btf.member(&st, i)?;
        let name = btf.name(m.name_off)?;
        let offset = (m.bit_offset / 8) as usize;
        let size = btf.size_of(m.type_id)?;
        if m.bitfield_bits == 0
            && (m.bit_offset % 8 != 0 || offset.checked_add(size).is_none_or(|e| e > struct_size))
        {
            return Err(malformed(format_args!(
                "member `{name}` of `struct {struct_name}` ({size} bytes at bit {}) does not fit \
                 its {struct_size}-byte struct",
                m.bit_offset
            )));
        }
        members.push(KernelMember {
            name: name.to_owned(),
            offset,
            size,
            is_func: btf.is_func_ptr(m.type_id)?,
            bitfield_bits: m.bitfield_bits,
        });
    }
    Ok(StructOpsLayout {
        struct_name: struct_name.to_owned(),
        value_size,
        data_offset,
        struct_size,
        members,
    })
}

/// The running kernel's BTF, read from [`VMLINUX_BTF_PATH`] once per process (failures are cached too).
pub(crate) fn vmlinux_btf() -> Result<&'static [u8]> {
    static CACHE: OnceLock<std::io::Result<Vec<u8>>> = OnceLock::new();
    match CACHE.get_or_init(|| std::fs::read(VMLINUX_BTF_PATH)) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(btf_error(format!(
            "the running kernel has no BTF ({VMLINUX_BTF_PATH} does not exist: it was built without \
             CONFIG_DEBUG_INFO_BTF), and struct_ops maps need it"
        ))),
        Err(e) => Err(Error::Io {
            path: VMLINUX_BTF_PATH,
            source: match e.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(e.kind(), e.to_string()),
            },
        }),
    }
}

/// [`struct_ops_layout`] of the running kernel (its BTF read by [`vmlinux_btf`]).
pub(crate) fn kernel_struct_ops_layout(struct_name: &str) -> Result<StructOpsLayout> {
    struct_ops_layout(vmlinux_btf()?, struct_name)
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
            let k = ((info >> 24) & 0x1f) as u8;
            let vlen = (info & 0xffff) as usize;
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
            kind: ((info >> 24) & 0x1f) as u8,
            kind_flag: info >> 31 != 0,
            vlen: (info & 0xffff) as usize,
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
            (raw & 0x00ff_ffff, (raw >> 24) as u8)
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
mod tests {
    use super::*;

    /// Builds BTF blobs type by type. Every type record is a run of u32 words, so the blob can be
    /// written in either byte order.
    struct Builder {
        words: Vec<u32>,
        strings: Vec<u8>,
        count: u32,
    }

    impl Builder {
        fn new() -> Self {
            Builder {
                words: Vec::new(),
                strings: vec![0],
                count: 0,
            }
        }

        fn str(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }

        fn add(&mut self, name: &str, k: u8, flag: bool, vlen: u32, sz: u32, extra: &[u32]) -> u32 {
            let name_off = self.str(name);
            let info = (flag as u32) << 31 | (k as u32) << 24 | vlen;
            self.words.extend([name_off, info, sz]);
            self.words.extend_from_slice(extra);
            self.count += 1;
            self.count
        }

        fn int(&mut self, name: &str, size: u32) -> u32 {
            self.add(name, kind::INT, false, 0, size, &[size * 8])
        }
        fn ptr(&mut self, to: u32) -> u32 {
            self.add("", kind::PTR, false, 0, to, &[])
        }
        fn modifier(&mut self, k: u8, name: &str, to: u32) -> u32 {
            self.add(name, k, false, 0, to, &[])
        }
        fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
            self.add("", kind::ARRAY, false, 0, 0, &[elem, index, n])
        }
        /// Members are (name, type, bit offset, bitfield bits); any bitfield sets kind_flag.
        fn composite(
            &mut self,
            k: u8,
            name: &str,
            size: u32,
            members: &[(&str, u32, u32, u32)],
        ) -> u32 {
            let flag = members.iter().any(|m| m.3 != 0);
            let mut extra = Vec::new();
            for &(mname, ty, bit_off, bits) in members {
                let off = if flag { bits << 24 | bit_off } else { bit_off };
                extra.extend([self.str(mname), ty, off]);
            }
            self.add(name, k, flag, members.len() as u32, size, &extra)
        }
        fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
            self.composite(kind::STRUCT, name, size, members)
        }
        fn func_proto(&mut self, ret: u32, params: &[u32]) -> u32 {
            let extra: Vec<u32> = params.iter().flat_map(|&p| [0, p]).collect();
            self.add(
                "",
                kind::FUNC_PROTO,
                false,
                params.len() as u32,
                ret,
                &extra,
            )
        }

        fn build(&self, big_endian: bool) -> Vec<u8> {
            let word = |w: u32| {
                if big_endian {
                    w.to_be_bytes()
                } else {
                    w.to_le_bytes()
                }
            };
            let type_len = self.words.len() as u32 * 4;
            let mut out = Vec::new();
            out.extend_from_slice(&if big_endian {
                MAGIC.to_be_bytes()
            } else {
                MAGIC.to_le_bytes()
            });
            out.extend([VERSION, 0]);
            for w in [
                HEADER_LEN as u32,
                0,
                type_len,
                type_len,
                self.strings.len() as u32,
            ] {
                out.extend(word(w));
            }
            for &w in &self.words {
                out.extend(word(w));
            }
            out.extend_from_slice(&self.strings);
            out
        }
    }

    /// A kernel-like BTF with `struct demo_ops` and its value type, plus one type of every kind.
    fn demo_btf(big_endian: bool) -> Vec<u8> {
        let mut b = Builder::new();
        let uint = b.int("unsigned int", 4);
        let int = b.int("int", 4);
        let u8_ = b.int("unsigned char", 1);
        let u64_ = b.int("unsigned long long", 8);
        let char_ = b.int("char", 1);
        let u32_a = b.modifier(kind::TYPEDEF, "__u32", uint);
        let u32_b = b.modifier(kind::TYPEDEF, "u32", u32_a);
        let cu32 = b.modifier(kind::CONST, "", u32_b);
        let vcu32 = b.modifier(kind::VOLATILE, "", cu32);
        let sock = b.add("sock", kind::FWD, false, 0, 0, &[]);
        let sock_p = b.ptr(sock);
        let rsock_p = b.modifier(kind::RESTRICT, "", sock_p);
        let proto = b.func_proto(u32_b, &[rsock_p]);
        let fn_p = b.ptr(proto);
        let fn_t = b.modifier(kind::TYPEDEF, "ssthresh_fn", fn_p);
        let cfn_t = b.modifier(kind::CONST, "", fn_t);
        let tagged = b.modifier(kind::TYPE_TAG, "rcu", sock);
        let tagged_p = b.ptr(tagged);
        let void_p = b.ptr(0);
        let name_arr = b.array(char_, int, 16);
        let grid_row = b.array(vcu32, int, 3);
        let grid = b.array(grid_row, int, 2);
        let anon_u = b.composite(kind::UNION, "", 8, &[("a", u64_, 0, 0), ("b", uint, 0, 0)]);
        let one = b.str("ONE");
        let e = b.add("e", kind::ENUM, false, 1, 4, &[one, 1]);
        b.add("e64", kind::ENUM64, false, 1, 8, &[0, 1, 2]);
        let func = b.add("do_it", kind::FUNC, false, 0, proto, &[]);
        let var = b.add("a_var", kind::VAR, false, 0, u64_, &[1]);
        b.add(".data", kind::DATASEC, false, 1, 8, &[var, 0, 8]);
        b.add("double", kind::FLOAT, false, 0, 8, &[]);
        b.add("bpf_kfunc", kind::DECL_TAG, false, 0, func, &[u32::MAX]);
        // A look-alike that must not be picked: a FWD named like the value type.
        b.add("bpf_struct_ops_demo_ops", kind::FWD, false, 0, 0, &[]);
        let flags = b.strukt("demo_flags", 4, &[("lo", u8_, 0, 3), ("hi", uint, 3, 29)]);
        let demo = b.strukt(
            "demo_ops",
            104,
            &[
                ("ssthresh", cfn_t, 0, 0),   // 0, 8, func
                ("limit", vcu32, 64, 0),     // 8, 4
                ("mode", e, 96, 0),          // 12, 4
                ("name", name_arr, 128, 0),  // 16, 16
                ("owner", tagged_p, 256, 0), // 32, 8
                ("cookie", void_p, 320, 0),  // 40, 8
                ("grid", grid, 384, 0),      // 48, 24
                ("", anon_u, 576, 0),        // 72, 8
                ("flags", flags, 640, 0),    // 80, 4
                ("release", fn_p, 704, 0),   // 88, 8, func
                ("big", u64_, 768, 0),       // 96, 8
            ],
        );
        let common = b.strukt(
            "bpf_struct_ops_common_value",
            8,
            &[("refcnt", int, 0, 0), ("state", int, 32, 0)],
        );
        b.strukt(
            "bpf_struct_ops_demo_ops",
            192,
            &[("common", common, 0, 0), ("data", demo, 512, 0)],
        );
        // A struct with bitfield members (kind_flag set), declared after its value type.
        let bits = b.count + 2;
        b.strukt(
            "bpf_struct_ops_bits",
            16,
            &[("common", common, 0, 0), ("data", bits, 64, 0)],
        );
        b.strukt(
            "bits",
            8,
            &[
                ("on", uint, 0, 1),
                ("level", uint, 1, 7),
                ("word", uint, 32, 0),
            ],
        );
        b.build(big_endian)
    }

    fn member(name: &str, offset: usize, size: usize, is_func: bool, bits: u8) -> KernelMember {
        KernelMember {
            name: name.into(),
            offset,
            size,
            is_func,
            bitfield_bits: bits,
        }
    }

    fn what(e: Error) -> String {
        match e {
            Error::KernelBtf { what } => what,
            other => panic!("expected Error::KernelBtf, got {other:?}"),
        }
    }

    #[test]
    fn demo_layout_resolves_chains_arrays_and_func_pointers() {
        for big_endian in [false, true] {
            let l = struct_ops_layout(&demo_btf(big_endian), "demo_ops").unwrap();
            assert_eq!((l.value_size, l.data_offset, l.struct_size), (192, 64, 104));
            assert_eq!(
                l.members,
                [
                    member("ssthresh", 0, 8, true, 0),
                    member("limit", 8, 4, false, 0),
                    member("mode", 12, 4, false, 0),
                    member("name", 16, 16, false, 0),
                    member("owner", 32, 8, false, 0),
                    member("cookie", 40, 8, false, 0),
                    member("grid", 48, 24, false, 0),
                    member("", 72, 8, false, 0),
                    member("flags", 80, 4, false, 0),
                    member("release", 88, 8, true, 0),
                    member("big", 96, 8, false, 0),
                ],
                "big_endian {big_endian}"
            );
        }
    }

    #[test]
    fn kind_flag_bitfield_offsets() {
        let l = struct_ops_layout(&demo_btf(false), "bits").unwrap();
        assert_eq!((l.value_size, l.data_offset), (16, 8));
        assert_eq!(
            l.members,
            [
                member("on", 0, 4, false, 1),
                member("level", 0, 4, false, 7),
                member("word", 4, 4, false, 0),
            ]
        );
    }

    #[test]
    fn missing_types_are_named() {
        let btf = demo_btf(false);
        let e = what(struct_ops_layout(&btf, "nope").unwrap_err());
        assert_eq!(
            e,
            "the running kernel has no struct_ops type `bpf_struct_ops_nope` (is the subsystem \
             built in?)"
        );

        let mut b = Builder::new();
        let int = b.int("int", 4);
        b.strukt("bpf_struct_ops_x", 8, &[("common", int, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(
            e.contains("`struct bpf_struct_ops_x` has no member `data`"),
            "{e}"
        );

        let mut b = Builder::new();
        let int = b.int("int", 4);
        let y = b.strukt("y", 4, &[("v", int, 0, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", y, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(e.contains("is not a `struct x`"), "{e}");
    }

    #[test]
    fn truncated_input_is_an_error_at_every_length() {
        let btf = demo_btf(false);
        for len in 0..btf.len() {
            let r = struct_ops_layout(&btf[..len], "demo_ops");
            let e = what(r.unwrap_err());
            assert!(e.starts_with("malformed kernel BTF: "), "len {len}: {e}");
        }
    }

    #[test]
    fn corrupt_input_never_panics() {
        let btf = demo_btf(false);
        let mut ok = 0;
        for at in 0..btf.len() {
            for flip in [0x01u8, 0x10, 0x80, 0xff] {
                let mut bad = btf.clone();
                bad[at] ^= flip;
                for name in ["demo_ops", "bits"] {
                    if let Ok(l) = struct_ops_layout(&bad, name) {
                        ok += 1;
                        let _ = l.translate(&[], &[]);
                    }
                }
            }
        }
        assert!(
            ok > 0,
            "some flips (in unused types and strings) must still parse"
        );
    }

    #[test]
    fn corrupt_headers_and_types_are_described() {
        let good = demo_btf(false);
        let check = |bytes: &[u8], expect: &str| {
            let e = what(struct_ops_layout(bytes, "demo_ops").unwrap_err());
            assert!(e.contains(expect), "expected {expect:?} in {e:?}");
        };
        let mut bad = good.clone();
        bad[0] = 0;
        check(&bad, "bad magic");
        let mut bad = good.clone();
        bad[2] = 2;
        check(&bad, "version 2, expected 1");
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        check(&bad, "header length");
        let mut bad = good.clone();
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        check(&bad, "type section");
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        check(&bad, "string section");
        // The first type's kind byte (info's top byte, little-endian) set to 20.
        let mut bad = good.clone();
        bad[HEADER_LEN + 7] = 20;
        check(&bad, "type id 1 (at byte 0) has unknown kind 20");

        // A typedef that names itself, used by a member.
        let mut b = Builder::new();
        let looped = b.modifier(kind::TYPEDEF, "loop", 1);
        let st = b.strukt("x", 8, &[("m", looped, 0, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(e.contains("longer than 32 (a loop?)"), "{e}");

        // An array whose size overflows.
        let mut b = Builder::new();
        let u64_ = b.int("u64", 8);
        let a = b.array(u64_, u64_, u32::MAX);
        let aa = b.array(a, u64_, u32::MAX);
        let st = b.strukt("x", 8, &[("m", aa, 0, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(e.contains("overflows"), "{e}");

        // A member whose type id does not exist; one of a FUNC_PROTO (no size).
        for ty in [99, 2] {
            let mut b = Builder::new();
            let int = b.int("int", 4);
            b.func_proto(int, &[]);
            let st = b.strukt("x", 8, &[("m", ty, 0, 0)]);
            b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
            let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
            let expect = if ty == 99 {
                "type id 99, which does not exist"
            } else {
                "FUNC_PROTO"
            };
            assert!(e.contains(expect), "{e}");
        }

        // A member past the end of its struct, and a struct past the end of the value.
        let mut b = Builder::new();
        let int = b.int("int", 4);
        let st = b.strukt("x", 4, &[("m", int, 32, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(e.contains("does not fit its 4-byte struct"), "{e}");
        let mut b = Builder::new();
        let int = b.int("int", 4);
        let st = b.strukt("x", 4, &[("m", int, 0, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", st, 64, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        assert!(e.contains("does not fit in the 8-byte"), "{e}");
    }

    /// The object's view of `demo_ops`: an older header with other offsets and fewer members.
    fn object_members() -> Vec<ObjectMember<'static>> {
        let m = |name, offset, size, is_func| ObjectMember {
            name,
            offset,
            size,
            is_func,
        };
        vec![
            m("release", 0, 8, true),
            m("name", 8, 16, false),
            m("limit", 24, 4, false),
            m("gone", 28, 4, false),
            m("ssthresh", 32, 8, true),
            m("gone_fn", 40, 8, true),
        ]
    }

    #[test]
    fn translate_moves_members_to_kernel_offsets() {
        let l = struct_ops_layout(&demo_btf(false), "demo_ops").unwrap();
        let mut object = vec![0u8; 48];
        object[8..13].copy_from_slice(b"demo\0");
        object[24..28].copy_from_slice(&7u32.to_le_bytes());
        let v = l.translate(&object_members(), &object).unwrap();
        assert_eq!(v.value.len(), 192);
        assert_eq!(v.func_offsets, [Some(64 + 88), Some(64), None]);
        let mut expect = vec![0u8; 192];
        expect[64 + 16..64 + 21].copy_from_slice(b"demo\0");
        expect[64 + 8..64 + 12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(v.value, expect);
    }

    #[test]
    fn translate_refuses_what_the_kernel_cannot_take() {
        let l = struct_ops_layout(&demo_btf(false), "demo_ops").unwrap();
        let members = object_members();
        let mut object = vec![0u8; 48];
        object[28] = 1;
        let e = what(l.translate(&members, &object).unwrap_err());
        assert_eq!(
            e,
            "struct_ops `demo_ops`: the object sets member `gone`, which the running kernel's \
             `struct demo_ops` does not have"
        );

        let wrong_size = [ObjectMember {
            name: "limit",
            offset: 0,
            size: 8,
            is_func: false,
        }];
        let e = what(l.translate(&wrong_size, &[1; 8]).unwrap_err());
        assert!(
            e.contains("`limit` as 8 bytes, but the running kernel's is 4 bytes"),
            "{e}"
        );

        let data_over_func = [ObjectMember {
            name: "ssthresh",
            offset: 0,
            size: 8,
            is_func: false,
        }];
        let e = what(l.translate(&data_over_func, &[1; 8]).unwrap_err());
        assert!(e.contains("it is a function pointer"), "{e}");
        let func_over_data = [ObjectMember {
            name: "big",
            offset: 0,
            size: 8,
            is_func: true,
        }];
        let e = what(l.translate(&func_over_data, &[0; 8]).unwrap_err());
        assert!(
            e.contains("`big` is a function pointer in the object"),
            "{e}"
        );

        let outside = [ObjectMember {
            name: "limit",
            offset: 6,
            size: 4,
            is_func: false,
        }];
        let e = what(l.translate(&outside, &[0; 8]).unwrap_err());
        assert!(e.contains("lies outside its 8-byte struct"), "{e}");

        let bits = struct_ops_layout(&demo_btf(false), "bits").unwrap();
        let set_bitfield = [ObjectMember {
            name: "level",
            offset: 0,
            size: 4,
            is_func: false,
        }];
        let e = what(bits.translate(&set_bitfield, &[1, 0, 0, 0]).unwrap_err());
        assert!(e.contains("bitfield"), "{e}");
    }

    /// The real kernel's BTF, or `None` (with the reason printed) when it cannot be read and
    /// `LSKEL_REQUIRE_KERNEL=1` is not set.
    fn kernel_btf() -> Option<&'static [u8]> {
        match vmlinux_btf() {
            Ok(btf) => Some(btf),
            Err(e) if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") => {
                panic!("LSKEL_REQUIRE_KERNEL=1 but the kernel BTF is unreadable: {e}")
            }
            Err(e) => {
                eprintln!("skipping: {e}");
                None
            }
        }
    }

    /// `(name, bit offset)` of each member of `struct name` as `bpftool btf dump file` prints it, or
    /// `None` when bpftool cannot be run.
    fn bpftool_members(name: &str) -> Option<Vec<(String, u32)>> {
        let out = std::process::Command::new("bpftool")
            .args(["btf", "dump", "file", VMLINUX_BTF_PATH])
            .output();
        let out = match out {
            Ok(out) if out.status.success() => out.stdout,
            Ok(out) => {
                eprintln!(
                    "skipping the bpftool comparison: bpftool failed: {}",
                    out.status
                );
                return None;
            }
            Err(e) => {
                eprintln!("skipping the bpftool comparison: cannot run bpftool: {e}");
                return None;
            }
        };
        let text = String::from_utf8_lossy(&out);
        let head = format!("] STRUCT '{name}' size=");
        let mut lines = text.lines().skip_while(|l| !l.contains(&head));
        assert!(
            lines.next().is_some(),
            "bpftool does not list struct {name}"
        );
        let members = lines
            .take_while(|l| l.starts_with('\t'))
            .map(|l| {
                let name = l.split('\'').nth(1).unwrap().to_owned();
                let bits = l.split("bits_offset=").nth(1).unwrap();
                let bits = bits.split_whitespace().next().unwrap().parse().unwrap();
                (name, bits)
            })
            .collect();
        Some(members)
    }

    fn assert_matches_bpftool(l: &StructOpsLayout) {
        let Some(expect) = bpftool_members(&l.struct_name) else {
            return;
        };
        let got: Vec<(String, u32)> = l
            .members
            .iter()
            .map(|m| (m.name.clone(), m.offset as u32 * 8))
            .collect();
        assert_eq!(got, expect, "members of struct {}", l.struct_name);
        eprintln!(
            "struct {}: {} members match bpftool",
            l.struct_name,
            got.len()
        );
    }

    #[test]
    fn real_kernel_bpf_dummy_ops() {
        let Some(btf) = kernel_btf() else { return };
        let l = struct_ops_layout(btf, "bpf_dummy_ops").unwrap();
        assert_eq!((l.value_size, l.data_offset), (128, 64));
        assert_eq!(l.member("test_1"), Some(&member("test_1", 0, 8, true, 0)));
        assert_eq!(kernel_struct_ops_layout("bpf_dummy_ops").unwrap(), l);
        assert_matches_bpftool(&l);
    }

    #[test]
    fn real_kernel_tcp_congestion_ops() {
        let Some(btf) = kernel_btf() else { return };
        let l = struct_ops_layout(btf, "tcp_congestion_ops").unwrap();
        assert_eq!((l.value_size, l.data_offset), (256, 64));
        assert_eq!(
            l.member("ssthresh"),
            Some(&member("ssthresh", 0, 8, true, 0))
        );
        assert_eq!(
            l.member("cong_avoid"),
            Some(&member("cong_avoid", 8, 8, true, 0))
        );
        assert_eq!(l.member("name"), Some(&member("name", 88, 16, false, 0)));
        assert!(!l.member("owner").unwrap().is_func);
        assert_matches_bpftool(&l);
    }

    #[test]
    fn real_kernel_missing_struct_ops() {
        let Some(btf) = kernel_btf() else { return };
        let e = what(struct_ops_layout(btf, "foo").unwrap_err());
        assert_eq!(
            e,
            "the running kernel has no struct_ops type `bpf_struct_ops_foo` (is the subsystem \
             built in?)"
        );
    }

    /// Prints how long one lookup takes on the real kernel BTF (run with `--release --nocapture`).
    #[test]
    fn real_kernel_lookup_time() {
        let Some(btf) = kernel_btf() else { return };
        let rounds = 20;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            struct_ops_layout(btf, "tcp_congestion_ops").unwrap();
        }
        let each = start.elapsed() / rounds;
        let (parsed, _) = Btf::parse(btf, None).unwrap();
        eprintln!(
            "struct_ops_layout over {} bytes, {} types: {each:?} per lookup",
            btf.len(),
            parsed.offsets.len()
        );
    }
}
