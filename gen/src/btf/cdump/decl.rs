//! Declarators: a type wrapped around a name the C way (pointers, arrays, function
//! prototypes, qualifiers), with anonymous records and enums written inline.

use super::super::kind;
use super::{Dumper, MAX_NEST};
use crate::error::{btf_err, Result};

impl Dumper<'_> {
    /// The C declaration of something of type `id` whose declarator so far is `inner` (a name,
    /// `*name`, `(*name)[4]`...), at indentation `lvl` for inline bodies.
    pub(super) fn declare(&self, id: u32, inner: String, lvl: usize, depth: u32) -> Result<String> {
        if depth > MAX_NEST {
            return Err(self.too_deep(id));
        }
        let with = |base: &str| {
            if inner.is_empty() {
                base.to_string()
            } else {
                format!("{base} {inner}")
            }
        };
        if id == 0 {
            return Ok(with("void"));
        }
        let t = self.ty(id)?;
        let i = id as usize;
        let next = depth + 1;
        let wrap = |inner: &str| {
            if inner.starts_with('*') {
                format!("({inner})")
            } else {
                inner.to_string()
            }
        };
        Ok(match t.kind() {
            kind::INT | kind::FLOAT => with(self.btf.name(t.name_off)?),
            kind::TYPEDEF => with(&self.names[i]),
            kind::STRUCT | kind::UNION if t.name_off != 0 => {
                let tag = if t.kind() == kind::UNION {
                    "union"
                } else {
                    "struct"
                };
                with(&format!("{tag} {}", self.names[i]))
            }
            kind::STRUCT | kind::UNION => with(&self.composite_def(id, lvl, next)?),
            kind::ENUM | kind::ENUM64 if t.name_off != 0 => {
                with(&format!("enum {}", self.names[i]))
            }
            kind::ENUM | kind::ENUM64 => with(&self.enum_def(id, lvl)?),
            kind::FWD => with(&format!(
                "{} {}",
                if t.kflag() { "union" } else { "struct" },
                self.names[i]
            )),
            kind::PTR => self.declare(t.size_or_type, format!("*{inner}"), lvl, next)?,
            kind::CONST | kind::VOLATILE | kind::RESTRICT => {
                let q = match t.kind() {
                    kind::CONST => "const",
                    kind::VOLATILE => "volatile",
                    _ => "restrict",
                };
                // A qualified pointer: the qualifier goes after the `*`.
                let target = self.skip_quals(t.size_or_type)?;
                if self.ty(target).map(|t| t.kind()).ok() == Some(kind::PTR) && target != 0 {
                    let inner = if inner.is_empty() {
                        q.to_string()
                    } else {
                        format!("{q} {inner}")
                    };
                    self.declare(t.size_or_type, inner, lvl, next)?
                } else if self.array_elems_have(target, t.kind())? {
                    // `const` on an array is `const` on its elements, which BTF often says
                    // again: `const const char x[4]` would be a warning.
                    self.declare(t.size_or_type, inner, lvl, next)?
                } else {
                    format!("{q} {}", self.declare(t.size_or_type, inner, lvl, next)?)
                }
            }
            kind::TYPE_TAG => self.declare(t.size_or_type, inner, lvl, next)?,
            kind::ARRAY => {
                let (elem, _, n) = t.array().unwrap_or_default();
                self.declare(elem, format!("{}[{n}]", wrap(&inner)), lvl, next)?
            }
            kind::FUNC_PROTO => {
                let mut params = Vec::with_capacity(t.vlen());
                let n = t.vlen();
                for (k, c) in t.extra.chunks_exact(2).enumerate() {
                    if c[1] == 0 && k + 1 == n {
                        params.push("...".to_string());
                    } else {
                        params.push(self.declare(c[1], String::new(), lvl, next)?);
                    }
                }
                let params = if params.is_empty() {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                self.declare(
                    t.size_or_type,
                    format!("{}({params})", wrap(&inner)),
                    lvl,
                    next,
                )?
            }
            k => {
                return Err(btf_err(format!(
                    "type [{id}] of kind {} cannot be declared in C",
                    super::super::kind_name(k)
                )))
            }
        })
    }

    /// Whether `id` is an array whose elements (through nested arrays) carry qualifier `q`.
    pub(super) fn array_elems_have(&self, mut id: u32, q: u32) -> Result<bool> {
        let mut seen_array = false;
        for _ in 0..MAX_NEST {
            let t = self.ty(id)?;
            match t.kind() {
                _ if id == 0 => return Ok(false),
                kind::ARRAY => {
                    seen_array = true;
                    id = t.extra[0];
                }
                k if k == q => return Ok(seen_array),
                kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return Ok(false),
            }
        }
        Err(self.too_deep(id))
    }

    /// Skips CONST/VOLATILE/RESTRICT/TYPE_TAG (not typedefs).
    pub(super) fn skip_quals(&self, mut id: u32) -> Result<u32> {
        for _ in 0..MAX_NEST {
            let t = self.ty(id)?;
            match t.kind() {
                kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPE_TAG if id != 0 => {
                    id = t.size_or_type
                }
                _ => return Ok(id),
            }
        }
        Err(self.too_deep(id))
    }
}
