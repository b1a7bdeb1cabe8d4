//! C names for every type and enumerator (a `___N` suffix on clashes), and which types
//! another refers to.

use std::collections::HashMap;

use super::super::kind;
use super::Dumper;
use crate::error::Result;

impl Dumper<'_> {
    /// Gives each named type its C name: tags (struct/union/enum) and ordinary identifiers
    /// (typedefs, enumerators) are separate namespaces; the first of a name keeps it, later
    /// ones become `name___2`, `name___3`...
    pub(super) fn assign_names(&mut self) -> Result<()> {
        let mut seen: HashMap<(bool, String), u32> = HashMap::new();
        // The tag kind a name was first defined with, so `struct x;` matches `struct x {..}`.
        let mut tag_kind: HashMap<String, u32> = HashMap::new();
        let mut unique = |tag: bool, name: &str| -> String {
            let n = seen.entry((tag, name.to_string())).or_insert(0);
            *n += 1;
            if *n == 1 {
                name.to_string()
            } else {
                format!("{name}___{n}")
            }
        };
        // Definitions first, so forward declarations can take their names.
        for id in self.btf.ids() {
            let t = self.ty(id)?;
            let name = self.btf.name(t.name_off)?;
            match t.kind() {
                kind::STRUCT | kind::UNION => {
                    tag_kind.entry(name.to_string()).or_insert(t.kind());
                    if !name.is_empty() {
                        self.names[id as usize] = unique(true, name);
                    }
                }
                kind::ENUM | kind::ENUM64 => {
                    if !name.is_empty() && t.vlen() > 0 {
                        tag_kind.entry(name.to_string()).or_insert(kind::ENUM);
                        self.names[id as usize] = unique(true, name);
                    }
                    let mut values = Vec::with_capacity(t.vlen());
                    let step = if t.kind() == kind::ENUM { 2 } else { 3 };
                    for c in t.extra.chunks_exact(step) {
                        values.push(unique(false, self.btf.name(c[0])?));
                    }
                    self.enumerators.insert(id, values);
                }
                kind::TYPEDEF => self.names[id as usize] = unique(false, name),
                _ => {}
            }
        }
        for id in self.btf.ids() {
            let t = self.ty(id)?;
            let name = self.btf.name(t.name_off)?;
            let wanted = match t.kind() {
                kind::FWD if t.kflag() => kind::UNION,
                kind::FWD => kind::STRUCT,
                kind::ENUM | kind::ENUM64 if t.vlen() == 0 => kind::ENUM,
                _ => continue,
            };
            if name.is_empty() {
                continue;
            }
            self.names[id as usize] = match tag_kind.get(name) {
                Some(&k) if k == wanted => name.to_string(),
                Some(_) => unique(true, name),
                None => {
                    tag_kind.insert(name.to_string(), wanted);
                    unique(true, name)
                }
            };
        }
        Ok(())
    }

    pub(super) fn mark_referenced(&mut self) -> Result<()> {
        for id in self.btf.ids() {
            let t = self.ty(id)?;
            match t.kind() {
                kind::PTR
                | kind::TYPEDEF
                | kind::CONST
                | kind::VOLATILE
                | kind::RESTRICT
                | kind::TYPE_TAG => self.referenced[t.size_or_type as usize] = true,
                kind::ARRAY => self.referenced[t.extra[0] as usize] = true,
                kind::STRUCT | kind::UNION => {
                    for (_, ty, _) in t.members() {
                        self.referenced[ty as usize] = true;
                    }
                }
                kind::FUNC_PROTO => {
                    self.referenced[t.size_or_type as usize] = true;
                    for c in t.extra.chunks_exact(2) {
                        self.referenced[c[1] as usize] = true;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
