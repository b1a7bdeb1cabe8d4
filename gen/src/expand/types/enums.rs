//! Enums: a type alias of the integer type and one constant per enumerator.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::idents::ident;
use super::{int_type, TypeGen};
use crate::btf::kind;
use crate::error::Result;

impl TypeGen<'_> {
    /// An enum: a type alias of its integer type, and one constant per enumerator (C
    /// enumerators are not scoped either). An enumerator whose value does not fit the type,
    /// or whose name is taken, is left out.
    pub(super) fn enum_def(&mut self, t: &crate::btf::Type, name: &Ident) -> Result<TokenStream> {
        let (size, signed) = (t.size_or_type, t.kflag());
        let int = int_type(size, signed);
        let range = match (size, signed) {
            (1 | 2 | 4 | 8, true) => {
                let bits = size * 8 - 1;
                (-(1i128 << bits), (1i128 << bits) - 1)
            }
            (1 | 2 | 4 | 8, false) => (0, (1i128 << (size * 8)) - 1),
            // A byte array: no constants.
            _ => (1, 0),
        };
        // ENUM holds 32-bit values, ENUM64 64-bit ones split in two words; the kind flag says
        // whether they are signed.
        let values: Vec<(u32, i128)> = if t.kind() == kind::ENUM64 {
            t.extra
                .chunks_exact(3)
                .map(|c| {
                    let v = u64::from(c[1]) | (u64::from(c[2]) << 32);
                    (c[0], if signed { (v as i64).into() } else { v.into() })
                })
                .collect()
        } else {
            t.extra
                .chunks_exact(2)
                .map(|c| {
                    (
                        c[0],
                        if signed {
                            (c[1] as i32).into()
                        } else {
                            c[1].into()
                        },
                    )
                })
                .collect()
        };
        let mut consts = Vec::new();
        for (name_off, v) in values {
            let cname = self.btf.name(name_off)?;
            if cname.is_empty() || v < range.0 || v > range.1 {
                continue;
            }
            let c = ident(cname);
            if !self.consts.insert(c.to_string()) {
                continue;
            }
            let lit = Literal::u128_unsuffixed(v.unsigned_abs());
            let value = if v < 0 { quote!(-#lit) } else { quote!(#lit) };
            let doc = format!("Enumerator `{cname}` = {v}.");
            consts.push(quote!(#[doc = #doc] pub const #c: #name = #value;));
        }
        Ok(quote! {
            pub type #name = #int;
            #(#consts)*
        })
    }
}
