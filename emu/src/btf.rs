//! A small BTF reader: enough for the mock kernel to refuse malformed BTF and to check type ids,
//! sizes and names the way the kernel does at BTF_LOAD, MAP_CREATE and PROG_LOAD.

use crate::consts::kind;
use lskel_abi::btf as h;

/// One BTF type.
#[derive(Clone, Debug)]
pub struct Type {
    /// `BTF_KIND_*`
    pub kind: u32,
    /// Name (empty when anonymous).
    pub name: String,
    /// `vlen`
    pub vlen: u32,
    /// `size` or `type`.
    pub size_or_type: u32,
    /// For ARRAY: (element type, element count).
    pub array: Option<(u32, u32)>,
}

/// Parsed BTF.
#[derive(Clone, Debug)]
pub struct Btf {
    /// Types by id; index 0 is `void`.
    pub types: Vec<Type>,
    strings: Vec<u8>,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    /// Parses `bytes` (header, types, strings), as BTF_LOAD does.
    pub fn parse(bytes: &[u8]) -> Result<Btf, String> {
        if bytes.len() < h::HEADER_SIZE {
            return Err(format!(
                "{} bytes is shorter than the BTF header",
                bytes.len()
            ));
        }
        if u16::from_le_bytes([bytes[h::MAGIC_AT], bytes[h::MAGIC_AT + 1]]) != h::BTF_MAGIC {
            return Err("bad BTF magic".into());
        }
        if bytes[h::VERSION_AT] != h::BTF_VERSION {
            return Err(format!("BTF version {} unsupported", bytes[h::VERSION_AT]));
        }
        let get = |o| u32_at(bytes, o).map(|v| v as usize);
        let hdr_len = get(h::HDR_LEN_AT).ok_or("short header")?;
        let type_off = get(h::TYPE_OFF_AT).ok_or("short")?;
        let type_len = get(h::TYPE_LEN_AT).ok_or("short")?;
        let str_off = get(h::STR_OFF_AT).ok_or("short")?;
        let str_len = get(h::STR_LEN_AT).ok_or("short")?;
        let types_at = hdr_len.checked_add(type_off).ok_or("overflow")?;
        let strs_at = hdr_len.checked_add(str_off).ok_or("overflow")?;
        let types_end = types_at.checked_add(type_len).ok_or("overflow")?;
        let strs_end = strs_at.checked_add(str_len).ok_or("overflow")?;
        if types_end > bytes.len() || strs_end > bytes.len() {
            return Err("type or string section beyond the end of the BTF".into());
        }
        let strings = bytes[strs_at..strs_end].to_vec();
        if strings.first() != Some(&0) || strings.last() != Some(&0) {
            return Err("string section must start and end with NUL".into());
        }
        let mut btf = Btf {
            types: vec![Type {
                kind: 0,
                name: String::new(),
                vlen: 0,
                size_or_type: 0,
                array: None,
            }],
            strings,
        };
        let t = &bytes[types_at..types_end];
        let mut off = 0;
        while off < t.len() {
            let name_off = u32_at(t, off).ok_or("truncated type")?;
            let info = u32_at(t, off + 4).ok_or("truncated type")?;
            let size_or_type = u32_at(t, off + 8).ok_or("truncated type")?;
            let k = lskel_abi::btf::bits::kind(info);
            let vlen = lskel_abi::btf::bits::vlen(info);
            let extra = match k {
                kind::INT | kind::VAR | kind::DECL_TAG => 4,
                kind::ARRAY => 12,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen as usize,
                kind::ENUM | kind::FUNC_PROTO => 8 * vlen as usize,
                kind::PTR
                | kind::FWD
                | kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::FUNC
                | kind::FLOAT
                | kind::TYPE_TAG => 0,
                _ => return Err(format!("type [{}]: unknown kind {k}", btf.types.len())),
            };
            if off + 12 + extra > t.len() {
                return Err(format!("type [{}] truncated", btf.types.len()));
            }
            let array = (k == kind::ARRAY)
                .then(|| Some((u32_at(t, off + 12)?, u32_at(t, off + 20)?)))
                .flatten();
            let name = btf
                .name(name_off)
                .ok_or_else(|| format!("type [{}]: bad name offset {name_off}", btf.types.len()))?;
            btf.types.push(Type {
                kind: k,
                name,
                vlen,
                size_or_type,
                array,
            });
            off += 12 + extra;
        }
        let n = btf.types.len() as u32;
        for (id, ty) in btf.types.iter().enumerate().skip(1) {
            let refers = matches!(
                ty.kind,
                kind::PTR
                    | kind::TYPEDEF
                    | kind::VOLATILE
                    | kind::CONST
                    | kind::RESTRICT
                    | kind::FUNC
                    | kind::VAR
                    | kind::TYPE_TAG
                    | kind::DECL_TAG
            );
            if refers && ty.size_or_type >= n {
                return Err(format!(
                    "type [{id}] refers to missing type {}",
                    ty.size_or_type
                ));
            }
        }
        Ok(btf)
    }

    /// The string at `off`.
    pub fn name(&self, off: u32) -> Option<String> {
        let s = self.strings.get(off as usize..)?;
        let end = s.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    }

    /// The type with `id`.
    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// Size of type `id` after modifiers, like the kernel's `btf_type_id_size`; `None` for
    /// types without a size.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let mut id = id;
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                kind::INT
                | kind::STRUCT
                | kind::UNION
                | kind::ENUM
                | kind::ENUM64
                | kind::DATASEC
                | kind::FLOAT => return Some(u64::from(t.size_or_type)),
                kind::PTR => return Some(8),
                kind::ARRAY => {
                    let (elem, n) = t.array?;
                    return Some(self.size_of(elem)? * u64::from(n));
                }
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return None,
            }
        }
        None
    }

    /// Kind of type `id` after modifiers and typedefs.
    pub fn resolved_kind(&self, id: u32) -> Option<u32> {
        let mut id = id;
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                k => return Some(k),
            }
        }
        None
    }
}
