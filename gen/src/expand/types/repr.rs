//! Which named types have a Rust layout: everything they hold is a scalar, pointer, enum, or
//! a struct, union or array of those, with no loop. The others are skipped and listed.

use std::collections::HashSet;

use super::names::named_types;
use super::{Scope, TypeGen};
use crate::btf::{enter, kind};
use crate::error::Result;

impl TypeGen<'_> {
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
}
