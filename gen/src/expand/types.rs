//! Rust types for the BTF types of global data: every struct, union, array and scalar a
//! `.data`/`.rodata`/`.bss` variable uses becomes a `#[repr(C)]` Rust type with explicit
//! padding, so its layout is exactly the C one (checked by compile-time size asserts).
//! Everything generated is plain old data: any bit pattern is a valid value.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::btf::{kind, Btf, VAR_STATIC};
use crate::error::{btf_err, Result};

/// A Rust identifier for a C name: keywords become raw identifiers, and names Rust cannot
/// spell at all get a trailing underscore. Non-identifier characters become `_`.
pub fn ident(name: &str) -> Ident {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    match s.as_str() {
        "self" | "Self" | "super" | "crate" | "_" => format_ident!("{}_", s),
        _ if is_keyword(&s) => Ident::new_raw(&s, Span::call_site()),
        _ => Ident::new(&s, Span::call_site()),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

/// The type name for a data section: `.bss` -> `Bss`, `.data.custom` -> `DataCustom`.
pub fn section_type_name(section: &str) -> Ident {
    let mut out = String::new();
    for part in section
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    ident(&out)
}

/// The accessor name for a data section: `.bss` -> `bss`, `.data.custom` -> `data_custom`.
pub fn section_field_name(section: &str) -> Ident {
    let s: Vec<&str> = section
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    ident(&s.join("_"))
}

/// Generates Rust definitions for BTF types on demand.
pub struct TypeGen<'b> {
    btf: &'b Btf,
    names: HashMap<u32, Ident>,
    taken: HashSet<String>,
    defs: Vec<TokenStream>,
    /// Ids of types whose definition contains a union (no `Debug` derive for those).
    has_union: HashMap<u32, bool>,
}

/// One member placed in a struct layout.
struct Field {
    name: Ident,
    ty: TokenStream,
    offset: u64,
    size: u64,
    align: u64,
}

impl<'b> TypeGen<'b> {
    /// A generator over `btf`.
    pub fn new(btf: &'b Btf) -> TypeGen<'b> {
        TypeGen {
            btf,
            names: HashMap::new(),
            taken: HashSet::new(),
            defs: Vec::new(),
            has_union: HashMap::new(),
        }
    }

    /// The definitions generated so far (named structs and unions), for `mod types`.
    pub fn definitions(&self) -> &[TokenStream] {
        &self.defs
    }

    /// The Rust type (as used from the skeleton module) of BTF type `id`.
    pub fn rust_type(&mut self, id: u32) -> Result<TokenStream> {
        self.rust_type_depth(id, 0)
    }

    fn rust_type_depth(&mut self, id: u32, depth: u32) -> Result<TokenStream> {
        if depth > 32 {
            return Err(btf_err(format!("type [{id}] nests too deep")));
        }
        let id = self.btf.skip_mods_and_typedefs(id)?;
        let t = self.btf.get(id)?.clone();
        Ok(match t.kind() {
            kind::INT => {
                let encoding = t.extra.first().copied().unwrap_or(0) >> 24;
                let signed = encoding & 1 != 0;
                int_type(t.size_or_type, signed)
            }
            kind::ENUM | kind::ENUM64 => int_type(t.size_or_type, t.kflag()),
            kind::PTR => quote!(u64),
            kind::FLOAT => match t.size_or_type {
                4 => quote!(f32),
                8 => quote!(f64),
                n => byte_array(u64::from(n)),
            },
            kind::ARRAY => {
                let (elem, _, n) = t.array().unwrap_or_default();
                let elem_ty = self.rust_type_depth(elem, depth + 1)?;
                let n = Literal::usize_unsuffixed(n as usize);
                quote!([#elem_ty; #n])
            }
            kind::STRUCT | kind::UNION => {
                let name = self.define(id, depth)?;
                quote!(types::#name)
            }
            k => {
                return Err(btf_err(format!(
                    "type [{id}] of kind {k} cannot be a global variable's type"
                )))
            }
        })
    }

    fn contains_union(&mut self, id: u32) -> bool {
        let Ok(id) = self.btf.skip_mods_and_typedefs(id) else {
            return false;
        };
        if let Some(&v) = self.has_union.get(&id) {
            return v;
        }
        let Ok(t) = self.btf.get(id) else {
            return false;
        };
        let v = match t.kind() {
            kind::UNION => true,
            kind::ARRAY => {
                let elem = t.array().unwrap_or_default().0;
                self.contains_union(elem)
            }
            kind::STRUCT => {
                let members: Vec<u32> = t.members().map(|m| m.1).collect();
                members.into_iter().any(|m| self.contains_union(m))
            }
            _ => false,
        };
        self.has_union.insert(id, v);
        v
    }

    fn unique_name(&mut self, base: &str) -> Ident {
        let mut name = base.to_string();
        let mut n = 1;
        while !self.taken.insert(name.clone()) {
            n += 1;
            name = format!("{base}_{n}");
        }
        ident(&name)
    }

    /// Defines struct/union `id` (once) and returns its name.
    fn define(&mut self, id: u32, depth: u32) -> Result<Ident> {
        if let Some(name) = self.names.get(&id) {
            return Ok(name.clone());
        }
        let t = self.btf.get(id)?.clone();
        let cname = self.btf.name(t.name_off)?;
        let name = if cname.is_empty() {
            self.unique_name(&format!("__anon_{id}"))
        } else {
            self.unique_name(cname)
        };
        self.names.insert(id, name.clone());
        let size = u64::from(t.size_or_type);
        let def = if t.kind() == kind::UNION {
            let mut fields = Vec::new();
            for (i, (name_off, mty, off)) in t.members().enumerate() {
                let (bits, bitfield) = (
                    if t.kflag() { off & 0xff_ffff } else { off },
                    t.kflag() && off >> 24 != 0,
                );
                if bits != 0 || bitfield {
                    continue;
                }
                let fname = self.btf.name(name_off)?;
                let fname = if fname.is_empty() {
                    format!("__anon_{i}")
                } else {
                    fname.to_string()
                };
                let ty = self.rust_type_depth(mty, depth + 1)?;
                let f = ident(&fname);
                fields.push(quote!(pub #f: #ty,));
            }
            let bytes = byte_array(size);
            let align = self.btf.align_of(id)?;
            let align_lit = Literal::usize_unsuffixed(align as usize);
            let size_lit = Literal::usize_unsuffixed(size as usize);
            quote! {
                #[repr(C)]
                #[derive(Clone, Copy)]
                pub union #name {
                    #(#fields)*
                    pub __bytes: #bytes,
                }
                unsafe impl __lskel::Pod for #name {}
                const _: () = assert!(::core::mem::size_of::<#name>() == #size_lit && ::core::mem::align_of::<#name>() <= #align_lit);
            }
        } else {
            let mut fields = Vec::new();
            for (i, (name_off, mty, off)) in t.members().enumerate() {
                let (bit_off, bitfield_size) = if t.kflag() {
                    (off & 0xff_ffff, off >> 24)
                } else {
                    (off, 0)
                };
                let fname = self.btf.name(name_off)?;
                let fname = if fname.is_empty() {
                    format!("__anon_{i}")
                } else {
                    fname.to_string()
                };
                if bitfield_size != 0 || bit_off % 8 != 0 {
                    // Bitfields stay opaque bytes; they are covered by padding below.
                    continue;
                }
                let ty = self.rust_type_depth(mty, depth + 1)?;
                fields.push(Field {
                    name: ident(&fname),
                    ty,
                    offset: u64::from(bit_off / 8),
                    size: self.btf.size_of(mty)?,
                    align: self.btf.align_of(mty)?,
                });
            }
            let derive_debug = !self.contains_union(id);
            self.layout_struct(&name, fields, size, derive_debug, false)
        };
        self.defs.push(def);
        Ok(name)
    }

    /// A `#[repr(C)]` struct with the fields at their exact offsets: gaps become `__pad_N`
    /// byte arrays; fields that cannot sit at their offset with natural alignment make the
    /// struct `packed`.
    fn layout_struct(
        &self,
        name: &Ident,
        fields: Vec<Field>,
        size: u64,
        derive_debug: bool,
        round_up: bool,
    ) -> TokenStream {
        let align = fields.iter().map(|f| f.align).max().unwrap_or(1).max(1);
        let misaligned = fields
            .iter()
            .any(|f| f.align > 0 && f.offset % f.align != 0);
        // A C struct's size is a multiple of its alignment unless it is packed. A data
        // section's is not (`.bss` of 52 bytes holding u64s): its Rust struct is padded up to
        // the alignment, and the map's mmap, rounded to pages, covers the extra bytes.
        let packed = misaligned || (!round_up && size % align != 0);
        let size = if round_up && !misaligned {
            size.next_multiple_of(align)
        } else {
            size
        };
        let mut out = Vec::new();
        let mut cur = 0u64;
        for f in fields {
            if f.offset < cur {
                continue; // overlaps what is already laid out (anonymous unions of bitfields)
            }
            if f.offset > cur {
                let pad = format_ident!("__pad_{}", cur);
                let bytes = byte_array(f.offset - cur);
                out.push(quote!(pub #pad: #bytes,));
            }
            let (fname, ty) = (&f.name, &f.ty);
            out.push(quote!(pub #fname: #ty,));
            cur = f.offset + f.size;
        }
        if size > cur {
            let pad = format_ident!("__pad_{}", cur);
            let bytes = byte_array(size - cur);
            out.push(quote!(pub #pad: #bytes,));
        }
        let repr = if packed {
            quote!(#[repr(C, packed)])
        } else {
            quote!(#[repr(C)])
        };
        let debug = if derive_debug {
            quote!(, Debug)
        } else {
            quote!()
        };
        let size_lit = Literal::usize_unsuffixed(size as usize);
        quote! {
            #repr
            #[derive(Clone, Copy #debug)]
            pub struct #name {
                #(#out)*
            }
            unsafe impl __lskel::Pod for #name {}
            const _: () = assert!(::core::mem::size_of::<#name>() == #size_lit);
        }
    }

    /// The struct of a DATASEC: each global VAR at its offset, static ones left as padding.
    pub fn datasec_struct(&mut self, datasec: u32, name: &Ident) -> Result<TokenStream> {
        let t = self.btf.get(datasec)?.clone();
        let mut fields = Vec::new();
        let mut names = HashSet::new();
        let mut has_union = false;
        for (var_id, offset, size) in t.secinfos() {
            let var = self.btf.get(var_id)?.clone();
            if var.kind() != kind::VAR || var.extra.first() == Some(&VAR_STATIC) {
                continue;
            }
            let vname = self.btf.name(var.name_off)?.to_string();
            if !names.insert(vname.clone()) {
                continue;
            }
            has_union |= self.contains_union(var.size_or_type);
            let ty = self.rust_type(var.size_or_type)?;
            fields.push(Field {
                name: ident(&vname),
                ty,
                offset: u64::from(offset),
                size: u64::from(size),
                align: self.btf.align_of(var.size_or_type)?,
            });
        }
        fields.sort_by_key(|f| f.offset);
        Ok(self.layout_struct(name, fields, u64::from(t.size_or_type), !has_union, true))
    }
}

fn int_type(size: u32, signed: bool) -> TokenStream {
    match (size, signed) {
        (1, true) => quote!(i8),
        (1, false) => quote!(u8),
        (2, true) => quote!(i16),
        (2, false) => quote!(u16),
        (4, true) => quote!(i32),
        (4, false) => quote!(u32),
        (8, true) => quote!(i64),
        (8, false) => quote!(u64),
        (16, true) => quote!(i128),
        (16, false) => quote!(u128),
        (n, _) => byte_array(u64::from(n)),
    }
}

fn byte_array(n: u64) -> TokenStream {
    let n = Literal::usize_unsuffixed(n as usize);
    quote!([u8; #n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(section_type_name(".bss").to_string(), "Bss");
        assert_eq!(section_type_name(".data.custom").to_string(), "DataCustom");
        assert_eq!(
            section_field_name(".rodata.custom").to_string(),
            "rodata_custom"
        );
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("dump_task.___fmt").to_string(), "dump_task____fmt");
    }
}
