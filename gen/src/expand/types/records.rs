//! Struct and union definitions: fields for the members a Rust type can hold at their
//! offsets (bitfields stay opaque padding), the `Pod` impls, and whether a union is inside
//! (no `Debug` or byte view then).

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::accessors::record_methods;
use super::idents::ident;
use super::names::member_name;
use super::{byte_array, Field, Scope, TypeGen};
use crate::btf::{enter, kind, Type};
use crate::error::Result;

/// `BTF_INT_CHAR`: the encoding bit of a character type.
const BTF_INT_CHAR: u32 = 1 << 1;

impl TypeGen<'_> {
    /// Whether type `id` holds a union anywhere (then its Rust type cannot derive `Debug`).
    pub(super) fn contains_union(&mut self, id: u32) -> Result<bool> {
        self.contains_union_in(id, &mut Vec::new())
    }

    /// `path`: the arrays and structs being searched, outermost first.
    fn contains_union_in(&mut self, id: u32, path: &mut Vec<u32>) -> Result<bool> {
        let btf = self.btf;
        let id = btf.skip_mods_and_typedefs(id)?;
        if let Some(&v) = self.has_union.get(&id) {
            return Ok(v);
        }
        let t = btf.get(id)?;
        let inner: Vec<u32> = match t.kind() {
            kind::UNION => vec![],
            kind::ARRAY => vec![t.array().unwrap_or_default().0],
            kind::STRUCT => t.members().map(|m| m.1).collect(),
            _ => return Ok(false),
        };
        let mut v = t.kind() == kind::UNION;
        if !v {
            enter(btf, path, id)?;
            for ty in inner {
                if self.contains_union_in(ty, path)? {
                    v = true;
                    break;
                }
            }
            path.pop();
        }
        self.has_union.insert(id, v);
        Ok(v)
    }

    /// Defines struct/union/enum `id` (once) and returns its name.
    pub(super) fn define(&mut self, id: u32, path: &mut Vec<u32>) -> Result<Ident> {
        if let Some(name) = self.defined.get(&id) {
            return Ok(name.clone());
        }
        let c_name = self.btf.name(self.btf.get(id)?.name_off)?;
        let name = ident(&self.names.get_or_add(id, c_name));
        self.defined.insert(id, name.clone());
        let t = self.btf.get(id)?.clone();
        let def = match t.kind() {
            kind::ENUM | kind::ENUM64 => self.enum_def(&t, &name)?,
            kind::UNION => self.union_def(id, &t, &name, path)?,
            _ => self.struct_def(id, &t, &name, path)?,
        };
        let doc = self.names.doc(id).unwrap_or("A C type of the global data.");
        self.defs.push(quote!(#[doc = #doc] #def));
        Ok(name)
    }

    /// A union: a field for each member at offset 0 that is not a bitfield, beside the byte
    /// view `__bytes` that gives it the C size.
    fn union_def(
        &mut self,
        id: u32,
        t: &Type,
        name: &Ident,
        path: &mut Vec<u32>,
    ) -> Result<TokenStream> {
        let size = u64::from(t.size_or_type);
        let mut fields = Vec::new();
        for (i, (name_off, mty, off)) in t.members().enumerate() {
            let (bits, bitfield) = (
                if t.kflag() {
                    lskel_abi::btf::bits::member_bit_offset(off)
                } else {
                    off
                },
                t.kflag() && lskel_abi::btf::bits::member_bitfield_size(off) != 0,
            );
            if bits != 0 || bitfield {
                continue;
            }
            let fname = member_name(self.btf, name_off, i)?;
            enter(self.btf, path, id)?;
            let ty = self.rust_type_in(mty, Scope::Types, path)?;
            path.pop();
            let f = ident(&fname);
            fields.push(quote!(pub #f: #ty,));
        }
        let bytes = byte_array(size);
        let methods = record_methods(name, false, false, &[]);
        let align = self.btf.align_of(id)?;
        let align_lit = Literal::usize_unsuffixed(align as usize);
        let size_lit = Literal::usize_unsuffixed(size as usize);
        Ok(quote! {
            #[repr(C)]
            #[derive(Clone, Copy)]
            pub union #name {
                #(#fields)*
                pub __bytes: #bytes,
            }
            // SAFETY: a `repr(C)` union of plain C data and its byte view: any bytes are valid.
            #[allow(unsafe_code)]
            unsafe impl __lskel::Pod for #name {}
            const _: () = assert!(::core::mem::size_of::<#name>() == #size_lit && ::core::mem::align_of::<#name>() <= #align_lit);
            #methods
        })
    }

    /// A struct: its members that are not bitfields at their offsets (see `layout_struct`),
    /// with string accessors for its `char` arrays.
    fn struct_def(
        &mut self,
        id: u32,
        t: &Type,
        name: &Ident,
        path: &mut Vec<u32>,
    ) -> Result<TokenStream> {
        let size = u64::from(t.size_or_type);
        let mut fields = Vec::new();
        let mut chars = Vec::new();
        for (i, (name_off, mty, off)) in t.members().enumerate() {
            let (bit_off, bitfield_size) = if t.kflag() {
                (
                    lskel_abi::btf::bits::member_bit_offset(off),
                    lskel_abi::btf::bits::member_bitfield_size(off),
                )
            } else {
                (off, 0)
            };
            if bitfield_size != 0 || bit_off % 8 != 0 {
                // Bitfields stay opaque bytes; they are covered by padding below.
                continue;
            }
            let fname = member_name(self.btf, name_off, i)?;
            enter(self.btf, path, id)?;
            let ty = self.rust_type_in(mty, Scope::Types, path)?;
            path.pop();
            if self.is_char_array(mty)? {
                chars.push(fname.clone());
            }
            fields.push(Field {
                name: ident(&fname),
                ty,
                offset: u64::from(bit_off / 8),
                size: self.btf.size_of(mty)?,
                align: self.btf.align_of(mty)?,
            });
        }
        let no_union = !self.contains_union(id)?;
        let (def, packed) = self.layout_struct(name, fields, size, no_union, false);
        let methods = record_methods(name, no_union, packed, &chars);
        Ok(quote!(#def #methods))
    }

    /// Whether `id` is a one-dimensional C `char` array: elements of a 1-byte BTF integer
    /// with the CHAR encoding or named `char` (signed or not, as the target's ABI has it).
    fn is_char_array(&self, id: u32) -> Result<bool> {
        let btf = self.btf;
        let t = btf.get(btf.skip_mods_and_typedefs(id)?)?;
        let Some((elem, _, n)) = t.array() else {
            return Ok(false);
        };
        let e = btf.get(btf.skip_mods_and_typedefs(elem)?)?;
        let encoding = lskel_abi::btf::bits::int_encoding(e.extra.first().copied().unwrap_or(0));
        Ok(n > 0
            && e.kind() == kind::INT
            && e.size_or_type == 1
            && (encoding & BTF_INT_CHAR != 0 || btf.name(e.name_off)? == "char"))
    }
}
