//! BTF (`linux/btf.h`): the header, type kinds and linkage values.

use core::mem::{offset_of, size_of};

/// `struct btf_header`: the start of a `.BTF` blob.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// `magic`: [`BTF_MAGIC`].
    pub magic: u16,
    /// `version`: [`BTF_VERSION`].
    pub version: u8,
    /// `flags`
    pub flags: u8,
    /// `hdr_len`: the header's size as written (newer headers may be longer).
    pub hdr_len: u32,
    /// `type_off`: offset of the type section after the header.
    pub type_off: u32,
    /// `type_len`
    pub type_len: u32,
    /// `str_off`: offset of the string section after the header.
    pub str_off: u32,
    /// `str_len`
    pub str_len: u32,
}

c_values! { u16;
    "BTF_MAGIC" => BTF_MAGIC = 0xeb9f;
}

c_values! { table VERSION_C_VALUES; u8;
    "BTF_VERSION" => BTF_VERSION = 1;
}

c_values! { table LAYOUT_C_VALUES; usize;
    "sizeof(struct btf_header)" => HEADER_SIZE = size_of::<Header>();
    "offsetof(struct btf_header, magic)" => MAGIC_AT = offset_of!(Header, magic);
    "offsetof(struct btf_header, version)" => VERSION_AT = offset_of!(Header, version);
    "offsetof(struct btf_header, flags)" => FLAGS_AT = offset_of!(Header, flags);
    "offsetof(struct btf_header, hdr_len)" => HDR_LEN_AT = offset_of!(Header, hdr_len);
    "offsetof(struct btf_header, type_off)" => TYPE_OFF_AT = offset_of!(Header, type_off);
    "offsetof(struct btf_header, type_len)" => TYPE_LEN_AT = offset_of!(Header, type_len);
    "offsetof(struct btf_header, str_off)" => STR_OFF_AT = offset_of!(Header, str_off);
    "offsetof(struct btf_header, str_len)" => STR_LEN_AT = offset_of!(Header, str_len);
    /// Size of `struct btf_type` (name_off, info, size/type), before a kind's extra data.
    "sizeof(struct btf_type)" => TYPE_SIZE = 12;
}

const _: () = assert!(HEADER_SIZE == 24);

/// Type kinds (`BTF_KIND_*`), by kernel name without `BTF_KIND_`.
pub mod kind {
    c_values! { u32;
        "BTF_KIND_UNKN" => UNKN = 0;
        "BTF_KIND_INT" => INT = 1;
        "BTF_KIND_PTR" => PTR = 2;
        "BTF_KIND_ARRAY" => ARRAY = 3;
        "BTF_KIND_STRUCT" => STRUCT = 4;
        "BTF_KIND_UNION" => UNION = 5;
        "BTF_KIND_ENUM" => ENUM = 6;
        "BTF_KIND_FWD" => FWD = 7;
        "BTF_KIND_TYPEDEF" => TYPEDEF = 8;
        "BTF_KIND_VOLATILE" => VOLATILE = 9;
        "BTF_KIND_CONST" => CONST = 10;
        "BTF_KIND_RESTRICT" => RESTRICT = 11;
        "BTF_KIND_FUNC" => FUNC = 12;
        "BTF_KIND_FUNC_PROTO" => FUNC_PROTO = 13;
        "BTF_KIND_VAR" => VAR = 14;
        "BTF_KIND_DATASEC" => DATASEC = 15;
        "BTF_KIND_FLOAT" => FLOAT = 16;
        "BTF_KIND_DECL_TAG" => DECL_TAG = 17;
        "BTF_KIND_TYPE_TAG" => TYPE_TAG = 18;
        "BTF_KIND_ENUM64" => ENUM64 = 19;
    }
}

/// Linkage of a `BTF_KIND_VAR` (`BTF_VAR_*`).
pub mod var_linkage {
    c_values! { u32;
        "BTF_VAR_STATIC" => STATIC = 0;
        "BTF_VAR_GLOBAL_ALLOCATED" => GLOBAL_ALLOCATED = 1;
        "BTF_VAR_GLOBAL_EXTERN" => GLOBAL_EXTERN = 2;
    }
}

/// Linkage of a `BTF_KIND_FUNC` (`enum btf_func_linkage`).
pub mod func_linkage {
    c_values! { u32;
        "BTF_FUNC_STATIC" => STATIC = 0;
        "BTF_FUNC_GLOBAL" => GLOBAL = 1;
        "BTF_FUNC_EXTERN" => EXTERN = 2;
    }
}

/// The bit fields packed into BTF words: `btf_type.info` (`BTF_INFO_*`), the word after an
/// INT (`BTF_INT_*`) and a member's offset in a struct with `kind_flag` (`BTF_MEMBER_*`). The
/// header check finds each shift as the lowest bit its C macro reads.
pub mod bits {
    c_values! { u32;
        "({ int s = 0; while (!BTF_INFO_KIND(1u << s)) s++; s; })" => KIND_SHIFT = 24;
        "BTF_INFO_KIND(0xffffffffu)" => KIND_MASK = 0x1f;
        "BTF_INFO_VLEN(0xffffffffu)" => VLEN_MASK = 0xffff;
        "({ int s = 0; while (!BTF_INFO_KFLAG(1u << s)) s++; s; })" => KFLAG_SHIFT = 31;
        "({ int s = 0; while (!BTF_INT_ENCODING(1u << s)) s++; s; })" => INT_ENCODING_SHIFT = 24;
        "BTF_INT_BITS(0xffffffffu)" => INT_BITS_MASK = 0xff;
        "BTF_INT_SIGNED" => INT_SIGNED = 1 << 0;
        "BTF_INT_CHAR" => INT_CHAR = 1 << 1;
        "BTF_INT_BOOL" => INT_BOOL = 1 << 2;
        "BTF_MEMBER_BIT_OFFSET(0xffffffffu)" => MEMBER_BIT_OFFSET_MASK = 0xff_ffff;
        "({ int s = 0; while (!BTF_MEMBER_BITFIELD_SIZE(1u << s)) s++; s; })" => MEMBER_BITFIELD_SIZE_SHIFT = 24;
    }

    /// `BTF_INFO_KIND(info)`
    pub const fn kind(info: u32) -> u32 {
        (info >> KIND_SHIFT) & KIND_MASK
    }
    /// `BTF_INFO_VLEN(info)`
    pub const fn vlen(info: u32) -> u32 {
        info & VLEN_MASK
    }
    /// `BTF_INFO_KFLAG(info)` as a flag.
    pub const fn kflag(info: u32) -> bool {
        info >> KFLAG_SHIFT == 1
    }
    /// An `info` word of `kind` with `vlen` and no `kind_flag`.
    pub const fn info(kind: u32, vlen: u32) -> u32 {
        (kind << KIND_SHIFT) | vlen
    }
    /// `BTF_INT_ENCODING` without its mask: the bits above the encoding are reserved zero.
    pub const fn int_encoding(word: u32) -> u32 {
        word >> INT_ENCODING_SHIFT
    }
    /// `BTF_INT_BITS(word)`
    pub const fn int_bits(word: u32) -> u32 {
        word & INT_BITS_MASK
    }
    /// `BTF_MEMBER_BIT_OFFSET(off)`
    pub const fn member_bit_offset(off: u32) -> u32 {
        off & MEMBER_BIT_OFFSET_MASK
    }
    /// `BTF_MEMBER_BITFIELD_SIZE(off)`
    pub const fn member_bitfield_size(off: u32) -> u32 {
        off >> MEMBER_BITFIELD_SIZE_SHIFT
    }
}
