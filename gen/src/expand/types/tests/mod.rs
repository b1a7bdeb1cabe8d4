//! Unit tests of the generated types, with a small BTF builder: naming (`naming`) and the
//! definitions (`defs`).

use super::names::resolve;
use super::*;
use crate::btf::tests::raw_btf;
use crate::btf::VAR_STATIC;

mod defs;
mod naming;

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
    fn record(&mut self, kind: u32, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
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

    fn enumeration(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i32)]) -> u32 {
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
