//! Struct layout: fields at their exact C offsets with explicit padding (`packed` when C
//! alignment cannot be kept), and the struct of a data section with its variables' atomics.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::idents::ident;
use super::names::section_vars;
use super::{byte_array, Field, SecVar, TypeGen};
use crate::btf::kind;
use crate::error::Result;

impl TypeGen<'_> {
    /// A `#[repr(C)]` struct with the fields at their exact offsets: gaps become `__pad_N`
    /// byte arrays; fields that cannot sit at their offset with natural alignment make the
    /// struct `packed`.
    pub(super) fn layout_struct(
        &self,
        name: &Ident,
        fields: Vec<Field>,
        size: u64,
        derive_debug: bool,
        round_up: bool,
    ) -> (TokenStream, bool) {
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
        let def = quote! {
            #repr
            #[derive(Clone, Copy #debug)]
            pub struct #name {
                #(#out)*
            }
            // SAFETY: a struct of plain C data with explicit padding: any bytes are valid.
            #[allow(unsafe_code)]
            unsafe impl __lskel::Pod for #name {}
            /// All zeros, as C's `= {}`.
            impl ::core::default::Default for #name {
                fn default() -> Self { <Self as __lskel::Pod>::zeroed() }
            }
            const _: () = assert!(::core::mem::size_of::<#name>() == #size_lit);
        };
        (def, packed)
    }

    /// The struct of a DATASEC: each global VAR at its offset, static ones left as padding; and
    /// the variables that got a field, for the section's accessors.
    pub fn datasec_struct(
        &mut self,
        datasec: u32,
        name: &Ident,
    ) -> Result<(TokenStream, Vec<SecVar>)> {
        let t = self.btf.get(datasec)?.clone();
        let secinfos: Vec<(u32, u32, u32)> = t.secinfos().collect();
        let mut fields = Vec::new();
        let mut vars = Vec::new();
        let mut has_union = false;
        for (var_id, i) in section_vars(self.btf, datasec)? {
            let (_, offset, size) = secinfos[i];
            let var = self.btf.get(var_id)?.clone();
            let vname = self.btf.name(var.name_off)?.to_string();
            has_union |= self.contains_union(var.size_or_type)?;
            let ty = self.rust_type(var.size_or_type)?;
            let atomic = self.atomic_type(var.size_or_type)?;
            let atomic = atomic.filter(|&(_, n)| u64::from(offset) % n == 0);
            fields.push(Field {
                name: ident(&vname),
                ty: ty.clone(),
                offset: u64::from(offset),
                size: u64::from(size),
                align: self.btf.align_of(var.size_or_type)?,
            });
            vars.push((
                u64::from(offset),
                SecVar {
                    c_name: vname.clone(),
                    field: ident(&vname),
                    ty,
                    atomic: atomic.map(|(a, _)| a),
                },
            ));
        }
        fields.sort_by_key(|f| f.offset);
        vars.sort_by_key(|v| v.0);
        // The fields `layout_struct` keeps: those that do not overlap an earlier one.
        let mut kept = Vec::new();
        let mut cur = 0u64;
        for (f, (_, v)) in fields.iter().zip(vars) {
            if f.offset >= cur {
                cur = f.offset + f.size;
                kept.push(v);
            }
        }
        let (def, _) =
            self.layout_struct(name, fields, u64::from(t.size_or_type), !has_union, true);
        Ok((def, kept))
    }

    /// The atomic type (`AtomicU32`, …) and size of an integer or enum of 1, 2, 4 or 8 bytes.
    fn atomic_type(&self, id: u32) -> Result<Option<(Ident, u64)>> {
        let id = self.btf.skip_mods_and_typedefs(id)?;
        let t = self.btf.get(id)?;
        let signed = match t.kind() {
            kind::INT => {
                lskel_abi::btf::bits::int_encoding(t.extra.first().copied().unwrap_or(0))
                    & lskel_abi::btf::bits::INT_SIGNED
                    != 0
            }
            kind::ENUM | kind::ENUM64 => t.kflag(),
            _ => return Ok(None),
        };
        let size = t.size_or_type;
        if !matches!(size, 1 | 2 | 4 | 8) {
            return Ok(None);
        }
        let name = format_ident!("Atomic{}{}", if signed { "I" } else { "U" }, size * 8);
        Ok(Some((name, u64::from(size))))
    }
}
