//! Naming the types: every struct, union and enum gets its C name, or for an anonymous one
//! a name derived from where it first appears ([`TypeNames`]).

use std::collections::{HashMap, HashSet};

use super::idents::{camel_case, ident, section_type_name, RESERVED};
use crate::btf::{enter, kind, Btf, VAR_STATIC};
use crate::error::Result;

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
    pub(super) fn get_or_add(&mut self, id: u32, c_name: &str) -> String {
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
pub(super) fn named_types(btf: &Btf) -> impl Iterator<Item = u32> + '_ {
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
pub(super) fn resolve(btf: &Btf, id: u32) -> Result<(u32, Option<&str>)> {
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
pub(super) fn member_name(btf: &Btf, name_off: u32, i: usize) -> Result<String> {
    let name = btf.name(name_off)?;
    Ok(if name.is_empty() {
        format!("__anon_{i}")
    } else {
        name.to_string()
    })
}

/// The variables of a DATASEC that get a field in its struct: `(VAR id, secinfo index)` of
/// each non-static variable, the first of any repeated name only.
pub(super) fn section_vars(btf: &Btf, datasec: u32) -> Result<Vec<(u32, usize)>> {
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
