//! BTF as a C header: what `bpftool btf dump file /sys/kernel/btf/vmlinux format c` prints,
//! written in Rust, so a build needs no bpftool to get a `vmlinux.h`.
//!
//! Every type is written once. A struct or union used by value is defined before its use;
//! one reached only through pointers gets a forward declaration (`struct x;`), which is also how
//! cycles are broken. Anonymous structs, unions and enums are written inline where they are
//! used; an anonymous enum nothing refers to is written on its own, for its constants. Gaps
//! in a layout that C's alignment rules would not produce are filled with unnamed bitfields
//! (`long: 64;`), and a layout C can only reach packed gets `__attribute__((packed))`. Names that
//! two different types (or enumerators) share get a `___N` suffix on the later ones.
//!
//! Two passes, one state per type each: the first orders the named definitions so that every
//! by-value dependency comes first (a struct being ordered that is met again by value is a
//! cycle C cannot express, an error); the second writes them, emitting forward declarations
//! for types met through a pointer before their definition.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;

use super::{kind, Btf, Type};
use crate::error::{btf_err, Result};

/// How deep the walks go (by-value nesting, modifier chains, declarators) before the BTF is
/// taken as malformed. Far above what kernels have.
const MAX_NEST: u32 = 512;

/// The largest gap in a record filled with padding bitfields (512 KiB, 65536 `long: 64;`
/// lines): kernels pad to cache lines and pages, corrupt BTF could ask for gigabytes.
const MAX_PAD_BITS: u64 = 1 << 22;

/// The whole `vmlinux.h`: guard, `preserve_access_index` pragma (off with
/// `BPF_NO_PRESERVE_ACCESS_INDEX`) and every type of `btf`.
pub fn vmlinux_header(btf: &Btf) -> Result<String> {
    let body = dump_c(btf)?;
    let mut out = String::with_capacity(body.len() + 512);
    out.push_str(
        "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
         #ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
         #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
         #endif\n\n",
    );
    out.push_str(&body);
    out.push_str(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
         #endif /* __VMLINUX_H__ */\n",
    );
    Ok(out)
}

/// [`vmlinux_header`] of raw BTF bytes (`/sys/kernel/btf/vmlinux`, or any `.BTF` section
/// that is not split BTF).
pub fn vmlinux_header_from_bytes(data: &[u8]) -> Result<String> {
    vmlinux_header(&Btf::parse(data)?)
}

/// The C definitions of every type of `btf`, in an order a C compiler accepts.
pub fn dump_c(btf: &Btf) -> Result<String> {
    let mut d = Dumper::new(btf)?;
    for id in btf.ids() {
        d.order(id, false, 0)?;
    }
    for i in 0..d.queue.len() {
        let id = d.queue[i];
        d.emit(id, 0, 0)?;
    }
    Ok(d.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Not,
    Busy,
    Done,
}

struct Dumper<'b> {
    btf: &'b Btf,
    /// The C name of each type (renamed on clashes); "" when anonymous.
    names: Vec<String>,
    /// Enumerator names per enum type, renamed on clashes.
    enumerators: HashMap<u32, Vec<String>>,
    /// Whether another emitted type refers to it (anonymous enums that are not get written alone).
    referenced: Vec<bool>,
    order_state: Vec<State>,
    emit_state: Vec<State>,
    fwd_emitted: Vec<bool>,
    /// Named definitions in dependency order.
    queue: Vec<u32>,
    /// Alignment (bytes) and packedness of structs and unions, once computed.
    layouts: RefCell<HashMap<u32, (u64, bool)>>,
    out: String,
}

/// A member of a struct or union, decoded.
struct Member<'b> {
    name: &'b str,
    ty: u32,
    bit_off: u64,
    /// 0 when not a bitfield.
    bits: u64,
}

fn indent(lvl: usize) -> String {
    "\t".repeat(lvl)
}

fn round_up(v: u64, to: u64) -> u64 {
    if to == 0 {
        v
    } else {
        v.div_ceil(to).saturating_mul(to)
    }
}

impl<'b> Dumper<'b> {
    fn new(btf: &'b Btf) -> Result<Self> {
        let n = btf.len();
        let mut d = Dumper {
            btf,
            names: vec![String::new(); n],
            enumerators: HashMap::new(),
            referenced: vec![false; n],
            order_state: vec![State::Not; n],
            emit_state: vec![State::Not; n],
            fwd_emitted: vec![false; n],
            queue: Vec::new(),
            layouts: RefCell::new(HashMap::new()),
            out: String::new(),
        };
        d.assign_names()?;
        d.mark_referenced()?;
        Ok(d)
    }

    fn ty(&self, id: u32) -> Result<&'b Type> {
        self.btf.get(id)
    }

    /// Gives each named type its C name: tags (struct/union/enum) and ordinary identifiers
    /// (typedefs, enumerators) are separate namespaces; the first of a name keeps it, later
    /// ones become `name___2`, `name___3`...
    fn assign_names(&mut self) -> Result<()> {
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

    fn mark_referenced(&mut self) -> Result<()> {
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

    fn too_deep(&self, id: u32) -> crate::Error {
        btf_err(format!(
            "type [{id}] nests more than {MAX_NEST} levels deep while writing C"
        ))
    }

    /// Puts `id` and what it needs by value into the queue. Returns whether a use of `id`
    /// needs its definition (not just a declaration) first.
    fn order(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool> {
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
    fn emit(&mut self, id: u32, cont: u32, depth: u32) -> Result<()> {
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

    fn emit_fwd(&mut self, id: u32) -> Result<()> {
        let t = self.ty(id)?;
        let tag = if t.kind() == kind::UNION || (t.kind() == kind::FWD && t.kflag()) {
            "union"
        } else {
            "struct"
        };
        let _ = write!(self.out, "{tag} {};\n\n", self.names[id as usize]);
        Ok(())
    }

    fn emit_typedef(&mut self, id: u32) -> Result<()> {
        let t = self.ty(id)?;
        if self.btf.name(t.name_off)? == "__builtin_va_list" {
            return Ok(());
        }
        let decl = self.declare(t.size_or_type, self.names[id as usize].clone(), 0, 0)?;
        let _ = write!(self.out, "typedef {decl};\n\n");
        Ok(())
    }

    /// The C declaration of something of type `id` whose declarator so far is `inner` (a name,
    /// `*name`, `(*name)[4]`...), at indentation `lvl` for inline bodies.
    fn declare(&self, id: u32, inner: String, lvl: usize, depth: u32) -> Result<String> {
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
                    super::kind_name(k)
                )))
            }
        })
    }

    /// Whether `id` is an array whose elements (through nested arrays) carry qualifier `q`.
    fn array_elems_have(&self, mut id: u32, q: u32) -> Result<bool> {
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
    fn skip_quals(&self, mut id: u32) -> Result<u32> {
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

    fn enum_def(&self, id: u32, lvl: usize) -> Result<String> {
        let t = self.ty(id)?;
        let signed = t.kflag();
        let mut out = String::from("enum");
        if t.name_off != 0 {
            out.push(' ');
            out.push_str(&self.names[id as usize]);
        }
        out.push_str(" {\n");
        let names = self.enumerators.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let mut wide = false;
        let step = if t.kind() == kind::ENUM { 2 } else { 3 };
        for (k, c) in t.extra.chunks_exact(step).enumerate() {
            let raw = if step == 2 {
                if signed {
                    c[1] as i32 as i64 as u64
                } else {
                    u64::from(c[1])
                }
            } else {
                u64::from(c[1]) | (u64::from(c[2]) << 32)
            };
            let value = if signed {
                let v = raw as i64;
                wide |= i32::try_from(v).is_err();
                if v == i64::MIN {
                    "(-9223372036854775807LL - 1)".to_string()
                } else if i32::try_from(v).is_err() {
                    format!("{v}LL")
                } else {
                    v.to_string()
                }
            } else {
                wide |= raw > u64::from(u32::MAX);
                if raw > u64::from(u32::MAX) {
                    format!("{raw}ULL")
                } else {
                    raw.to_string()
                }
            };
            let name = names.get(k).map(String::as_str).unwrap_or("");
            let _ = writeln!(out, "{}{name} = {value},", indent(lvl + 1));
        }
        out.push_str(&indent(lvl));
        out.push('}');
        // C makes an enum `int`-sized unless a value needs more: say so when BTF differs.
        let natural = if wide { 8 } else { 4 };
        if t.size_or_type != natural {
            let mode = match t.size_or_type {
                1 => "QI",
                2 => "HI",
                4 => "SI",
                _ => "DI",
            };
            let _ = write!(out, " __attribute__((mode({mode})))");
        }
        Ok(out)
    }

    fn members(&self, t: &'b Type) -> Result<Vec<Member<'b>>> {
        let mut out = Vec::with_capacity(t.vlen());
        for (name_off, ty, off) in t.members() {
            let (mut bit_off, mut bits) = if t.kflag() {
                (u64::from(off & 0x00ff_ffff), u64::from(off >> 24))
            } else {
                (u64::from(off), 0)
            };
            if !t.kflag() {
                // Old-style bitfields: the width is in the INT's encoding.
                let base = self.btf.skip_mods_and_typedefs(ty)?;
                let bt = self.ty(base)?;
                if bt.kind() == kind::INT {
                    let enc = bt.extra.first().copied().unwrap_or(0);
                    let (int_bits, int_off) =
                        (u64::from(enc & 0xff), u64::from((enc >> 16) & 0xff));
                    if int_bits != u64::from(bt.size_or_type) * 8 || int_off != 0 {
                        bits = int_bits;
                        bit_off += int_off;
                    }
                }
            }
            out.push(Member {
                name: self.btf.name(name_off)?,
                ty,
                bit_off,
                bits,
            });
        }
        Ok(out)
    }

    /// The alignment C gives type `id`, in bytes (1 for packed records).
    fn align(&self, id: u32, depth: u32) -> Result<u64> {
        if depth > MAX_NEST {
            return Err(self.too_deep(id));
        }
        let id = self.btf.skip_mods_and_typedefs(id)?;
        if id == 0 {
            return Ok(1);
        }
        let t = self.ty(id)?;
        Ok(match t.kind() {
            kind::INT | kind::FLOAT => u64::from(t.size_or_type).clamp(1, 16),
            kind::ENUM | kind::ENUM64 => u64::from(t.size_or_type).clamp(1, 8),
            kind::PTR => 8,
            kind::ARRAY => self.align(t.array().unwrap_or_default().0, depth + 1)?,
            kind::STRUCT | kind::UNION => {
                let (align, packed) = self.layout(id, depth + 1)?;
                if packed {
                    1
                } else {
                    align
                }
            }
            _ => 1,
        })
    }

    /// (natural alignment, packed) of a struct or union, computed once.
    fn layout(&self, id: u32, depth: u32) -> Result<(u64, bool)> {
        if let Some(&l) = self.layouts.borrow().get(&id) {
            return Ok(l);
        }
        let t = self.ty(id)?;
        let mut align = 1;
        let mut packed = false;
        for m in self.members(t)? {
            let a = self.align(m.ty, depth + 1)?;
            align = align.max(a);
            if m.bits == 0 && m.bit_off % (a * 8) != 0 {
                packed = true;
            }
        }
        if u64::from(t.size_or_type) % align != 0 {
            packed = true;
        }
        self.layouts.borrow_mut().insert(id, (align, packed));
        Ok((align, packed))
    }

    /// The definition of a struct or union, without the trailing `;`.
    fn composite_def(&self, id: u32, lvl: usize, depth: u32) -> Result<String> {
        let t = self.ty(id)?;
        let is_union = t.kind() == kind::UNION;
        let mut out = String::from(if is_union { "union" } else { "struct" });
        if t.name_off != 0 {
            out.push(' ');
            out.push_str(&self.names[id as usize]);
        }
        out.push_str(" {\n");
        let (align, packed) = self.layout(id, depth)?;
        let mut off = 0u64;
        let pad = |out: &mut String, from: u64, to: u64| {
            if to - from > MAX_PAD_BITS {
                return Err(btf_err(format!(
                    "type [{id}] has a gap of {} bytes between members: more padding than C output is written for",
                    (to - from) / 8
                )));
            }
            pad_bits(out, from, to, lvl + 1);
            Ok(())
        };
        for m in self.members(t)? {
            let size_bits = if m.bits > 0 {
                m.bits
            } else {
                self.btf.size_of(m.ty).unwrap_or(0).saturating_mul(8)
            };
            if !is_union {
                let unit = if packed {
                    if m.bits > 0 {
                        1
                    } else {
                        8
                    }
                } else {
                    self.align(m.ty, depth + 1)? * 8
                };
                let natural = if m.bits > 0 && !packed {
                    if off % unit + m.bits > unit {
                        round_up(off, unit)
                    } else {
                        off
                    }
                } else {
                    round_up(off, unit)
                };
                if natural != m.bit_off && m.bit_off > off {
                    pad(&mut out, off, m.bit_off)?;
                }
            }
            let decl = self.declare(m.ty, m.name.to_string(), lvl + 1, depth + 1)?;
            out.push_str(&indent(lvl + 1));
            out.push_str(&decl);
            if m.bits > 0 {
                let _ = write!(out, ": {}", m.bits);
            }
            out.push_str(";\n");
            if !is_union {
                off = m.bit_off.saturating_add(size_bits);
            }
        }
        let size = u64::from(t.size_or_type) * 8;
        if !is_union && size > round_up(off, if packed { 8 } else { align * 8 }) {
            pad(&mut out, off, size)?;
        }
        if out.ends_with(" {\n") {
            // No members: `struct x {}`, as bpftool writes it.
            out.pop();
        } else {
            out.push_str(&indent(lvl));
        }
        out.push('}');
        if packed {
            out.push_str(" __attribute__((packed))");
        }
        Ok(out)
    }
}

/// Unnamed bitfields that move the next member from bit `from` to bit `to`: whole bytes in
/// the widest naturally aligned type that fits, bits in `char`.
fn pad_bits(out: &mut String, mut from: u64, to: u64, lvl: usize) {
    while from < to {
        let rem = to - from;
        let (ty, bits) = if from % 8 != 0 {
            ("char", rem.min(8 - from % 8))
        } else if from % 64 == 0 && rem >= 64 {
            ("long", 64)
        } else if from % 32 == 0 && rem >= 32 {
            ("int", 32)
        } else if from % 16 == 0 && rem >= 16 {
            ("short", 16)
        } else {
            ("char", rem.min(8))
        };
        let _ = writeln!(out, "{}{ty}: {bits};", indent(lvl));
        from += bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::tests::raw_btf;

    /// A tiny BTF builder: types in order (ids from 1), names interned.
    #[derive(Default)]
    struct B {
        types: Vec<(u32, u32, u32, Vec<u32>)>,
        strings: Vec<u8>,
    }

    impl B {
        fn new() -> Self {
            B {
                types: Vec::new(),
                strings: vec![0],
            }
        }
        fn s(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            off
        }
        fn add(
            &mut self,
            name: &str,
            kind: u32,
            vlen: u32,
            kflag: bool,
            st: u32,
            extra: Vec<u32>,
        ) -> u32 {
            let n = self.s(name);
            let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
            self.types.push((n, info, st, extra));
            self.types.len() as u32
        }
        fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
            self.add(
                name,
                kind::INT,
                0,
                false,
                size,
                vec![(u32::from(signed) << 24) | (size * 8)],
            )
        }
        fn ptr(&mut self, to: u32) -> u32 {
            self.add("", kind::PTR, 0, false, to, vec![])
        }
        /// Members: (name, type, bit offset, bitfield width).
        fn record(
            &mut self,
            kind: u32,
            name: &str,
            size: u32,
            members: &[(&str, u32, u32, u32)],
        ) -> u32 {
            let mut extra = Vec::new();
            for &(n, ty, off, bits) in members {
                let n = self.s(n);
                extra.extend([n, ty, (bits << 24) | off]);
            }
            self.add(name, kind, members.len() as u32, true, size, extra)
        }
        fn dump(&self) -> String {
            let btf = Btf::parse(&raw_btf(&self.types, &self.strings)).unwrap();
            dump_c(&btf).unwrap()
        }
    }

    fn pos(text: &str, needle: &str) -> usize {
        text.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing from:\n{text}"))
    }

    #[test]
    fn by_value_before_use_and_cycles_through_pointers() {
        let mut b = B::new();
        let int = b.int("int", 4, true);
        // [2] struct a { struct b x; struct a *self; }; [3] ptr a; [4] struct b { struct a *back; int v; }
        let a = b.record(kind::STRUCT, "a", 24, &[]);
        let pa = b.ptr(a);
        let sb = b.record(
            kind::STRUCT,
            "b",
            16,
            &[("back", pa, 0, 0), ("v", int, 64, 0)],
        );
        let mut extra = Vec::new();
        for (n, ty, off) in [("x", sb, 0), ("self", pa, 128)] {
            let n = b.s(n);
            extra.extend([n, ty, off]);
        }
        b.types[(a - 1) as usize].3 = extra;
        b.types[(a - 1) as usize].1 |= 2;
        let c = b.dump();
        assert!(pos(&c, "struct a;") < pos(&c, "struct b {"), "{c}");
        assert!(pos(&c, "struct b {") < pos(&c, "struct a {"), "{c}");
        assert!(c.contains("\tstruct a *back;\n\tint v;\n"), "{c}");
        assert!(c.contains("\tstruct b x;\n\tstruct a *self;\n"), "{c}");
    }

    #[test]
    fn bitfields_padding_and_packed() {
        let mut b = B::new();
        let uint = b.int("unsigned int", 4, false);
        let long = b.int("long", 8, true);
        let ch = b.int("char", 1, true);
        b.record(
            kind::STRUCT,
            "bits",
            24,
            &[
                ("a", uint, 0, 3),
                ("b", uint, 3, 5),
                ("c", uint, 16, 4),
                ("l", long, 128, 0),
            ],
        );
        b.record(kind::STRUCT, "pk", 9, &[("c", ch, 0, 0), ("l", long, 8, 0)]);
        let c = b.dump();
        assert!(
            c.contains(
                "\tunsigned int a: 3;\n\tunsigned int b: 5;\n\tchar: 8;\n\tunsigned int c: 4;\n"
            ),
            "{c}"
        );
        // c ends at bit 20; l at 128 is not where C puts it (64): explicit padding.
        assert!(c.contains("\tunsigned int c: 4;\n\tchar: 4;\n\tchar: 8;\n\tint: 32;\n\tlong: 64;\n\tlong l;\n"), "{c}");
        assert!(
            c.contains("\tchar c;\n\tlong l;\n} __attribute__((packed));"),
            "{c}"
        );
    }

    #[test]
    fn anonymous_members_func_pointers_arrays_qualifiers() {
        let mut b = B::new();
        let int = b.int("int", 4, true);
        let ch = b.int("char", 1, true);
        // [3] int (*)(int, char *, ...): proto, ptr to it
        let pch = b.ptr(ch);
        let n = b.s("x");
        let proto = b.add(
            "",
            kind::FUNC_PROTO,
            3,
            false,
            int,
            vec![n, int, 0, pch, 0, 0],
        );
        let fp = b.ptr(proto);
        let arr = b.add("", kind::ARRAY, 0, false, 0, vec![ch, int, 16]);
        let parr = b.ptr(arr);
        let cint = b.add("", kind::CONST, 0, false, int, vec![]);
        let pcint = b.ptr(cint);
        let cpcint = b.add("", kind::CONST, 0, false, pcint, vec![]);
        let inner = b.record(kind::UNION, "", 8, &[("i", int, 0, 0), ("p", pch, 0, 0)]);
        let v1 = b.s("V1");
        let anon_enum = b.add("", kind::ENUM, 1, false, 4, vec![v1, 7]);
        let e64n = b.s("BIG");
        let e64 = b.add("e64", kind::ENUM64, 1, false, 8, vec![e64n, 0, 1]);
        let fnt = b.add("fn_t", kind::TYPEDEF, 0, false, proto, vec![]);
        let pfnt = b.ptr(fnt);
        b.record(
            kind::STRUCT,
            "s",
            72,
            &[
                ("cb", fp, 0, 0),
                ("name", parr, 64, 0),
                ("q", cpcint, 128, 0),
                ("", inner, 192, 0),
                ("k", anon_enum, 256, 0),
                ("w", e64, 320, 0),
                ("f", pfnt, 384, 0),
                ("tail", arr, 448, 0),
            ],
        );
        let c = b.dump();
        for want in [
            "typedef int fn_t(int, char *, ...);",
            "\tint (*cb)(int, char *, ...);\n",
            "\tchar (*name)[16];\n",
            "\tconst int *const q;\n",
            "\tunion {\n\t\tint i;\n\t\tchar *p;\n\t};\n",
            "\tenum {\n\t\tV1 = 7,\n\t} k;\n",
            "enum e64 {\n\tBIG = 4294967296ULL,\n};",
            "\tenum e64 w;\n",
            "\tfn_t *f;\n",
            "\tchar tail[16];\n",
        ] {
            assert!(c.contains(want), "`{want}` missing:\n{c}");
        }
        // The anonymous enum is used, so it is not written on its own.
        assert_eq!(c.matches("V1 = 7").count(), 1, "{c}");
    }

    #[test]
    fn clashing_names_are_renamed_and_typedef_cycles_work() {
        let mut b = B::new();
        let int = b.int("int", 4, true);
        let s1 = b.record(kind::STRUCT, "dup", 4, &[("a", int, 0, 0)]);
        b.record(
            kind::STRUCT,
            "dup",
            8,
            &[("a", int, 0, 0), ("b", int, 32, 0)],
        );
        let n = b.s("X");
        b.add("e1", kind::ENUM, 1, false, 4, vec![n, 1]);
        let n = b.s("X");
        b.add("e2", kind::ENUM, 1, false, 4, vec![n, 2]);
        // typedef struct node node_t; struct node { node_t *next; struct dup d; };
        let node = b.record(kind::STRUCT, "node", 16, &[]);
        let td = b.add("node_t", kind::TYPEDEF, 0, false, node, vec![]);
        let ptd = b.ptr(td);
        let (nn, nd) = (b.s("next"), b.s("d"));
        b.types[(node - 1) as usize].3 = vec![nn, ptd, 0, nd, s1, 64];
        b.types[(node - 1) as usize].1 |= 2;
        let c = b.dump();
        assert!(c.contains("struct dup {\n\tint a;\n};"), "{c}");
        assert!(c.contains("struct dup___2 {"), "{c}");
        assert!(c.contains("X = 1,") && c.contains("X___2 = 2,"), "{c}");
        assert!(
            pos(&c, "typedef struct node node_t;") < pos(&c, "struct node {"),
            "{c}"
        );
        assert!(c.contains("\tnode_t *next;\n\tstruct dup d;\n};"), "{c}");
    }

    #[test]
    fn enum_sizes_c_would_not_pick_are_spelt_out() {
        let mut b = B::new();
        let (a, n) = (b.s("A"), b.s("NEG"));
        b.add("small", kind::ENUM, 1, false, 1, vec![a, 1]);
        b.add("neg", kind::ENUM, 1, true, 4, vec![n, (-3i32) as u32]);
        let w = b.s("W");
        b.add("wide", kind::ENUM64, 1, true, 8, vec![w, 5, 0]);
        b.add("fwd_only", kind::ENUM, 0, false, 4, vec![]);
        let c = b.dump();
        assert!(
            c.contains("enum small {\n\tA = 1,\n} __attribute__((mode(QI)));"),
            "{c}"
        );
        assert!(c.contains("enum neg {\n\tNEG = -3,\n};"), "{c}");
        assert!(
            c.contains("enum wide {\n\tW = 5,\n} __attribute__((mode(DI)));"),
            "{c}"
        );
        assert!(c.contains("enum fwd_only;"), "{c}");
    }

    #[test]
    fn by_value_self_containment_is_an_error() {
        let mut b = B::new();
        let s = b.record(kind::STRUCT, "s", 4, &[]);
        let n = b.s("me");
        b.types[(s - 1) as usize].3 = vec![n, s, 0];
        b.types[(s - 1) as usize].1 |= 1;
        let btf = Btf::parse(&raw_btf(&b.types, &b.strings)).unwrap();
        assert!(dump_c(&btf)
            .unwrap_err()
            .to_string()
            .contains("contains itself"));
    }
}
