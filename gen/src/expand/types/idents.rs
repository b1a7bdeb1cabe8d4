//! Rust spellings of C names: identifiers (raw for keywords), the type and field names of
//! data sections, CamelCase hints, and the names a generated type must not take.

use proc_macro2::{Ident, Span};
use quote::format_ident;

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
    ident(&camel_case(section))
}

/// The accessor name for a data section: `.bss` -> `bss`, `.data.custom` -> `data_custom`.
pub fn section_field_name(section: &str) -> Ident {
    let s: Vec<&str> = section
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    ident(&s.join("_"))
}

/// Rust names that a generated type must not take inside `pub mod types`: the primitive
/// types its definitions use (a `struct u32` would shadow the primitive for its siblings) and
/// the module's runtime alias.
pub(super) const RESERVED: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char", "str", "__lskel",
];

/// A name in CamelCase: the alphanumeric runs of `name`, each with its first letter in upper
/// case (`inner` -> `Inner`, `foo_bar` -> `FooBar`, `__anon_2` -> `Anon2`, `RodataCfg` stays).
pub fn camel_case(name: &str) -> String {
    let mut out = String::new();
    for part in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}
