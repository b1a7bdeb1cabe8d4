//! The inherent methods of generated records: checked copies from bytes, the byte view, and
//! string accessors for C `char` arrays.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::idents::ident;

/// The inherent methods of generated struct or union `name` (which have no `use` of the
/// runtime's traits to need): `from_bytes` / `from_prefix` (checked copies from a record's
/// bytes), `as_bytes` when it holds no union (`no_union`), and for each C `char` array field
/// in `chars`, `<field>_str` (a copy up to the first NUL, lossy UTF-8) and `set_<field>_str`.
/// Method names taken by an earlier one get `_` appended (getters are named first, in field
/// order, then setters). `packed`: fields cannot be borrowed, so the arrays are copied.
pub(super) fn record_methods(
    name: &Ident,
    no_union: bool,
    packed: bool,
    chars: &[String],
) -> TokenStream {
    let mut taken: HashSet<String> = ["from_bytes", "from_prefix", "as_bytes"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut claim = |name: String| {
        let mut name = name;
        while !taken.insert(ident(&name).to_string()) {
            name.push('_');
        }
        ident(&name)
    };
    let getters: Vec<Ident> = chars.iter().map(|c| claim(format!("{c}_str"))).collect();
    let setters: Vec<Ident> = chars
        .iter()
        .map(|c| claim(format!("set_{c}_str")))
        .collect();
    let accessors = chars.iter().zip(getters.iter().zip(&setters)).map(|(c, (get, set))| {
        let f = ident(c);
        let doc_get = format!("`{c}` as a string: the bytes up to the first NUL, as UTF-8 (invalid sequences replaced).");
        let doc_set = format!("Sets `{c}` to `s`, cut to fit with its NUL (at a character boundary) and NUL-padded.");
        let (get_body, set_body) = if packed {
            (
                quote!({ let a = self.#f; ::std::borrow::Cow::Owned(__lskel::c_chars_str(&a).into_owned()) }),
                quote!({ let mut a = self.#f; __lskel::set_c_chars(&mut a, s); self.#f = a; }),
            )
        } else {
            (
                quote!({ __lskel::c_chars_str(&self.#f) }),
                quote!({ __lskel::set_c_chars(&mut self.#f, s) }),
            )
        };
        quote! {
            #[doc = #doc_get]
            pub fn #get(&self) -> ::std::borrow::Cow<'_, str> #get_body
            #[doc = #doc_set]
            pub fn #set(&mut self, s: &str) #set_body
        }
    });
    let bytes = no_union.then(|| {
        quote! {
            /// The value's bytes, as a program sees them.
            pub fn as_bytes(&self) -> &[u8] { <Self as __lskel::PodBytes>::as_bytes(self) }
        }
    });
    let bytes_impl = no_union.then(|| {
        quote! {
            // SAFETY: no union anywhere inside, and all padding is explicit fields (the size
            // assert above rules out padding of Rust's own): every byte is initialised.
            #[allow(unsafe_code)]
            unsafe impl __lskel::PodBytes for #name {}
        }
    });
    quote! {
        #bytes_impl
        impl #name {
            /// A copy of the value whose bytes are exactly `bytes` (a ring buffer record): `None`
            /// when the length differs. No alignment is needed.
            pub fn from_bytes(bytes: &[u8]) -> ::core::option::Option<Self> { <Self as __lskel::Pod>::from_bytes(bytes) }
            /// A copy of the value at the start of `bytes`, which may be longer (a perf buffer
            /// sample is padded to 8 bytes): `None` when it is shorter.
            pub fn from_prefix(bytes: &[u8]) -> ::core::option::Option<Self> { <Self as __lskel::Pod>::from_prefix(bytes) }
            #bytes
            #(#accessors)*
        }
    }
}
