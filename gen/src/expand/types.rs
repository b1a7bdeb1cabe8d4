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

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::btf::{enter, kind, Btf, VAR_STATIC};
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

/// Rust names that a generated type must not take inside `pub mod types`: the primitive
/// types its definitions use (a `struct u32` would shadow the primitive for its siblings) and
/// the module's runtime alias.
const RESERVED: &[&str] = &[
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

/// Where a reference to a generated type is written. The skeleton module reaches the
/// definitions as `types::Name`; inside `pub mod types` they are siblings, named plainly.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Skeleton,
    Types,
}

/// The two walks over the types of the global variables: C names are reserved first, so a
/// name derived for an anonymous type never takes the name of a type the C source names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pass {
    Reserve,
    Derive,
}

/// The Rust names of the structs, unions and enums that global variables use.
///
/// A type keeps its C name (`struct settings` -> `settings`); an anonymous type reached
/// through a typedef takes the nearest typedef's name (`typedef struct {..} pair_t` ->
/// `pair_t`). Any other anonymous type is named after where it first appears:
/// - a variable's type: the section's type name and the variable's name in CamelCase
///   (`.rodata` `cfg` -> `RodataCfg`, `.data.foo` `x` -> `DataFooX`);
/// - a member's type: the containing type's name and the member's name in CamelCase
///   (`RodataCfg` member `inner` -> `RodataCfgInner`, `struct settings` member `range` ->
///   `SettingsRange`, its unnamed member #2 -> `SettingsAnon2`);
/// - an array's element type: the name the array would get (`rules[3]` -> `RodataCfgRules`).
///
/// "First" follows the order of the sections given, then of the variables in each section
/// and of the members in each type, so the names depend only on the C source, never on BTF
/// ids. A name that is already taken gets a number appended (`DataFooX2`, or `foo_2` for C
/// names and names ending in a digit), counting from 2.
#[derive(Debug, Default)]
pub struct TypeNames {
    names: HashMap<u32, String>,
    docs: HashMap<u32, String>,
    taken: HashSet<String>,
    seen: HashSet<(u32, bool)>,
}

impl TypeNames {
    /// Names every struct, union and enum used by the non-static variables of `sections`:
    /// `(DATASEC type id, section name)` pairs, in the order their types are defined.
    pub fn new(btf: &Btf, sections: &[(u32, &str)]) -> Result<TypeNames> {
        let mut names = TypeNames::default();
        for r in RESERVED {
            names.taken.insert((*r).to_string());
        }
        for pass in [Pass::Reserve, Pass::Derive] {
            for &(datasec, section) in sections {
                let prefix = section_type_name(section).to_string();
                for (var, _) in section_vars(btf, datasec)? {
                    let v = btf.get(var)?;
                    let vname = btf.name(v.name_off)?;
                    let mut hint = camel_case(vname);
                    if hint.is_empty() {
                        hint = "Anon".to_string();
                    }
                    let site = Site {
                        hint: format!("{prefix}{hint}"),
                        path: vname.to_string(),
                        section: Some(section.to_string()),
                    };
                    names.walk(btf, v.size_or_type, &site, pass, &mut Vec::new())?;
                }
            }
            // Then every other type the C source names (record types of ring buffer events,
            // map keys and values...), in BTF order. A type BTF cannot describe soundly (one
            // that holds itself) is left unnamed here and skipped by `TypeGen::define_all`.
            for id in named_types(btf) {
                let t = btf.get(id)?;
                let name = btf.name(t.name_off)?;
                let site = Site {
                    hint: camel_case(name),
                    path: name.to_string(),
                    section: None,
                };
                let _ = names.walk(btf, id, &site, pass, &mut Vec::new());
            }
        }
        Ok(names)
    }

    /// The Rust name of struct, union or enum `id`, if a global variable uses it.
    pub fn get(&self, id: u32) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// The name of `id`; a type no variable of the sections uses (a caller outside the
    /// skeleton asked for it, e.g. a map's key type) gets its C name `c_name`, or a fresh
    /// `Anon` name.
    fn get_or_add(&mut self, id: u32, c_name: &str) -> String {
        if let Some(n) = self.names.get(&id) {
            return n.clone();
        }
        let n = match c_name {
            "" => self.unique("Anon", false),
            c => self.unique(c, true),
        };
        self.names.insert(id, n.clone());
        n
    }

    /// `base`, or `base` with the first free number appended (after an underscore when `base`
    /// is a C name or ends with a digit), taking it.
    fn unique(&mut self, base: &str, c_name: bool) -> String {
        let sep = if c_name || base.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        let mut name = base.to_string();
        let mut n = 1;
        while !self.taken.insert(ident(&name).to_string()) {
            n += 1;
            name = format!("{base}{sep}{n}");
        }
        name
    }

    /// The doc line of struct, union or enum `id`: its C name or where it first appears.
    pub fn doc(&self, id: u32) -> Option<&str> {
        self.docs.get(&id).map(String::as_str)
    }

    /// `walking`: the arrays and records being walked, outermost first.
    fn walk(
        &mut self,
        btf: &Btf,
        id: u32,
        site: &Site,
        pass: Pass,
        walking: &mut Vec<u32>,
    ) -> Result<()> {
        let (id, typedef) = resolve(btf, id)?;
        let t = btf.get(id)?;
        let what = match t.kind() {
            kind::ARRAY => {
                let elem = t.array().unwrap_or_default().0;
                let site = Site {
                    hint: site.hint.clone(),
                    path: format!("{}[]", site.path),
                    section: site.section.clone(),
                };
                enter(btf, walking, id)?;
                self.walk(btf, elem, &site, pass, walking)?;
                walking.pop();
                return Ok(());
            }
            kind::STRUCT => "struct",
            kind::UNION => "union",
            kind::ENUM | kind::ENUM64 => "enum",
            _ => return Ok(()),
        };
        if !self.seen.insert((id, pass == Pass::Derive)) {
            return Ok(());
        }
        // The name the C source gives the type: its own, or the typedef's of an anonymous one;
        // and its C spelling, which the paths of its members start from.
        let cname = btf.name(t.name_off)?;
        let (c_name, c_path) = match (cname, typedef) {
            ("", None) => (None, None),
            ("", Some(td)) => (Some(td), Some(td.to_string())),
            (c, _) => (Some(c), Some(format!("{what} {c}"))),
        };
        match (pass, c_name, &c_path) {
            (Pass::Reserve, Some(c), Some(spelling)) => {
                let name = self.unique(c, true);
                self.names.insert(id, name);
                let doc = if cname.is_empty() {
                    format!("C `{spelling}`, a typedef of an anonymous {what}.")
                } else {
                    format!("C `{spelling}`.")
                };
                self.docs.insert(id, doc);
            }
            (Pass::Derive, None, _) => {
                let name = self.unique(&site.hint, false);
                self.names.insert(id, name);
                let doc = match &site.section {
                    Some(sec) => format!("Anonymous {what} of `{}` in `{sec}`.", site.path),
                    None => format!("Anonymous {what} of `{}`.", site.path),
                };
                self.docs.insert(id, doc);
            }
            _ => {}
        }
        if what == "enum" {
            return Ok(());
        }
        // Member hints are only read by the second pass, when this type has its name.
        let parent = match pass {
            Pass::Reserve => String::new(),
            Pass::Derive => camel_case(self.names.get(&id).map_or("", String::as_str)),
        };
        let (path, section) = match c_path {
            Some(c) => (c, None),
            None => (site.path.clone(), site.section.clone()),
        };
        for (i, (name_off, mty, _)) in t.members().enumerate() {
            let member = member_name(btf, name_off, i)?;
            let site = Site {
                hint: format!("{parent}{}", camel_case(&member)),
                path: format!("{path}.{member}"),
                section: section.clone(),
            };
            enter(btf, walking, id)?;
            self.walk(btf, mty, &site, pass, walking)?;
            walking.pop();
        }
        Ok(())
    }
}

/// The ids of the named structs, unions and enums of `btf` and of the typedefs (naming an
/// anonymous one or not), in BTF order: the roots of the types generated besides those of
/// the global data.
fn named_types(btf: &Btf) -> impl Iterator<Item = u32> + '_ {
    btf.ids().filter(|&id| {
        btf.get(id).is_ok_and(|t| {
            matches!(
                t.kind(),
                kind::STRUCT | kind::UNION | kind::ENUM | kind::ENUM64 | kind::TYPEDEF
            ) && btf.name(t.name_off).is_ok_and(|n| !n.is_empty())
        })
    })
}

/// Where a type is met in the walk over the variables' types.
struct Site {
    /// The name it gets if it is anonymous.
    hint: String,
    /// The C expression that reaches it (`cfg.inner`, `struct settings.range`), for its docs.
    path: String,
    /// The data section of that expression when it starts at a variable.
    section: Option<String>,
}

/// Follows cv/type-tag modifiers and typedefs to the underlying type, returning it with the
/// name of the typedef nearest to it (the name an anonymous struct was given in C).
fn resolve(btf: &Btf, id: u32) -> Result<(u32, Option<&str>)> {
    let mut typedef = None;
    let id = btf.skip_mods_noting(id, |_, t| {
        if t.kind() == kind::TYPEDEF {
            let name = btf.name(t.name_off)?;
            typedef = (!name.is_empty()).then_some(name);
        }
        Ok(())
    })?;
    Ok((id, typedef))
}

/// The Rust field name of member `i`: its C name, or `__anon_<i>` for an unnamed member.
fn member_name(btf: &Btf, name_off: u32, i: usize) -> Result<String> {
    let name = btf.name(name_off)?;
    Ok(if name.is_empty() {
        format!("__anon_{i}")
    } else {
        name.to_string()
    })
}

/// The variables of a DATASEC that get a field in its struct: `(VAR id, secinfo index)` of
/// each non-static variable, the first of any repeated name only.
fn section_vars(btf: &Btf, datasec: u32) -> Result<Vec<(u32, usize)>> {
    let t = btf.get(datasec)?;
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, (var_id, _, _)) in t.secinfos().enumerate() {
        let var = btf.get(var_id)?;
        if var.kind() != kind::VAR || var.extra.first() == Some(&VAR_STATIC) {
            continue;
        }
        if names.insert(btf.name(var.name_off)?) {
            out.push((var_id, i));
        }
    }
    Ok(out)
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

    /// Defines every named struct, union and enum of the BTF (and the anonymous ones that a
    /// typedef names), besides those of the global data: record types of ring buffer and perf
    /// buffer events, map keys and values. A type that cannot be represented (it refers to
    /// itself, or holds a kind of type that has no Rust layout) is skipped and listed in
    /// [`skipped`](Self::skipped).
    pub fn define_all(&mut self) -> Result<()> {
        let btf = self.btf;
        let mut ok = HashSet::new();
        let roots: Vec<u32> = named_types(btf).collect();
        for id in roots {
            let Ok(target) = btf.skip_mods_and_typedefs(id) else {
                continue;
            };
            let t = btf.get(target)?;
            if !matches!(
                t.kind(),
                kind::STRUCT | kind::UNION | kind::ENUM | kind::ENUM64
            ) || self.defined.contains_key(&target)
            {
                continue;
            }
            match self.check_repr(target, &mut Vec::new(), &mut ok) {
                Ok(()) => {
                    self.rust_type_in(target, Scope::Types, &mut Vec::new())?;
                }
                Err(why) => {
                    let what = match t.kind() {
                        kind::STRUCT => "struct ",
                        kind::UNION => "union ",
                        _ => "enum ",
                    };
                    let cname = btf.name(t.name_off)?;
                    let c = if cname.is_empty() {
                        btf.name(btf.get(id)?.name_off)?.to_string()
                    } else {
                        format!("{what}{cname}")
                    };
                    if !self
                        .skipped
                        .iter()
                        .any(|s| s.starts_with(&format!("`{c}`")))
                    {
                        self.skipped.push(format!("`{c}`: {why}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Named types [`define_all`](Self::define_all) left out: "`struct foo`: why" each.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether type `id` can get a Rust definition: everything it holds (through members,
    /// array elements, modifiers and typedefs) is an integer, float, pointer, enum, or a
    /// struct, union or array of those, with no loop. `ok`: types already checked.
    fn check_repr(
        &self,
        id: u32,
        path: &mut Vec<u32>,
        ok: &mut HashSet<u32>,
    ) -> std::result::Result<(), String> {
        let btf = self.btf;
        let id = btf.skip_mods_and_typedefs(id).map_err(|e| e.to_string())?;
        if ok.contains(&id) {
            return Ok(());
        }
        let t = btf.get(id).map_err(|e| e.to_string())?;
        match t.kind() {
            kind::INT | kind::PTR | kind::FLOAT | kind::ENUM | kind::ENUM64 => {}
            kind::ARRAY => {
                let elem = t.array().unwrap_or_default().0;
                enter(btf, path, id).map_err(|e| e.to_string())?;
                self.check_repr(elem, path, ok)?;
                path.pop();
            }
            kind::STRUCT | kind::UNION => {
                enter(btf, path, id).map_err(|e| e.to_string())?;
                for (name_off, mty, _) in t.members() {
                    self.check_repr(mty, path, ok).map_err(|why| {
                        let m = btf.name(name_off).unwrap_or_default();
                        if why.starts_with("member") {
                            why
                        } else {
                            format!("member `{m}`: {why}")
                        }
                    })?;
                }
                path.pop();
                btf.size_of(id).map_err(|e| e.to_string())?;
                btf.align_of(id).map_err(|e| e.to_string())?;
            }
            k => {
                return Err(format!(
                    "holds a type of BTF kind {k}, which has no Rust layout"
                ))
            }
        }
        ok.insert(id);
        Ok(())
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
                let encoding = t.extra.first().copied().unwrap_or(0) >> 24;
                let signed = encoding & 1 != 0;
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

    /// Whether type `id` holds a union anywhere (then its Rust type cannot derive `Debug`).
    fn contains_union(&mut self, id: u32) -> Result<bool> {
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
    fn define(&mut self, id: u32, path: &mut Vec<u32>) -> Result<Ident> {
        if let Some(name) = self.defined.get(&id) {
            return Ok(name.clone());
        }
        let c_name = self.btf.name(self.btf.get(id)?.name_off)?;
        let name = ident(&self.names.get_or_add(id, c_name));
        self.defined.insert(id, name.clone());
        let t = self.btf.get(id)?.clone();
        let size = u64::from(t.size_or_type);
        let def = match t.kind() {
            kind::ENUM | kind::ENUM64 => self.enum_def(&t, &name)?,
            kind::UNION => {
                let mut fields = Vec::new();
                for (i, (name_off, mty, off)) in t.members().enumerate() {
                    let (bits, bitfield) = (
                        if t.kflag() { off & 0xff_ffff } else { off },
                        t.kflag() && off >> 24 != 0,
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
                let methods = record_methods(&name, false, false, &[]);
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
                    // SAFETY: a `repr(C)` union of plain C data and its byte view: any bytes are valid.
                    #[allow(unsafe_code)]
                    unsafe impl __lskel::Pod for #name {}
                    const _: () = assert!(::core::mem::size_of::<#name>() == #size_lit && ::core::mem::align_of::<#name>() <= #align_lit);
                    #methods
                }
            }
            _ => {
                let mut fields = Vec::new();
                let mut chars = Vec::new();
                for (i, (name_off, mty, off)) in t.members().enumerate() {
                    let (bit_off, bitfield_size) = if t.kflag() {
                        (off & 0xff_ffff, off >> 24)
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
                let (def, packed) = self.layout_struct(&name, fields, size, no_union, false);
                let methods = record_methods(&name, no_union, packed, &chars);
                quote!(#def #methods)
            }
        };
        let doc = self.names.doc(id).unwrap_or("A C type of the global data.");
        self.defs.push(quote!(#[doc = #doc] #def));
        Ok(name)
    }

    /// An enum: a type alias of its integer type, and one constant per enumerator (C
    /// enumerators are not scoped either). An enumerator whose value does not fit the type,
    /// or whose name is taken, is left out.
    fn enum_def(&mut self, t: &crate::btf::Type, name: &Ident) -> Result<TokenStream> {
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

    /// Whether `id` is a one-dimensional C `char` array: elements of a 1-byte BTF integer
    /// with the CHAR encoding or named `char` (signed or not, as the target's ABI has it).
    fn is_char_array(&self, id: u32) -> Result<bool> {
        let btf = self.btf;
        let t = btf.get(btf.skip_mods_and_typedefs(id)?)?;
        let Some((elem, _, n)) = t.array() else {
            return Ok(false);
        };
        let e = btf.get(btf.skip_mods_and_typedefs(elem)?)?;
        let encoding = e.extra.first().copied().unwrap_or(0) >> 24;
        Ok(n > 0
            && e.kind() == kind::INT
            && e.size_or_type == 1
            && (encoding & BTF_INT_CHAR != 0 || btf.name(e.name_off)? == "char"))
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
            kind::INT => t.extra.first().copied().unwrap_or(0) >> 24 & 1 != 0,
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

/// `BTF_INT_CHAR`: the encoding bit of a character type.
const BTF_INT_CHAR: u32 = 1 << 1;

/// The inherent methods of generated struct or union `name` (which have no `use` of the
/// runtime's traits to need): `from_bytes` / `from_prefix` (checked copies from a record's
/// bytes), `as_bytes` when it holds no union (`no_union`), and for each C `char` array field
/// in `chars`, `<field>_str` (a copy up to the first NUL, lossy UTF-8) and `set_<field>_str`.
/// Method names taken by an earlier one get `_` appended (getters are named first, in field
/// order, then setters). `packed`: fields cannot be borrowed, so the arrays are copied.
fn record_methods(name: &Ident, no_union: bool, packed: bool, chars: &[String]) -> TokenStream {
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
    use crate::btf::tests::raw_btf;

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

    #[test]
    fn camel_case_of_c_names() {
        assert_eq!(camel_case("inner"), "Inner");
        assert_eq!(camel_case("foo_bar"), "FooBar");
        assert_eq!(camel_case("__anon_2"), "Anon2");
        assert_eq!(camel_case("RodataCfg"), "RodataCfg");
        assert_eq!(camel_case("ipv4_addr"), "Ipv4Addr");
        assert_eq!(camel_case("nested_t"), "NestedT");
        assert_eq!(camel_case("_"), "");
    }

    /// Builds BTF type by type; ids are given out in order, from 1.
    struct Builder {
        types: Vec<(u32, u32, u32, Vec<u32>)>,
        strings: Vec<u8>,
    }

    impl Builder {
        fn new() -> Builder {
            Builder {
                types: Vec::new(),
                strings: vec![0],
            }
        }

        fn str(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }

        fn add(&mut self, name: &str, kind: u32, vlen: usize, size: u32, extra: Vec<u32>) -> u32 {
            self.add_flagged(name, kind, vlen, false, size, extra)
        }

        fn add_flagged(
            &mut self,
            name: &str,
            kind: u32,
            vlen: usize,
            kflag: bool,
            size: u32,
            extra: Vec<u32>,
        ) -> u32 {
            let name = self.str(name);
            let info = (u32::from(kflag) << 31) | (kind << 24) | vlen as u32;
            self.types.push((name, info, size, extra));
            self.types.len() as u32
        }

        fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
            let enc = if signed { 1 << 24 } else { 0 };
            self.add(name, kind::INT, 0, size, vec![enc | (size * 8)])
        }

        /// A struct or union; members are `(name, type, byte offset)`.
        fn record(
            &mut self,
            kind: u32,
            name: &str,
            size: u32,
            members: &[(&str, u32, u32)],
        ) -> u32 {
            let mut extra = Vec::new();
            for &(m, ty, off) in members {
                extra.extend([self.str(m), ty, off * 8]);
            }
            self.add(name, kind, members.len(), size, extra)
        }

        fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
            self.add("", kind::ARRAY, 0, 0, vec![elem, index, n])
        }

        fn typedef(&mut self, name: &str, ty: u32) -> u32 {
            self.add(name, kind::TYPEDEF, 0, ty, vec![])
        }

        fn var(&mut self, name: &str, ty: u32) -> u32 {
            self.add(name, kind::VAR, 0, ty, vec![1])
        }

        fn static_var(&mut self, name: &str, ty: u32) -> u32 {
            self.add(name, kind::VAR, 0, ty, vec![VAR_STATIC])
        }

        fn enumeration(
            &mut self,
            name: &str,
            size: u32,
            signed: bool,
            values: &[(&str, i32)],
        ) -> u32 {
            let mut extra = Vec::new();
            for &(n, v) in values {
                extra.extend([self.str(n), v as u32]);
            }
            self.add_flagged(name, kind::ENUM, values.len(), signed, size, extra)
        }

        /// A DATASEC; entries are `(var, offset, size)`.
        fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
            let extra = vars.iter().flat_map(|&(v, o, s)| [v, o, s]).collect();
            self.add(name, kind::DATASEC, vars.len(), size, extra)
        }

        fn build(self) -> Btf {
            Btf::parse(&raw_btf(&self.types, &self.strings)).unwrap()
        }
    }

    /// Names given to every struct, union and enum, sorted by name.
    fn all_names(btf: &Btf, sections: &[(u32, &str)]) -> Vec<String> {
        let names = TypeNames::new(btf, sections).unwrap();
        let mut v: Vec<String> = btf
            .ids()
            .filter_map(|id| names.get(id))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// `.rodata`: `cfg` of an anonymous struct { u32 mode; struct { u16 port; } inner;
    /// union { u32 word; u16 halves[2]; } tag; struct { u32 id; } rules[3]; enum { .. } state;
    /// void *ptr; }`, then `defaults` of `struct settings { struct { u16 lo; } range; union
    /// { u32 i; }; }` and `pairs` of `pair_t pairs[2]` (a typedef'd anonymous struct); `filler`
    /// types before them push every id by `shift`.
    fn rodata_btf(shift: u32) -> (Btf, u32) {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, false);
        for _ in 0..shift {
            b.record(kind::STRUCT, "", 4, &[("unused", u32_, 0)]);
        }
        let u16_ = b.int("unsigned short", 2, false);
        let inner = b.record(kind::STRUCT, "", 2, &[("port", u16_, 0)]);
        let halves = b.array(u16_, u32_, 2);
        let tag = b.record(
            kind::UNION,
            "",
            4,
            &[("word", u32_, 0), ("halves", halves, 0)],
        );
        let rule = b.record(kind::STRUCT, "", 4, &[("id", u32_, 0)]);
        let rules = b.array(rule, u32_, 3);
        let state = b.enumeration("", 4, false, &[("CFG_OFF", 0), ("CFG_ON", 5)]);
        let ptr = b.add("", kind::PTR, 0, 0, vec![]);
        let cfg_t = b.record(
            kind::STRUCT,
            "",
            40,
            &[
                ("mode", u32_, 0),
                ("inner", inner, 4),
                ("tag", tag, 8),
                ("rules", rules, 12),
                ("state", state, 24),
                ("ptr", ptr, 32),
            ],
        );
        let vol = b.add("", kind::VOLATILE, 0, cfg_t, vec![]);
        let cst = b.add("", kind::CONST, 0, vol, vec![]);
        let cfg = b.var("cfg", cst);
        let range = b.record(kind::STRUCT, "", 2, &[("lo", u16_, 0)]);
        let any = b.record(kind::UNION, "", 4, &[("i", u32_, 0)]);
        let settings = b.record(
            kind::STRUCT,
            "settings",
            8,
            &[("range", range, 0), ("", any, 4)],
        );
        let defaults = b.var("defaults", settings);
        let pair = b.record(kind::STRUCT, "", 4, &[("k", u32_, 0)]);
        let pair_t = b.typedef("pair_t", pair);
        let pairs_t = b.array(pair_t, u32_, 2);
        let pairs = b.var("pairs", pairs_t);
        let hidden_t = b.record(kind::STRUCT, "", 4, &[("h", u32_, 0)]);
        let hidden = b.static_var("hidden", hidden_t);
        let sec = b.datasec(
            ".rodata",
            60,
            &[
                (cfg, 0, 40),
                (defaults, 40, 8),
                (pairs, 48, 8),
                (hidden, 56, 4),
            ],
        );
        (b.build(), sec)
    }

    #[test]
    fn anonymous_types_are_named_after_where_they_first_appear() {
        let (btf, sec) = rodata_btf(0);
        let names = TypeNames::new(&btf, &[(sec, ".rodata")]).unwrap();
        let name_of = |member_path: &[&str]| -> String {
            // Follow `cfg`'s type down the member path.
            let cfg = btf.get(sec).unwrap().secinfos().next().unwrap().0;
            let mut id = btf.get(cfg).unwrap().size_or_type;
            for m in member_path {
                let (t, _) = resolve(&btf, id).unwrap();
                let t = btf.get(t).unwrap();
                id = t
                    .members()
                    .find(|&(n, _, _)| btf.name(n).unwrap() == *m)
                    .unwrap()
                    .1;
            }
            let (mut t, _) = resolve(&btf, id).unwrap();
            while let Some((elem, _, _)) = btf.get(t).unwrap().array() {
                t = elem;
            }
            names.get(t).unwrap().to_string()
        };
        assert_eq!(name_of(&[]), "RodataCfg");
        assert_eq!(name_of(&["inner"]), "RodataCfgInner");
        assert_eq!(name_of(&["tag"]), "RodataCfgTag");
        assert_eq!(name_of(&["rules"]), "RodataCfgRules", "array element");
        assert_eq!(name_of(&["state"]), "RodataCfgState", "anonymous enum");
        assert_eq!(
            all_names(&btf, &[(sec, ".rodata")]),
            [
                "RodataCfg",
                "RodataCfgInner",
                "RodataCfgRules",
                "RodataCfgState",
                "RodataCfgTag",
                "SettingsAnon1",
                "SettingsRange",
                "pair_t",
                "settings",
            ],
            "C names kept, typedef names used, static variables left out, no BTF id anywhere"
        );
    }

    #[test]
    fn names_do_not_depend_on_btf_ids() {
        let (a, sec_a) = rodata_btf(0);
        let (b, sec_b) = rodata_btf(5);
        assert_ne!(sec_a, sec_b);
        assert_eq!(
            all_names(&a, &[(sec_a, ".rodata")]),
            all_names(&b, &[(sec_b, ".rodata")])
        );
        // And the same object named twice gives the same names.
        assert_eq!(
            all_names(&a, &[(sec_a, ".rodata")]),
            all_names(&a, &[(sec_a, ".rodata")])
        );
    }

    #[test]
    fn derived_names_are_numbered_only_on_a_real_clash() {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, false);
        // `.data` `foo_x` and `.data.foo` `x` both derive `DataFooX`.
        let t1 = b.record(kind::STRUCT, "", 4, &[("a", u32_, 0)]);
        let foo_x = b.var("foo_x", t1);
        let t2 = b.record(kind::STRUCT, "", 4, &[("b", u32_, 0)]);
        let x = b.var("x", t2);
        // `.data` `cfg` is anonymous, and a later variable's type is C's `struct DataCfg`: the
        // C name wins although the anonymous type comes first.
        let t3 = b.record(kind::STRUCT, "", 4, &[("c", u32_, 0)]);
        let cfg = b.var("cfg", t3);
        let t4 = b.record(kind::STRUCT, "DataCfg", 4, &[("d", u32_, 0)]);
        let other = b.var("other", t4);
        // Two C structs named `s` (objects linked from two sources), one named `u32`.
        let s1 = b.record(kind::STRUCT, "s", 4, &[("e", u32_, 0)]);
        let v1 = b.var("v1", s1);
        let s2 = b.record(kind::STRUCT, "s", 4, &[("f", u32_, 0)]);
        let v2 = b.var("v2", s2);
        let s3 = b.record(kind::STRUCT, "u32", 4, &[("g", u32_, 0)]);
        let v3 = b.var("v3", s3);
        // `.data` `solo` clashes with nothing.
        let t5 = b.record(kind::STRUCT, "", 4, &[("h", u32_, 0)]);
        let solo = b.var("solo", t5);
        let data = b.datasec(
            ".data",
            28,
            &[
                (foo_x, 0, 4),
                (cfg, 4, 4),
                (other, 8, 4),
                (v1, 12, 4),
                (v2, 16, 4),
                (v3, 20, 4),
                (solo, 24, 4),
            ],
        );
        let data_foo = b.datasec(".data.foo", 4, &[(x, 0, 4)]);
        let btf = b.build();
        let names = TypeNames::new(&btf, &[(data, ".data"), (data_foo, ".data.foo")]).unwrap();
        assert_eq!(names.get(t1), Some("DataFooX"));
        assert_eq!(names.get(t2), Some("DataFooX2"));
        assert_eq!(names.get(t4), Some("DataCfg"));
        assert_eq!(names.get(t3), Some("DataCfg2"));
        assert_eq!(names.get(s1), Some("s"));
        assert_eq!(names.get(s2), Some("s_2"));
        assert_eq!(
            names.get(s3),
            Some("u32_2"),
            "a primitive's name is never shadowed"
        );
        assert_eq!(names.get(t5), Some("DataSolo"));
        // The section order decides who is first.
        let names = TypeNames::new(&btf, &[(data_foo, ".data.foo"), (data, ".data")]).unwrap();
        assert_eq!(names.get(t2), Some("DataFooX"));
        assert_eq!(names.get(t1), Some("DataFooX2"));
    }

    #[test]
    fn nested_definitions_name_their_siblings_plainly() {
        let (btf, sec) = rodata_btf(0);
        let mut types = TypeGen::new(&btf, &[(sec, ".rodata")]).unwrap();
        let section = types
            .datasec_struct(sec, &section_type_name(".rodata"))
            .unwrap()
            .0
            .to_string();
        assert!(
            section.contains("pub cfg : types :: RodataCfg"),
            "{section}"
        );
        assert!(
            section.contains("pub defaults : types :: settings"),
            "{section}"
        );
        assert!(
            section.contains("pub pairs : [types :: pair_t ; 2]"),
            "{section}"
        );
        assert!(!section.contains("hidden"), "{section}");
        let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
        assert!(!defs.contains("types ::"), "inside `mod types`: {defs}");
        for field in [
            "pub inner : RodataCfgInner",
            "pub tag : RodataCfgTag",
            "pub rules : [RodataCfgRules ; 3]",
            "pub state : RodataCfgState",
            "pub ptr : u64",
            "pub range : SettingsRange",
            "pub __anon_1 : SettingsAnon1",
        ] {
            assert!(defs.contains(field), "{field} in {defs}");
        }
        assert!(defs.contains("pub union RodataCfgTag"), "{defs}");
        assert!(defs.contains("pub type RodataCfgState = u32 ;"), "{defs}");
        assert!(
            defs.contains("pub const CFG_ON : RodataCfgState = 5 ;"),
            "{defs}"
        );
        // Every definition is valid Rust.
        for d in types.definitions() {
            syn::parse2::<syn::File>(d.clone()).unwrap();
        }
        syn::parse_str::<syn::File>(&section).unwrap();
    }

    #[test]
    fn enum_constants_keep_their_sign_and_fit_their_type() {
        let mut b = Builder::new();
        let signed = b.enumeration("prio", 4, true, &[("LOW", -2), ("HIGH", 7)]);
        let small = b.enumeration("", 1, false, &[("SMALL", 3), ("TOO_BIG", 300)]);
        let v1 = b.var("prio", signed);
        let v2 = b.var("small", small);
        let sec = b.datasec(".bss", 8, &[(v1, 0, 4), (v2, 4, 1)]);
        let btf = b.build();
        let mut types = TypeGen::new(&btf, &[(sec, ".bss")]).unwrap();
        let (section, vars) = types
            .datasec_struct(sec, &section_type_name(".bss"))
            .unwrap();
        let section = section.to_string();
        // Enums are integers: both get atomic accessors, typed by size and sign.
        let atomics: Vec<String> = vars
            .iter()
            .map(|v| {
                format!(
                    "{}:{:?}",
                    v.c_name,
                    v.atomic.as_ref().map(|a| a.to_string())
                )
            })
            .collect();
        assert_eq!(
            atomics,
            ["prio:Some(\"AtomicI32\")", "small:Some(\"AtomicU8\")"]
        );
        assert!(section.contains("pub prio : types :: prio"), "{section}");
        assert!(
            section.contains("pub small : types :: BssSmall"),
            "{section}"
        );
        let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
        assert!(defs.contains("pub type prio = i32 ;"), "{defs}");
        assert!(defs.contains("pub const LOW : prio = - 2 ;"), "{defs}");
        assert!(defs.contains("pub const HIGH : prio = 7 ;"), "{defs}");
        assert!(defs.contains("pub type BssSmall = u8 ;"), "{defs}");
        assert!(defs.contains("pub const SMALL : BssSmall = 3 ;"), "{defs}");
        assert!(!defs.contains("TOO_BIG"), "300 does not fit a u8: {defs}");
    }

    /// `.data` holding `struct s { int x; struct s more[1]; } v`, the member an array of the
    /// struct itself (hostile BTF): `(btf, datasec id)`.
    fn self_holding_struct() -> (Btf, u32) {
        let mut b = Builder::new();
        let int = b.int("int", 4, true);
        let s = int + 1;
        b.record(kind::STRUCT, "s", 8, &[("x", int, 0), ("more", s + 1, 4)]);
        b.array(s, int, 1);
        let v = b.var("v", s);
        let sec = b.datasec(".data", 8, &[(v, 0, 8)]);
        (b.build(), sec)
    }

    #[test]
    fn a_struct_holding_itself_is_refused_not_overflowed() {
        let (btf, sec) = self_holding_struct();
        let mut gen = TypeGen::new(&btf, &[(sec, ".data")]).unwrap();
        let e = gen.contains_union(2).unwrap_err().to_string();
        assert!(e.contains("type [2] (STRUCT `s`) refers to itself"), "{e}");
        let e = gen
            .datasec_struct(sec, &ident("Data"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("refers to itself"), "{e}");
        let e = TypeGen::new(&btf, &[(sec, ".data")])
            .unwrap()
            .rust_type(2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refers to itself"), "{e}");
    }

    #[test]
    fn an_array_of_itself_or_a_typedef_loop_is_refused() {
        let mut b = Builder::new();
        let int = b.int("int", 4, true);
        let arr = b.array(int + 1, int, 2); // [2]: an array of itself
        let td = b.typedef("loop_t", arr + 2); // [3] -> [4] -> [3]
        b.add("", kind::CONST, 0, td, vec![]);
        let v = b.var("a", arr);
        let w = b.var("t", td);
        let sec = b.datasec(".data", 16, &[(v, 0, 8), (w, 8, 4)]);
        let btf = b.build();
        let e = TypeNames::new(&btf, &[(sec, ".data")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("type [2] (ARRAY `<anon>`) refers to itself"),
            "{e}"
        );
        let mut gen = TypeGen {
            btf: &btf,
            names: TypeNames::default(),
            defined: HashMap::new(),
            consts: HashSet::new(),
            defs: Vec::new(),
            has_union: HashMap::new(),
            skipped: Vec::new(),
        };
        for id in [arr, td] {
            let e = gen.rust_type(id).unwrap_err().to_string();
            assert!(e.contains("refers to itself"), "[{id}]: {e}");
            let e = gen.contains_union(id).unwrap_err().to_string();
            assert!(e.contains("refers to itself"), "[{id}]: {e}");
        }
        let e = resolve(&btf, td).unwrap_err().to_string();
        assert!(
            e.contains("type [3] (TYPEDEF `loop_t`) refers to itself"),
            "{e}"
        );
    }

    /// `.bss` holding `struct used { u32 x; }`; beside it, types no global uses: `struct
    /// event { u64 seq; char comm[16]; struct { u16 port; } inner; }`, a typedef'd anonymous
    /// `evt_t`, `enum kind`, a bare anonymous struct, `struct loop_s` (holds itself) and
    /// `struct odd` (a member of kind FUNC_PROTO).
    fn extra_types_btf() -> (Btf, u32) {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, false);
        let u64_ = b.int("unsigned long long", 8, false);
        let u16_ = b.int("unsigned short", 2, false);
        let char_ = b.int("char", 1, true);
        let comm = b.array(char_, u32_, 16);
        let used = b.record(kind::STRUCT, "used", 4, &[("x", u32_, 0)]);
        let inner = b.record(kind::STRUCT, "", 2, &[("port", u16_, 0)]);
        b.record(
            kind::STRUCT,
            "event",
            32,
            &[("seq", u64_, 0), ("comm", comm, 8), ("inner", inner, 24)],
        );
        let anon = b.record(kind::STRUCT, "", 4, &[("a", u32_, 0)]);
        b.typedef("evt_t", anon);
        b.enumeration("kind", 4, false, &[("KIND_A", 1), ("KIND_B", 2)]);
        b.record(kind::STRUCT, "", 4, &[("nobody", u32_, 0)]);
        let loop_s = b.types.len() as u32 + 1;
        let arr = loop_s + 1;
        b.record(
            kind::STRUCT,
            "loop_s",
            8,
            &[("x", u32_, 0), ("more", arr, 4)],
        );
        b.array(loop_s, u32_, 1);
        let proto = b.add("", kind::FUNC_PROTO, 0, 0, vec![]);
        b.record(kind::STRUCT, "odd", 4, &[("f", proto, 0)]);
        let v = b.var("u", used);
        let sec = b.datasec(".bss", 4, &[(v, 0, 4)]);
        (b.build(), sec)
    }

    #[test]
    fn every_named_type_is_generated_not_only_those_of_globals() {
        let (btf, sec) = extra_types_btf();
        let mut types = TypeGen::new(&btf, &[(sec, ".bss")]).unwrap();
        types.datasec_struct(sec, &ident("Bss")).unwrap();
        types.define_all().unwrap();
        let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
        for want in [
            "pub struct used",
            "pub struct event",
            "pub inner : EventInner",
            "pub struct EventInner",
            "pub struct evt_t",
            "pub type kind = u32 ;",
            "pub const KIND_B : kind = 2 ;",
            "pub fn from_bytes (bytes : & [u8])",
        ] {
            assert!(defs.contains(want), "{want} in {defs}");
        }
        assert!(!defs.contains("nobody"), "anonymous and unnamed: {defs}");
        assert!(
            !defs.contains("loop_s") && !defs.contains("struct odd"),
            "{defs}"
        );
        let skipped = types.skipped().join("\n");
        assert!(
            skipped.contains("`struct loop_s`: ") && skipped.contains("refers to itself"),
            "{skipped}"
        );
        assert!(
            skipped.contains("`struct odd`: member `f`: holds a type of BTF kind 13"),
            "{skipped}"
        );
        let doc = module_doc(types.skipped());
        assert!(
            doc.contains("Not generated") && doc.contains("- `struct odd`"),
            "{doc}"
        );
        for d in types.definitions() {
            syn::parse2::<syn::File>(d.clone()).unwrap();
        }
        // No skipped type: no "Not generated" list.
        assert!(!module_doc(&[]).contains("Not generated"));
    }

    #[test]
    fn char_arrays_get_string_accessors_with_free_names() {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, false);
        let char_ = b.int("char", 1, true);
        // An unsigned char with the CHAR encoding counts; a plain unsigned char does not.
        let uchar = b.add("unsigned char", kind::INT, 0, 1, vec![(2 << 24) | 8]);
        let u8_ = b.int("unsigned char", 1, false);
        let c16 = b.array(char_, u32_, 16);
        let c8 = b.array(uchar, u32_, 8);
        let raw = b.array(u8_, u32_, 4);
        let row = b.array(char_, u32_, 3);
        let grid = b.array(row, u32_, 2);
        let ev = b.record(
            kind::STRUCT,
            "ev",
            40,
            &[
                ("comm", c16, 0),
                ("set_comm", c8, 16),
                ("raw", raw, 24),
                ("grid", grid, 28),
                ("n", u32_, 36),
            ],
        );
        // Packed (a u32 at offset 1): the accessors copy the array instead of borrowing it.
        let p = b.record(kind::STRUCT, "p", 9, &[("tag", c8, 0), ("v", u32_, 1)]);
        let un = b.record(kind::UNION, "un", 16, &[("name", c16, 0), ("v", u32_, 0)]);
        let _ = (ev, p, un);
        let btf = b.build();
        let mut types = TypeGen::new(&btf, &[]).unwrap();
        types.define_all().unwrap();
        let defs: Vec<String> = types.definitions().iter().map(|d| d.to_string()).collect();
        let def = |name: &str| -> &String {
            defs.iter()
                .find(|d| {
                    d.contains(&format!("pub struct {name} "))
                        || d.contains(&format!("pub union {name} "))
                })
                .unwrap()
        };
        let ev = def("ev");
        for m in [
            "fn comm_str (& self) -> :: std :: borrow :: Cow < '_ , str >",
            "fn set_comm_str (& self)", // the getter of field `set_comm`
            "fn set_comm_str_ (& mut self , s : & str)", // the setter of `comm`, renamed
            "fn set_set_comm_str (& mut self , s : & str)",
            "__lskel :: c_chars_str (& self . comm)",
            "fn as_bytes (& self)",
            "unsafe impl __lskel :: PodBytes for ev",
        ] {
            assert!(ev.contains(m), "{m} in {ev}");
        }
        assert!(
            !ev.contains("raw_str") && !ev.contains("grid_str") && !ev.contains("n_str"),
            "{ev}"
        );
        let p = def("p");
        assert!(p.contains("repr (C , packed)"), "{p}");
        assert!(
            p.contains("let a = self . tag ;"),
            "copied out of the packed struct: {p}"
        );
        let un = def("un");
        assert!(
            un.contains("fn from_bytes") && !un.contains("as_bytes") && !un.contains("PodBytes"),
            "{un}"
        );
        assert!(
            !un.contains("name_str"),
            "union fields are not read safely: {un}"
        );
        for d in types.definitions() {
            syn::parse2::<syn::File>(d.clone()).unwrap();
        }
    }
}
