//! The BTF the kernel is handed: only the types it can reach from what the loader gives it
//! (map key/value types, func_info FUNCs, CO-RE roots), and only the strings those types and
//! the line_info / CO-RE records name. Types and strings are renumbered; [`Remap`] says where
//! each kept id and string offset went, so the ids and offsets held elsewhere can follow.

use std::collections::{BTreeSet, HashMap};

use super::{kind, Btf, Type};
use crate::error::{btf_err, Result};

/// Where kept type ids and string offsets moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Remap {
    /// Old id -> new id; 0 for a dropped type (and for `void`).
    ids: Vec<u32>,
    /// Old string offset -> new offset, for every kept offset.
    strs: HashMap<u32, u32>,
}

impl Remap {
    /// The new id of type `old`: `Some(0)` for `void`, `None` when it was dropped or never
    /// existed.
    pub fn id(&self, old: u32) -> Option<u32> {
        match self.ids.get(old as usize) {
            _ if old == 0 => Some(0),
            Some(&0) | None => None,
            Some(&new) => Some(new),
        }
    }

    /// The new offset of the string at `old`, if it was kept.
    pub fn str(&self, old: u32) -> Option<u32> {
        self.strs.get(&old).copied()
    }
}

/// The type ids `t` refers to: the ones [`map_type_refs`] visits, so the two cannot disagree.
fn type_refs(t: &Type) -> Vec<u32> {
    let mut refs = Vec::new();
    map_type_refs(&mut t.clone(), &mut |id| {
        refs.push(id);
        id
    });
    refs
}

/// Applies `f` to every type id `t` holds.
fn map_type_refs(t: &mut Type, f: &mut dyn FnMut(u32) -> u32) {
    match t.kind() {
        kind::PTR
        | kind::TYPEDEF
        | kind::VOLATILE
        | kind::CONST
        | kind::RESTRICT
        | kind::FUNC
        | kind::VAR
        | kind::DECL_TAG
        | kind::TYPE_TAG => t.size_or_type = f(t.size_or_type),
        kind::ARRAY => t.extra.iter_mut().take(2).for_each(|w| *w = f(*w)),
        kind::STRUCT | kind::UNION => t.extra.chunks_exact_mut(3).for_each(|c| c[1] = f(c[1])),
        kind::DATASEC => t.extra.chunks_exact_mut(3).for_each(|c| c[0] = f(c[0])),
        kind::FUNC_PROTO => {
            t.size_or_type = f(t.size_or_type);
            t.extra.chunks_exact_mut(2).for_each(|c| c[1] = f(c[1]));
        }
        _ => {}
    }
}

/// Applies `f` to every string offset `t` holds: its name, and its members', enumerators' or
/// parameters' names.
fn map_name_offs(t: &mut Type, f: &mut dyn FnMut(u32) -> u32) {
    t.name_off = f(t.name_off);
    let stride = match t.kind() {
        kind::STRUCT | kind::UNION | kind::ENUM64 => 3,
        kind::ENUM | kind::FUNC_PROTO => 2,
        _ => return,
    };
    t.extra
        .chunks_exact_mut(stride)
        .for_each(|c| c[0] = f(c[0]));
}

/// For a `contains:NAME:FIELD` declaration tag (a `bpf_list_head` / `bpf_rb_root`'s node type),
/// the struct name the kernel looks up by name.
fn contains_target(tag: &str) -> Option<&str> {
    tag.strip_prefix("contains:")?.split(':').next()
}

impl Btf {
    /// The BTF the kernel needs to see: every type reachable from `roots` (through pointers,
    /// members, prototypes, DATASEC entries...), each DECL_TAG on a kept type, and each struct a
    /// kept `contains:` tag names; the string section holds only the strings those types name
    /// plus `strings` (line_info file names and source lines, CO-RE access strings), each once.
    /// Kept types keep their order. A root or string offset that does not exist is an error.
    pub fn trimmed(&self, roots: &[u32], strings: &[u32]) -> Result<(Btf, Remap)> {
        let n = self.types.len();
        let mut keep = vec![false; n];
        keep[0] = true;
        let mut stack: Vec<u32> = Vec::new();
        for &r in roots {
            self.get(r)?;
            stack.push(r);
        }
        loop {
            while let Some(id) = stack.pop() {
                let Some(seen) = keep.get_mut(id as usize) else {
                    return Err(btf_err(format!("no type [{id}]")));
                };
                if *seen {
                    continue;
                }
                *seen = true;
                stack.extend(type_refs(&self.types[id as usize]));
            }
            // Tags on kept types, and the structs kept `contains:` tags name, until nothing
            // new is kept.
            for id in 1..n {
                let t = &self.types[id];
                if keep[id] || t.kind() != kind::DECL_TAG {
                    continue;
                }
                if keep.get(t.size_or_type as usize) == Some(&true) {
                    stack.push(id as u32);
                    if let Some(target) = self.name(t.name_off).ok().and_then(contains_target) {
                        stack.extend(self.find(target, kind::STRUCT));
                    }
                }
            }
            if stack.is_empty() {
                break;
            }
        }
        let mut ids = vec![0u32; n];
        let mut next = 1u32;
        for id in 1..n {
            if keep[id] {
                ids[id] = next;
                next += 1;
            }
        }
        let mut types = vec![self.types[0].clone()];
        let mut names = BTreeSet::new();
        names.insert(0u32);
        for id in (1..n).filter(|&id| keep[id]) {
            let mut t = self.types[id].clone();
            map_type_refs(&mut t, &mut |old| {
                ids.get(old as usize).copied().unwrap_or(0)
            });
            map_name_offs(&mut t, &mut |off| {
                names.insert(off);
                off
            });
            types.push(t);
        }
        names.extend(strings.iter().copied());
        let mut out = vec![0u8];
        let mut by_text: HashMap<&[u8], u32> = HashMap::new();
        by_text.insert(&[], 0);
        let mut strs = HashMap::new();
        for off in names {
            let rest = self.strings.get(off as usize..).unwrap_or(&[]);
            let Some(end) = rest.iter().position(|&b| b == 0) else {
                return Err(btf_err(format!(
                    "string offset {off} is not the start of a NUL-terminated string of the {}-byte string section",
                    self.strings.len()
                )));
            };
            let text = &rest[..end];
            let new = *by_text.entry(text).or_insert_with(|| {
                let at = out.len() as u32;
                out.extend_from_slice(text);
                out.push(0);
                at
            });
            strs.insert(off, new);
        }
        for t in &mut types[1..] {
            map_name_offs(t, &mut |off| strs.get(&off).copied().unwrap_or(0));
        }
        Ok((
            Btf {
                types,
                strings: out,
            },
            Remap { ids, strs },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::tests::raw_btf;

    fn info(kind: u32, vlen: u32) -> u32 {
        lskel_abi::btf::bits::info(kind, vlen)
    }

    /// Strings: "", "int", "s", "a", "b", "unused", "file.c", "x = 1;", "contains:node:n",
    /// "node", "tag".
    fn strings() -> Vec<u8> {
        b"\0int\0s\0a\0b\0unused\0file.c\0x = 1;\0contains:node:n\0node\0tag\0".to_vec()
    }

    fn off(s: &str) -> u32 {
        let all = strings();
        let mut at = 0;
        for part in all.split(|&b| b == 0) {
            if part == s.as_bytes() {
                return at;
            }
            at += part.len() as u32 + 1;
        }
        panic!("no string {s}")
    }

    /// [1] int, [2] struct s { int a; int *b; }, [3] int *, [4] struct unused { int a; },
    /// [5] ptr -> [4], [6] DECL_TAG "tag" on [2], [7] DECL_TAG "tag" on [4],
    /// [8] struct node { int a; }, [9] DECL_TAG "contains:node:n" on [2] member 0.
    fn graph() -> Btf {
        let types = vec![
            (off("int"), info(kind::INT, 0), 4, vec![32]),
            (
                off("s"),
                info(kind::STRUCT, 2),
                16,
                vec![off("a"), 1, 0, off("b"), 3, 64],
            ),
            (0, info(kind::PTR, 0), 1, vec![]),
            (
                off("unused"),
                info(kind::STRUCT, 1),
                4,
                vec![off("a"), 1, 0],
            ),
            (0, info(kind::PTR, 0), 4, vec![]),
            (off("tag"), info(kind::DECL_TAG, 0), 2, vec![u32::MAX]),
            (off("tag"), info(kind::DECL_TAG, 0), 4, vec![u32::MAX]),
            (off("node"), info(kind::STRUCT, 1), 4, vec![off("a"), 1, 0]),
            (off("contains:node:n"), info(kind::DECL_TAG, 0), 2, vec![0]),
        ];
        Btf::parse(&raw_btf(&types, &strings())).unwrap()
    }

    #[test]
    fn keeps_what_roots_reach_and_renumbers() {
        let btf = graph();
        let (t, remap) = btf.trimmed(&[2], &[off("x = 1;")]).unwrap();
        // Kept: int, s, int *, tag on s, node (named by the contains tag), the contains tag.
        let kept: Vec<u32> = (0..10).filter_map(|id| remap.id(id).map(|_| id)).collect();
        assert_eq!(kept, [0, 1, 2, 3, 6, 8, 9]);
        assert_eq!(
            (1..10).map(|id| remap.id(id)).collect::<Vec<_>>(),
            [
                Some(1),
                Some(2),
                Some(3),
                None,
                None,
                Some(4),
                None,
                Some(5),
                Some(6)
            ]
        );
        assert_eq!(t.len(), 7);
        let s = t.get(2).unwrap();
        assert_eq!(t.name(s.name_off).unwrap(), "s");
        assert_eq!(s.members().map(|m| m.1).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(t.get(3).unwrap().size_or_type, 1);
        assert_eq!(t.get(4).unwrap().size_or_type, 2);
        assert_eq!(t.get(6).unwrap().size_or_type, 2);
        assert_eq!(t.type_name(5).unwrap(), "node");
        // Dropped strings are gone; kept ones are renumbered and still resolve.
        let new = remap.str(off("x = 1;")).unwrap();
        assert_eq!(t.name(new).unwrap(), "x = 1;");
        assert_eq!(remap.str(off("unused")), None);
        assert_eq!(remap.str(off("file.c")), None);
        assert_eq!(
            t.strings,
            b"\0int\0s\0a\0b\0x = 1;\0contains:node:n\0node\0tag\0".to_vec()
        );
        // Round trip through bytes: the kernel-side BTF parses back.
        let back = Btf::parse(&t.to_bytes()).unwrap();
        assert_eq!(back.len(), 7);
    }

    #[test]
    fn same_text_at_two_offsets_is_stored_once() {
        let strings = b"\0a\0a\0".to_vec();
        let types = vec![
            (1, info(kind::INT, 0), 4, vec![32]),
            (3, info(kind::INT, 0), 4, vec![32]),
        ];
        let btf = Btf::parse(&raw_btf(&types, &strings)).unwrap();
        let (t, remap) = btf.trimmed(&[1, 2], &[]).unwrap();
        assert_eq!(t.strings, b"\0a\0".to_vec());
        assert_eq!(remap.str(1), Some(1));
        assert_eq!(remap.str(3), Some(1));
    }

    #[test]
    fn bad_roots_and_offsets_are_errors() {
        let btf = graph();
        assert!(btf.trimmed(&[99], &[]).is_err());
        assert!(btf.trimmed(&[1], &[9999]).is_err());
        let (t, remap) = btf.trimmed(&[], &[]).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(remap.id(0), Some(0));
        assert_eq!(remap.id(1), None);
    }
}
