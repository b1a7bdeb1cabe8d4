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
//!
//! The parts: `names` (C names, renamed on clashes, and which types are referred to),
//! `order` (the two passes), `decl` (declarators: `int (*f)(void)`, arrays, qualifiers),
//! `enums` and `records` (struct and union bodies with their padding).

mod decl;
mod enums;
mod names;
mod order;
mod records;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::HashMap;

use super::{Btf, Type};
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

    fn too_deep(&self, id: u32) -> crate::Error {
        btf_err(format!(
            "type [{id}] nests more than {MAX_NEST} levels deep while writing C"
        ))
    }
}
