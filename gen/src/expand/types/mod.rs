//! Rust types for the BTF types of global data: every struct, union, array and scalar a
//! `.data`/`.rodata`/`.bss` variable uses becomes a `#[repr(C)]` Rust type with explicit
//! padding, so its layout is exactly the C one (checked by compile-time size asserts); an enum
//! becomes an alias of its integer type plus one constant per enumerator, and a pointer a `u64`.
//! Everything generated is plain old data: any bit pattern is a valid value.
//!
//! Structs, unions and enums are defined in the skeleton's `pub mod types`, where they refer
//! to each other by their plain names; the section structs outside it write `types::Name`.
//! Anonymous types get names derived from where they first appear ([`TypeNames`]), so a user
//! can write them and they stay the same when the object is rebuilt.
//!
//! The parts: `idents` (Rust spellings of C and section names), `names` ([`TypeNames`]: the
//! names of anonymous types), `repr` (which named types have a Rust layout), `records`
//! (struct and union definitions), `enums`, `layout` (fields at their C offsets, padding,
//! data-section structs) and `accessors` (the inherent methods of records).

mod accessors;
mod enums;
mod idents;
mod layout;
mod names;
mod records;
mod repr;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use crate::btf::{enter, kind, Btf};
use crate::error::{btf_err, Result};

pub use idents::{camel_case, ident, section_field_name, section_type_name};
pub use names::TypeNames;

/// Where a reference to a generated type is written. The skeleton module reaches the
/// definitions as `types::Name`; inside `pub mod types` they are siblings, named plainly.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Skeleton,
    Types,
}

/// Generates Rust definitions for BTF types on demand.
pub struct TypeGen<'b> {
    btf: &'b Btf,
    names: TypeNames,
    /// Types already defined (or being defined), with their Rust names.
    defined: HashMap<u32, Ident>,
    /// Enumerator constants defined so far (they share the value namespace of `mod types`).
    consts: HashSet<String>,
    defs: Vec<TokenStream>,
    /// Ids of types whose definition contains a union (no `Debug` derive for those).
    has_union: HashMap<u32, bool>,
    /// Named types that [`define_all`](Self::define_all) could not represent, with why.
    skipped: Vec<String>,
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
    /// A generator over `btf` for the data sections `sections` (`(DATASEC type id, section
    /// name)`, in the order their structs are generated): names every type their variables
    /// use up front (see [`TypeNames`]).
    pub fn new(btf: &'b Btf, sections: &[(u32, &str)]) -> Result<TypeGen<'b>> {
        Ok(TypeGen {
            btf,
            names: TypeNames::new(btf, sections)?,
            defined: HashMap::new(),
            consts: HashSet::new(),
            defs: Vec::new(),
            has_union: HashMap::new(),
            skipped: Vec::new(),
        })
    }

    /// The definitions generated so far (structs, unions, enum aliases and their constants),
    /// for `mod types`.
    pub fn definitions(&self) -> &[TokenStream] {
        &self.defs
    }

    /// The Rust type of BTF type `id`, as written in the skeleton module (`types::Name` for
    /// structs, unions and enums).
    pub fn rust_type(&mut self, id: u32) -> Result<TokenStream> {
        self.rust_type_in(id, Scope::Skeleton, &mut Vec::new())
    }

    /// `path`: the arrays and records whose Rust type is being written, outermost first.
    fn rust_type_in(&mut self, id: u32, scope: Scope, path: &mut Vec<u32>) -> Result<TokenStream> {
        let id = self.btf.skip_mods_and_typedefs(id)?;
        let t = self.btf.get(id)?.clone();
        Ok(match t.kind() {
            kind::INT => {
                let encoding =
                    lskel_abi::btf::bits::int_encoding(t.extra.first().copied().unwrap_or(0));
                let signed = encoding & lskel_abi::btf::bits::INT_SIGNED != 0;
                int_type(t.size_or_type, signed)
            }
            kind::PTR => quote!(u64),
            kind::FLOAT => match t.size_or_type {
                4 => quote!(f32),
                8 => quote!(f64),
                n => byte_array(u64::from(n)),
            },
            kind::ARRAY => {
                let (elem, _, n) = t.array().unwrap_or_default();
                enter(self.btf, path, id)?;
                let elem_ty = self.rust_type_in(elem, scope, path)?;
                path.pop();
                let n = Literal::usize_unsuffixed(n as usize);
                quote!([#elem_ty; #n])
            }
            kind::STRUCT | kind::UNION | kind::ENUM | kind::ENUM64 => {
                let name = self.define(id, path)?;
                match scope {
                    Scope::Skeleton => quote!(types::#name),
                    Scope::Types => quote!(#name),
                }
            }
            k => {
                return Err(btf_err(format!(
                    "type [{id}] of kind {k} cannot be a global variable's type"
                )))
            }
        })
    }
}

/// A global variable with a field in its section's struct.
#[derive(Debug)]
pub struct SecVar {
    /// The C name.
    pub c_name: String,
    /// The struct field.
    pub field: Ident,
    /// The field's Rust type.
    pub ty: TokenStream,
    /// `AtomicU64` and the like, for an integer (or enum) of 1, 2, 4 or 8 bytes at an offset
    /// aligned to its size.
    pub atomic: Option<Ident>,
}

/// The doc of the skeleton's `mod types`, listing the named types left out (`skipped`).
pub fn module_doc(skipped: &[String]) -> String {
    let mut doc = String::from("C types of the object: those of the global data, and every named struct, union and enum of its BTF, under their C names.");
    if !skipped.is_empty() {
        doc.push_str("\n\nNot generated (no Rust layout):\n");
        for s in skipped {
            doc.push_str(&format!("\n- {s}"));
        }
    }
    doc
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
