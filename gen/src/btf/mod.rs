//! The object's BTF: parsed into raw types (kept word for word so it can be written back
//! unchanged apart from the fix-ups the kernel needs), with typed accessors.

pub mod ext;

use crate::abi::BTF_MAGIC;
use crate::error::{btf_err, Result};

/// `BTF_KIND_*` values.
#[allow(missing_docs)]
pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// The `BTF_KIND_*` name of `kind`, for messages.
pub fn kind_name(kind: u32) -> &'static str {
    const NAMES: [&str; 20] = [
        "UNKN",
        "INT",
        "PTR",
        "ARRAY",
        "STRUCT",
        "UNION",
        "ENUM",
        "FWD",
        "TYPEDEF",
        "VOLATILE",
        "CONST",
        "RESTRICT",
        "FUNC",
        "FUNC_PROTO",
        "VAR",
        "DATASEC",
        "FLOAT",
        "DECL_TAG",
        "TYPE_TAG",
        "ENUM64",
    ];
    NAMES.get(kind as usize).copied().unwrap_or("UNKNOWN")
}

/// The message of a BTF error without its section prefix, to wrap it with more context.
fn inner_what(e: crate::Error) -> String {
    match e {
        crate::Error::Btf { what, .. } => what,
        other => other.to_string(),
    }
}

/// `BTF_VAR_STATIC`
pub const VAR_STATIC: u32 = 0;
/// `BTF_VAR_GLOBAL_EXTERN`
pub const VAR_GLOBAL_EXTERN: u32 = 2;

/// One `struct btf_type` with the words that follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Type {
    /// `name_off`
    pub name_off: u32,
    /// `info`: vlen, kind, kind_flag.
    pub info: u32,
    /// `size` or `type`, depending on the kind.
    pub size_or_type: u32,
    /// The kind-specific words after the header.
    pub extra: Vec<u32>,
}

impl Type {
    /// `BTF_INFO_KIND`
    pub fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    /// `BTF_INFO_VLEN`
    pub fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    /// `BTF_INFO_KFLAG`
    pub fn kflag(&self) -> bool {
        self.info >> 31 == 1
    }
    /// Members of a struct/union: `(name_off, type, offset word)`.
    pub fn members(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.extra.chunks_exact(3).map(|c| (c[0], c[1], c[2]))
    }
    /// Entries of a DATASEC: `(var type, offset, size)`.
    pub fn secinfos(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.members()
    }
    /// For an ARRAY: `(elem type, index type, nelems)`.
    pub fn array(&self) -> Option<(u32, u32, u32)> {
        (self.kind() == kind::ARRAY && self.extra.len() == 3)
            .then(|| (self.extra[0], self.extra[1], self.extra[2]))
    }
}

/// Number of extra u32 words a type of `kind` with `vlen` entries carries.
fn extra_words(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        kind::INT | kind::VAR | kind::DECL_TAG => 1,
        kind::PTR | kind::FWD | kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT => 0,
        kind::FUNC | kind::FLOAT | kind::TYPE_TAG => 0,
        kind::ARRAY => 3,
        kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 3 * vlen,
        kind::ENUM | kind::FUNC_PROTO => 2 * vlen,
        _ => return None,
    })
}

/// A parsed `.BTF` section.
#[derive(Clone, Debug)]
pub struct Btf {
    /// Types; index 0 is the implicit `void`, so `types[id]` is type `id`.
    types: Vec<Type>,
    strings: Vec<u8>,
}

fn read_u32(data: &[u8], off: usize) -> Option<u32> {
    data.get(off..off.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u16(data: &[u8], off: usize) -> Option<u16> {
    data.get(off..off.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// Upper bound on type count, so a corrupt header cannot make us allocate without bound.
const MAX_TYPES: usize = 1 << 20;

impl Btf {
    /// Parses `.BTF` bytes, checking every range before reading it.
    pub fn parse(data: &[u8]) -> Result<Btf> {
        let magic = read_u16(data, 0).ok_or_else(|| btf_err("section shorter than its header"))?;
        if magic != BTF_MAGIC {
            return Err(btf_err(format!(
                "bad magic {magic:#06x}, expected {BTF_MAGIC:#06x} (little-endian BTF)"
            )));
        }
        if data.get(2) != Some(&1) {
            return Err(btf_err(format!("unsupported version {:?}", data.get(2))));
        }
        let hdr = |off| read_u32(data, off).ok_or_else(|| btf_err("truncated header"));
        let hdr_len = hdr(4)? as usize;
        let (type_off, type_len, str_off, str_len) = (
            hdr(8)? as usize,
            hdr(12)? as usize,
            hdr(16)? as usize,
            hdr(20)? as usize,
        );
        if hdr_len < 24 {
            return Err(btf_err(format!("header length {hdr_len} is below 24")));
        }
        let body = data.get(hdr_len..).ok_or_else(|| {
            btf_err(format!(
                "header length {hdr_len} beyond the section ({} bytes)",
                data.len()
            ))
        })?;
        let range = |off: usize, len: usize, what: &str| {
            off.checked_add(len)
                .and_then(|end| body.get(off..end))
                .ok_or_else(|| {
                    btf_err(format!(
                        "the header puts the {what} section at bytes {off}..{} after the {hdr_len}-byte header, but only {} bytes follow it: the section is truncated",
                        off.saturating_add(len),
                        body.len()
                    ))
                })
        };
        let type_data = range(type_off, type_len, "type")?;
        let strings = range(str_off, str_len, "string")?.to_vec();
        if strings.first().is_some_and(|&b| b != 0) {
            return Err(btf_err("string section does not start with a NUL byte"));
        }
        let mut types = vec![Type {
            name_off: 0,
            info: 0,
            size_or_type: 0,
            extra: Vec::new(),
        }];
        let mut off = 0;
        while off < type_data.len() {
            let id = types.len();
            if id > MAX_TYPES {
                return Err(btf_err(format!("more than {MAX_TYPES} types")));
            }
            let start = off;
            let word = |o: usize| {
                read_u32(type_data, o).ok_or_else(|| {
                    btf_err(format!("type [{id}] at offset {start:#x} is truncated"))
                })
            };
            let (name_off, info, size_or_type) = (word(off)?, word(off + 4)?, word(off + 8)?);
            let mut t = Type {
                name_off,
                info,
                size_or_type,
                extra: Vec::new(),
            };
            let n = extra_words(t.kind(), t.vlen()).ok_or_else(|| {
                btf_err(format!(
                    "type [{id}] at offset {start:#x} has unknown kind {}",
                    t.kind()
                ))
            })?;
            for i in 0..n {
                t.extra.push(word(start + 12 + 4 * i)?);
            }
            off = start + 12 + 4 * n;
            types.push(t);
        }
        let btf = Btf { types, strings };
        btf.validate()?;
        Ok(btf)
    }

    /// Checks that every name offset and referenced type id is in range, so later lookups
    /// only fail for semantic reasons.
    fn validate(&self) -> Result<()> {
        for (id, t) in self.types.iter().enumerate().skip(1) {
            self.name(t.name_off).map_err(|e| {
                btf_err(format!(
                    "type [{id}] ({}): name: {}",
                    kind_name(t.kind()),
                    inner_what(e)
                ))
            })?;
            let check = |tid: u32| {
                if (tid as usize) < self.types.len() {
                    Ok(())
                } else {
                    Err(btf_err(format!(
                        "type [{id}] ({} `{}`) refers to type [{tid}], but there are only {} types",
                        kind_name(t.kind()),
                        self.name(t.name_off).unwrap_or("?"),
                        self.types.len() - 1
                    )))
                }
            };
            match t.kind() {
                kind::PTR
                | kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::FUNC
                | kind::VAR
                | kind::TYPE_TAG
                | kind::DECL_TAG
                | kind::FUNC_PROTO => check(t.size_or_type)?,
                _ => {}
            }
            match t.kind() {
                kind::ARRAY => {
                    check(t.extra[0])?;
                    check(t.extra[1])?;
                }
                kind::STRUCT | kind::UNION => {
                    for (name_off, ty, _) in t.members() {
                        self.name(name_off).map_err(|e| {
                            btf_err(format!(
                                "type [{id}] ({}) member: {}",
                                kind_name(t.kind()),
                                inner_what(e)
                            ))
                        })?;
                        check(ty)?;
                    }
                }
                kind::DATASEC => {
                    for (ty, _, _) in t.secinfos() {
                        check(ty)?;
                    }
                }
                kind::FUNC_PROTO => {
                    for c in t.extra.chunks_exact(2) {
                        check(c[1])?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Number of types including `void`.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there are no types besides `void`.
    pub fn is_empty(&self) -> bool {
        self.types.len() <= 1
    }

    /// Type `id`.
    pub fn get(&self, id: u32) -> Result<&Type> {
        self.types
            .get(id as usize)
            .ok_or_else(|| btf_err(format!("no type [{id}]")))
    }

    /// Mutable type `id`.
    pub fn get_mut(&mut self, id: u32) -> Result<&mut Type> {
        self.types
            .get_mut(id as usize)
            .ok_or_else(|| btf_err(format!("no type [{id}]")))
    }

    /// The NUL-terminated string at `off`.
    pub fn name(&self, off: u32) -> Result<&str> {
        let rest = self.strings.get(off as usize..).ok_or_else(|| {
            btf_err(format!(
                "string offset {off} is beyond the {}-byte string section",
                self.strings.len()
            ))
        })?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| btf_err(format!("string at {off} is not NUL-terminated")))?;
        std::str::from_utf8(&rest[..end])
            .map_err(|_| btf_err(format!("string at {off} is not UTF-8")))
    }

    /// The name of type `id` ("" when anonymous).
    pub fn type_name(&self, id: u32) -> Result<&str> {
        self.name(self.get(id)?.name_off)
    }

    /// Ids of all types, `void` excluded.
    pub fn ids(&self) -> impl Iterator<Item = u32> {
        1..self.types.len() as u32
    }

    /// The first type of `kind` named `name`.
    pub fn find(&self, name: &str, kind: u32) -> Option<u32> {
        self.ids().find(|&id| {
            let t = &self.types[id as usize];
            t.kind() == kind && self.name(t.name_off).ok() == Some(name)
        })
    }

    /// Follows typedefs and cv/type-tag modifiers to the underlying type.
    pub fn skip_mods_and_typedefs(&self, mut id: u32) -> Result<u32> {
        for _ in 0..64 {
            let t = self.get(id)?;
            match t.kind() {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return Ok(id),
            }
        }
        Err(btf_err(format!(
            "type chain at [{id}] is too deep or cyclic"
        )))
    }

    /// Size in bytes of type `id`.
    pub fn size_of(&self, id: u32) -> Result<u64> {
        self.size_of_depth(id, 0)
    }

    fn size_of_depth(&self, id: u32, depth: u32) -> Result<u64> {
        if depth > 64 {
            return Err(btf_err(format!("type [{id}] nests too deep or is cyclic")));
        }
        let id = self.skip_mods_and_typedefs(id)?;
        let t = self.get(id)?;
        Ok(match t.kind() {
            kind::INT
            | kind::STRUCT
            | kind::UNION
            | kind::ENUM
            | kind::ENUM64
            | kind::DATASEC
            | kind::FLOAT => t.size_or_type as u64,
            kind::PTR => 8,
            kind::ARRAY => {
                let (elem, _, n) = t.array().unwrap_or_default();
                self.size_of_depth(elem, depth + 1)?
                    .checked_mul(n as u64)
                    .ok_or_else(|| btf_err(format!("array [{id}] size overflows")))?
            }
            kind::VAR => self.size_of_depth(t.size_or_type, depth + 1)?,
            k => return Err(btf_err(format!("type [{id}] of kind {k} has no size"))),
        })
    }

    /// Alignment of type `id`, following the C rules clang used.
    pub fn align_of(&self, id: u32) -> Result<u64> {
        self.align_of_depth(id, 0)
    }

    fn align_of_depth(&self, id: u32, depth: u32) -> Result<u64> {
        if depth > 64 {
            return Err(btf_err(format!("type [{id}] nests too deep or is cyclic")));
        }
        let id = self.skip_mods_and_typedefs(id)?;
        let t = self.get(id)?;
        Ok(match t.kind() {
            kind::INT | kind::ENUM | kind::ENUM64 | kind::FLOAT => {
                (t.size_or_type as u64).clamp(1, 8)
            }
            kind::PTR => 8,
            kind::ARRAY => self.align_of_depth(t.array().unwrap_or_default().0, depth + 1)?,
            kind::STRUCT | kind::UNION => {
                let mut align = 1;
                for (_, ty, _) in t.members() {
                    align = align.max(self.align_of_depth(ty, depth + 1)?);
                }
                align
            }
            _ => 1,
        })
    }

    /// Appends a VAR named `name` of type `ty`, returning its id.
    pub fn add_var(&mut self, name: &str, linkage: u32, ty: u32) -> u32 {
        let name_off = self.add_string(name);
        self.types.push(Type {
            name_off,
            info: kind::VAR << 24,
            size_or_type: ty,
            extra: vec![linkage],
        });
        (self.types.len() - 1) as u32
    }

    /// Appends a string, returning its offset.
    pub fn add_string(&mut self, s: &str) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    /// Serializes back to `.BTF` bytes (24-byte header, types, strings).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut types = Vec::new();
        for t in &self.types[1..] {
            for w in [t.name_off, t.info, t.size_or_type].iter().chain(&t.extra) {
                types.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut out = Vec::with_capacity(24 + types.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&types);
        out.extend_from_slice(&self.strings);
        out
    }

    /// What the kernel needs but clang leaves out: DATASEC sizes and VAR offsets are taken
    /// from the ELF section sizes and symbol values, VARs of hidden symbols become static,
    /// and each DATASEC's entries are sorted by offset. `.ksyms`/`.kconfig` are extern-only
    /// and keep what they have.
    pub fn fixup_datasecs(
        &mut self,
        section_size: &dyn Fn(&str) -> Option<u64>,
        symbol: &dyn Fn(&str) -> Option<(u64, bool)>,
    ) -> Result<()> {
        for id in 1..self.types.len() as u32 {
            if self.types[id as usize].kind() != kind::DATASEC {
                continue;
            }
            let sec_name = self.type_name(id)?.to_string();
            if sec_name == ".kconfig" || sec_name == ".ksyms" {
                self.sort_secinfos(id);
                continue;
            }
            let mut fix_offsets = false;
            if self.types[id as usize].size_or_type == 0 {
                let size = section_size(&sec_name).filter(|&s| s > 0).ok_or_else(|| {
                    btf_err(format!(
                        "DATASEC `{sec_name}` [{id}]: no ELF section of that name gives its size"
                    ))
                })?;
                self.types[id as usize].size_or_type = u32::try_from(size)
                    .map_err(|_| btf_err(format!("DATASEC `{sec_name}` is larger than 4 GiB")))?;
                fix_offsets = true;
            }
            for i in 0..self.types[id as usize].vlen() {
                let var_id = self.types[id as usize].extra[3 * i];
                let var = self.get(var_id)?;
                if var.kind() != kind::VAR {
                    return Err(btf_err(format!(
                        "DATASEC `{sec_name}` [{id}] entry {i} is type [{var_id}], not a VAR"
                    )));
                }
                let linkage = var.extra[0];
                if linkage == VAR_STATIC || linkage == VAR_GLOBAL_EXTERN {
                    continue;
                }
                let var_name = self.name(var.name_off)?.to_string();
                let (value, hidden) = symbol(&var_name).ok_or_else(|| {
                    btf_err(format!(
                        "DATASEC `{sec_name}`: no ELF symbol for VAR `{var_name}`"
                    ))
                })?;
                if fix_offsets {
                    self.types[id as usize].extra[3 * i + 1] = value as u32;
                }
                if hidden {
                    self.types[var_id as usize].extra[0] = VAR_STATIC;
                }
            }
            self.sort_secinfos(id);
        }
        Ok(())
    }

    fn sort_secinfos(&mut self, id: u32) {
        let t = &mut self.types[id as usize];
        let mut entries: Vec<[u32; 3]> = t
            .extra
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        entries.sort_by_key(|e| e[1]);
        t.extra = entries.concat();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds raw BTF from (name, info, size_or_type, extra) tuples and a string table.
    pub(crate) fn raw_btf(types: &[(u32, u32, u32, Vec<u32>)], strings: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        for (a, b, c, extra) in types {
            for w in [a, b, c].into_iter().chain(extra) {
                t.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut out = vec![0x9f, 0xeb, 1, 0];
        for w in [
            24u32,
            0,
            t.len() as u32,
            t.len() as u32,
            strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend(t);
        out.extend_from_slice(strings);
        out
    }

    fn info(kind: u32, vlen: u32) -> u32 {
        (kind << 24) | vlen
    }

    #[test]
    fn round_trips_and_sizes() {
        // [1] int "int" size 4; [2] array of [1] x 3; [3] struct "s" { int a; int b[3]; }
        let strings = b"\0int\0s\0a\0b\0";
        let raw = raw_btf(
            &[
                (1, info(kind::INT, 0), 4, vec![32]),
                (0, info(kind::ARRAY, 0), 0, vec![1, 1, 3]),
                (5, info(kind::STRUCT, 2), 16, vec![7, 1, 0, 9, 2, 32]),
            ],
            strings,
        );
        let btf = Btf::parse(&raw).unwrap();
        assert_eq!(btf.to_bytes(), raw);
        assert_eq!(btf.size_of(2).unwrap(), 12);
        assert_eq!(btf.size_of(3).unwrap(), 16);
        assert_eq!(btf.align_of(3).unwrap(), 4);
        assert_eq!(btf.find("s", kind::STRUCT), Some(3));
    }

    #[test]
    fn rejects_corruption_without_panicking() {
        let raw = raw_btf(&[(1, info(kind::INT, 0), 4, vec![32])], b"\0int\0");
        for cut in 0..raw.len() {
            let _ = Btf::parse(&raw[..cut]);
        }
        let mut bad = raw.clone();
        bad[24 + 7] = 0x1f; // info byte 3: kind 31
        assert!(Btf::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("unknown kind"));
        let dangling = raw_btf(&[(0, info(kind::PTR, 0), 9, vec![])], b"\0");
        assert!(Btf::parse(&dangling)
            .unwrap_err()
            .to_string()
            .contains("refers to type [9]"));
    }
}
