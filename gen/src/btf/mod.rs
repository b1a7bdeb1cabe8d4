//! The object's BTF: parsed into raw types (kept word for word so it can be written back
//! unchanged apart from the fix-ups the kernel needs), with typed accessors.

pub mod cdump;
pub mod ext;
pub mod trim;

use crate::abi::btf::{
    BTF_MAGIC, BTF_VERSION, HDR_LEN_AT, HEADER_SIZE, MAGIC_AT, STR_LEN_AT, STR_OFF_AT, TYPE_LEN_AT,
    TYPE_OFF_AT, VERSION_AT,
};
use crate::error::{btf_err, Result};

/// `BTF_KIND_*` values.
pub use crate::abi::btf::kind;

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
pub const VAR_STATIC: u32 = crate::abi::btf::var_linkage::STATIC;
/// `BTF_VAR_GLOBAL_EXTERN`
pub const VAR_GLOBAL_EXTERN: u32 = crate::abi::btf::var_linkage::GLOBAL_EXTERN;

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
        lskel_abi::btf::bits::kind(self.info)
    }
    /// `BTF_INFO_VLEN`
    pub fn vlen(&self) -> usize {
        lskel_abi::btf::bits::vlen(self.info) as usize
    }
    /// `BTF_INFO_KFLAG`
    pub fn kflag(&self) -> bool {
        lskel_abi::btf::bits::kflag(self.info)
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

/// How deep a walk over BTF goes (members, array elements, typedefs, modifiers) before it
/// takes the type as malformed: the kernel's and libbpf's `MAX_RESOLVE_DEPTH`, so nothing the
/// kernel accepts is refused. Every recursive walk over types uses it, with a check that the
/// walk does not come back to a type on its own path.
pub const MAX_DEPTH: u32 = 32;

/// Steps a walk into type `id`: an error if `id` is already on `path` (the type refers to
/// itself) or `path` is [`MAX_DEPTH`] long; else pushes `id`, which the caller pops.
pub fn enter(btf: &Btf, path: &mut Vec<u32>, id: u32) -> Result<()> {
    if path.contains(&id) {
        return Err(btf.self_reference(id));
    }
    if path.len() as u32 >= MAX_DEPTH {
        return Err(btf.too_deep(path.first().copied().unwrap_or(id)));
    }
    path.push(id);
    Ok(())
}

/// Upper bound on type count, so a corrupt header cannot make us allocate without bound.
const MAX_TYPES: usize = 1 << 20;

impl Btf {
    /// Parses `.BTF` bytes, checking every range before reading it.
    pub fn parse(data: &[u8]) -> Result<Btf> {
        let magic =
            read_u16(data, MAGIC_AT).ok_or_else(|| btf_err("section shorter than its header"))?;
        if magic != BTF_MAGIC {
            return Err(btf_err(format!(
                "bad magic {magic:#06x}, expected {BTF_MAGIC:#06x} (little-endian BTF)"
            )));
        }
        if data.get(VERSION_AT) != Some(&BTF_VERSION) {
            return Err(btf_err(format!(
                "unsupported version {:?}",
                data.get(VERSION_AT)
            )));
        }
        let hdr = |off| read_u32(data, off).ok_or_else(|| btf_err("truncated header"));
        let hdr_len = hdr(HDR_LEN_AT)? as usize;
        let (type_off, type_len, str_off, str_len) = (
            hdr(TYPE_OFF_AT)? as usize,
            hdr(TYPE_LEN_AT)? as usize,
            hdr(STR_OFF_AT)? as usize,
            hdr(STR_LEN_AT)? as usize,
        );
        if hdr_len < HEADER_SIZE {
            return Err(btf_err(format!(
                "header length {hdr_len} is below {HEADER_SIZE}"
            )));
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

    /// The error of a walk over BTF that met type `id` again on its own path: hostile or
    /// corrupt BTF (a struct holding an array of itself, a typedef of itself).
    pub fn self_reference(&self, id: u32) -> crate::Error {
        btf_err(format!(
            "type [{id}] ({}) refers to itself",
            self.describe(id)
        ))
    }

    /// The error of a walk over BTF that went deeper than [`MAX_DEPTH`] from type `id`.
    pub fn too_deep(&self, id: u32) -> crate::Error {
        btf_err(format!(
            "type [{id}] ({}) nests more than {MAX_DEPTH} levels deep (members, array elements, typedefs and modifiers)",
            self.describe(id)
        ))
    }

    /// `STRUCT `name``, for messages (`STRUCT <anon>` when unnamed).
    fn describe(&self, id: u32) -> String {
        match self.get(id) {
            Ok(t) => {
                let name = self.name(t.name_off).unwrap_or("?");
                let name = if name.is_empty() { "<anon>" } else { name };
                format!("{} `{name}`", kind_name(t.kind()))
            }
            Err(_) => "?".into(),
        }
    }

    /// Follows typedefs and cv/type-tag modifiers to the underlying type.
    pub fn skip_mods_and_typedefs(&self, id: u32) -> Result<u32> {
        self.skip_mods_noting(id, |_, _| Ok(()))
    }

    /// [`Btf::skip_mods_and_typedefs`], calling `note` on each typedef and modifier passed.
    /// A chain longer than [`MAX_DEPTH`] or one that comes back to itself is an error.
    pub fn skip_mods_noting<'s>(
        &'s self,
        start: u32,
        mut note: impl FnMut(u32, &'s Type) -> Result<()>,
    ) -> Result<u32> {
        let mut id = start;
        let mut path = Vec::new();
        loop {
            let t = self.get(id)?;
            match t.kind() {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    if path.contains(&id) {
                        return Err(self.self_reference(id));
                    }
                    if path.len() as u32 >= MAX_DEPTH {
                        return Err(self.too_deep(start));
                    }
                    path.push(id);
                    note(id, t)?;
                    id = t.size_or_type;
                }
                _ => return Ok(id),
            }
        }
    }

    /// Size in bytes of type `id`.
    pub fn size_of(&self, id: u32) -> Result<u64> {
        self.size_of_in(id, &mut Vec::new())
    }

    /// `path`: the arrays and VARs being sized, outermost first.
    fn size_of_in(&self, id: u32, path: &mut Vec<u32>) -> Result<u64> {
        let id = self.skip_mods_and_typedefs(id)?;
        let t = self.get(id)?;
        let inner = match t.kind() {
            kind::ARRAY => t.array().unwrap_or_default().0,
            kind::VAR => t.size_or_type,
            kind::INT
            | kind::STRUCT
            | kind::UNION
            | kind::ENUM
            | kind::ENUM64
            | kind::DATASEC
            | kind::FLOAT => return Ok(u64::from(t.size_or_type)),
            kind::PTR => return Ok(8),
            k => return Err(btf_err(format!("type [{id}] of kind {k} has no size"))),
        };
        enter(self, path, id)?;
        let inner_size = self.size_of_in(inner, path)?;
        path.pop();
        Ok(match t.array() {
            Some((_, _, n)) => inner_size
                .checked_mul(u64::from(n))
                .ok_or_else(|| btf_err(format!("array [{id}] size overflows")))?,
            None => inner_size,
        })
    }

    /// Alignment of type `id`, following the C rules clang used.
    pub fn align_of(&self, id: u32) -> Result<u64> {
        self.align_of_in(id, &mut Vec::new(), &mut std::collections::HashMap::new())
    }

    /// `path`: the arrays and records being aligned, outermost first; `done`: the alignments
    /// already known, so a type reached many ways is walked once.
    fn align_of_in(
        &self,
        id: u32,
        path: &mut Vec<u32>,
        done: &mut std::collections::HashMap<u32, u64>,
    ) -> Result<u64> {
        let id = self.skip_mods_and_typedefs(id)?;
        if let Some(&align) = done.get(&id) {
            return Ok(align);
        }
        let t = self.get(id)?;
        let align = match t.kind() {
            kind::INT | kind::ENUM | kind::ENUM64 | kind::FLOAT => {
                return Ok(u64::from(t.size_or_type).clamp(1, 8))
            }
            kind::PTR => return Ok(8),
            kind::ARRAY => {
                enter(self, path, id)?;
                let align = self.align_of_in(t.array().unwrap_or_default().0, path, done)?;
                path.pop();
                align
            }
            kind::STRUCT | kind::UNION => {
                enter(self, path, id)?;
                let mut align = 1;
                for (_, ty, _) in t.members() {
                    align = align.max(self.align_of_in(ty, path, done)?);
                }
                path.pop();
                align
            }
            _ => return Ok(1),
        };
        done.insert(id, align);
        Ok(align)
    }

    /// Appends a VAR named `name` of type `ty`, returning its id.
    pub fn add_var(&mut self, name: &str, linkage: u32, ty: u32) -> u32 {
        let name_off = self.add_string(name);
        self.types.push(Type {
            name_off,
            info: lskel_abi::btf::bits::info(kind::VAR, 0),
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
        let mut out = Vec::with_capacity(HEADER_SIZE + types.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[BTF_VERSION, 0]);
        for w in [
            HEADER_SIZE as u32,
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
        lskel_abi::btf::bits::info(kind, vlen)
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

    #[test]
    fn self_referential_types_are_errors() {
        // [1] int; [2] struct "s" { int x; [3] more; } where [3] is an array of [2];
        // [4] an array of itself; [5] typedef "t" -> [6] const -> [5].
        let strings = b"\0int\0s\0x\0more\0t\0";
        let btf = Btf::parse(&raw_btf(
            &[
                (1, info(kind::INT, 0), 4, vec![32]),
                (5, info(kind::STRUCT, 2), 8, vec![7, 1, 0, 9, 3, 32]),
                (0, info(kind::ARRAY, 0), 0, vec![2, 1, 1]),
                (0, info(kind::ARRAY, 0), 0, vec![4, 1, 2]),
                (14, info(kind::TYPEDEF, 0), 6, vec![]),
                (0, info(kind::CONST, 0), 5, vec![]),
            ],
            strings,
        ))
        .unwrap();
        let msg = |r: Result<u64>| r.unwrap_err().to_string();
        assert!(msg(btf.align_of(2)).contains("type [2] (STRUCT `s`) refers to itself"));
        assert!(msg(btf.align_of(3)).contains("refers to itself"));
        // A struct's size is in its header: no walk, no error.
        assert_eq!(btf.size_of(3).unwrap(), 8);
        assert!(msg(btf.size_of(4)).contains("type [4] (ARRAY `<anon>`) refers to itself"));
        assert!(msg(btf.align_of(4)).contains("refers to itself"));
        for id in [5, 6] {
            let e = btf.skip_mods_and_typedefs(id).unwrap_err().to_string();
            assert!(e.contains("refers to itself"), "{e}");
            assert!(msg(btf.size_of(id)).contains("refers to itself"));
            assert!(msg(btf.align_of(id)).contains("refers to itself"));
        }
    }

    #[test]
    fn deep_chains_are_errors_and_shared_types_are_walked_once() {
        // [1] int, then 40 typedefs each of the one before.
        let mut types = vec![(0, info(kind::INT, 0), 4, vec![32])];
        for i in 1..=40 {
            types.push((0, info(kind::TYPEDEF, 0), i, vec![]));
        }
        // [42..=81]: 40 structs, each with two members of the one before: 2^n paths to [1].
        types.push((0, info(kind::STRUCT, 2), 8, vec![0, 1, 0, 0, 1, 32]));
        for i in 43..=81 {
            types.push((0, info(kind::STRUCT, 2), 8, vec![0, i - 1, 0, 0, i - 1, 32]));
        }
        let btf = Btf::parse(&raw_btf(&types, b"\0")).unwrap();
        assert_eq!(btf.skip_mods_and_typedefs(MAX_DEPTH + 1).unwrap(), 1);
        let e = btf.skip_mods_and_typedefs(41).unwrap_err().to_string();
        assert!(
            e.contains("type [41] (TYPEDEF `<anon>`) nests more than 32 levels"),
            "{e}"
        );
        let start = std::time::Instant::now();
        assert!(btf
            .align_of(81)
            .unwrap_err()
            .to_string()
            .contains("nests more than"));
        assert_eq!(btf.align_of(70).unwrap(), 4);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
