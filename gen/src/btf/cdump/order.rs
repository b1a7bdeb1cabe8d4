//! The two passes: ordering the named definitions so that by-value dependencies come first,
//! then writing them with forward declarations for what is met through a pointer.

use std::fmt::Write;

use super::super::kind;
use super::{Dumper, State, MAX_NEST};
use crate::error::{btf_err, Result};

impl Dumper<'_> {
    /// Puts `id` and what it needs by value into the queue. Returns whether a use of `id`
    /// needs its definition (not just a declaration) first.
    pub(super) fn order(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool> {
        if depth > MAX_NEST {
            return Err(self.too_deep(id));
        }
        let t = self.ty(id)?;
        let named = t.name_off != 0;
        let composite = matches!(t.kind(), kind::STRUCT | kind::UNION);
        match self.order_state[id as usize] {
            State::Done => return Ok(true),
            State::Busy => {
                if composite && through_ptr && named {
                    return Ok(false);
                }
                return Err(btf_err(format!(
                    "type [{id}] contains itself by value: no C definition order exists"
                )));
            }
            State::Not => {}
        }
        let next = depth + 1;
        match t.kind() {
            kind::STRUCT | kind::UNION => {
                if through_ptr && named {
                    return Ok(false);
                }
                self.order_state[id as usize] = State::Busy;
                for (_, ty, _) in t.members() {
                    self.order(ty, false, next)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.order_state[id as usize] = State::Done;
                Ok(true)
            }
            kind::ENUM | kind::ENUM64 | kind::FWD => {
                if named || !self.referenced[id as usize] {
                    self.queue.push(id);
                }
                self.order_state[id as usize] = State::Done;
                Ok(true)
            }
            kind::TYPEDEF => {
                let strong = self.order(t.size_or_type, through_ptr, next)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                if self.btf.name(t.name_off)? != "__builtin_va_list" {
                    self.queue.push(id);
                }
                self.order_state[id as usize] = State::Done;
                Ok(true)
            }
            kind::PTR => {
                self.order(t.size_or_type, true, next)?;
                Ok(false)
            }
            kind::ARRAY => self.order(t.extra[0], through_ptr, next),
            kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPE_TAG => {
                self.order(t.size_or_type, through_ptr, next)
            }
            kind::FUNC_PROTO => {
                let mut strong = self.order(t.size_or_type, through_ptr, next)?;
                for c in t.extra.chunks_exact(2) {
                    strong |= self.order(c[1], through_ptr, next)?;
                }
                Ok(strong)
            }
            _ => {
                self.order_state[id as usize] = State::Done;
                Ok(false)
            }
        }
    }

    /// Writes `id` (and forward declarations it needs); `cont` is the named type whose
    /// definition is being written, 0 at top level.
    pub(super) fn emit(&mut self, id: u32, cont: u32, depth: u32) -> Result<()> {
        if depth > MAX_NEST {
            return Err(self.too_deep(id));
        }
        let i = id as usize;
        let t = self.ty(id)?;
        let top = cont == 0;
        match self.emit_state[i] {
            State::Done => return Ok(()),
            State::Busy => {
                // Met again through a pointer while being written.
                if self.fwd_emitted[i] {
                    return Ok(());
                }
                match t.kind() {
                    kind::STRUCT | kind::UNION if t.name_off != 0 => {
                        self.emit_fwd(id)?;
                        self.fwd_emitted[i] = true;
                    }
                    kind::TYPEDEF => {
                        self.emit_typedef(id)?;
                        self.fwd_emitted[i] = true;
                    }
                    _ => {}
                }
                return Ok(());
            }
            State::Not => {}
        }
        let next = depth + 1;
        match t.kind() {
            kind::ENUM | kind::ENUM64 => {
                if top {
                    let def = if t.vlen() == 0 {
                        format!("enum {}", self.names[i])
                    } else {
                        self.enum_def(id, 0)?
                    };
                    self.out.push_str(&def);
                    self.out.push_str(";\n\n");
                }
                self.emit_state[i] = State::Done;
            }
            kind::FWD => {
                self.emit_fwd(id)?;
                self.emit_state[i] = State::Done;
            }
            kind::TYPEDEF => {
                self.emit_state[i] = State::Busy;
                self.emit(t.size_or_type, id, next)?;
                if !self.fwd_emitted[i] {
                    self.emit_typedef(id)?;
                }
                self.emit_state[i] = State::Done;
            }
            kind::STRUCT | kind::UNION => {
                self.emit_state[i] = State::Busy;
                let named = t.name_off != 0;
                if top || !named {
                    for (_, ty, _) in t.members() {
                        self.emit(ty, if named { id } else { cont }, next)?;
                    }
                } else if !self.fwd_emitted[i] && id != cont {
                    self.emit_fwd(id)?;
                    self.fwd_emitted[i] = true;
                }
                if top {
                    let def = self.composite_def(id, 0, 0)?;
                    self.out.push_str(&def);
                    self.out.push_str(";\n\n");
                    self.emit_state[i] = State::Done;
                } else {
                    self.emit_state[i] = State::Not;
                }
            }
            kind::PTR | kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPE_TAG => {
                self.emit(t.size_or_type, cont, next)?
            }
            kind::ARRAY => self.emit(t.extra[0], cont, next)?,
            kind::FUNC_PROTO => {
                self.emit(t.size_or_type, cont, next)?;
                for c in t.extra.chunks_exact(2) {
                    self.emit(c[1], cont, next)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn emit_fwd(&mut self, id: u32) -> Result<()> {
        let t = self.ty(id)?;
        let tag = if t.kind() == kind::UNION || (t.kind() == kind::FWD && t.kflag()) {
            "union"
        } else {
            "struct"
        };
        let _ = write!(self.out, "{tag} {};\n\n", self.names[id as usize]);
        Ok(())
    }

    pub(super) fn emit_typedef(&mut self, id: u32) -> Result<()> {
        let t = self.ty(id)?;
        if self.btf.name(t.name_off)? == "__builtin_va_list" {
            return Ok(());
        }
        let decl = self.declare(t.size_or_type, self.names[id as usize].clone(), 0, 0)?;
        let _ = write!(self.out, "typedef {decl};\n\n");
        Ok(())
    }
}
