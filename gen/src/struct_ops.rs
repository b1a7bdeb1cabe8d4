//! `struct_ops` maps: each variable of a `.struct_ops` / `.struct_ops.link` section is a
//! kernel struct of function pointers (e.g. `struct tcp_congestion_ops`) whose pointers name
//! programs. The loader finds the kernel's value type `bpf_struct_ops_<name>` by name, creates
//! the map, and after the programs load writes the value with their fds in the pointer slots.
//!
//! The value is laid out from the object's BTF of the struct, which is the kernel's own when
//! the object was built against this kernel's `vmlinux.h` (libbpf matches members by name in
//! the running kernel's BTF; lskel's loader cannot read kernel BTF layouts, only find ids).

use crate::btf::{kind, Btf};
use crate::elf::ElfObject;
use crate::error::{Error, Result};

/// `BPF_MAP_TYPE_STRUCT_OPS`
pub const MAP_TYPE: u32 = crate::abi::map_type::STRUCT_OPS;
/// `BPF_F_LINK`: the map is registered by a link, not by its update.
pub const BPF_F_LINK: u32 = lskel_abi::map_flags::LINK;
/// Size of `struct bpf_struct_ops_common_value` (refcnt, state) before the struct itself.
const COMMON_VALUE_SIZE: u64 = 8;

/// One struct_ops map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOps {
    /// The variable (map) name.
    pub name: String,
    /// The kernel struct's name, e.g. `tcp_congestion_ops`.
    pub struct_name: String,
    /// From a `.struct_ops.link` section: registered through a link.
    pub link: bool,
    /// The map value: the common header (zero), then the struct's bytes from the object with
    /// every function-pointer slot zero.
    pub value: Vec<u8>,
    /// Offset of the struct inside the value.
    pub data_offset: u32,
    /// Function-pointer members: (byte offset in the struct, member index, program name).
    pub funcs: Vec<(u32, u32, String)>,
    /// Every member of the object's struct, in order: what the runtime needs to move the
    /// object's bytes into the running kernel's layout (found by member name in kernel BTF).
    pub members: Vec<Member>,
}

/// One member of a struct_ops struct as the object declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member name.
    pub name: String,
    /// Byte offset in the object's struct.
    pub offset: u32,
    /// Byte size (0 for a bitfield, which is not moved).
    pub size: u32,
    /// Index in [`StructOps::funcs`] when the object points this member at a program.
    pub func: Option<usize>,
}

fn is_struct_ops_section(name: &str) -> Option<bool> {
    match name.strip_prefix('?').unwrap_or(name) {
        ".struct_ops" => Some(false),
        ".struct_ops.link" => Some(true),
        _ => None,
    }
}

/// Every struct_ops variable of the object.
pub fn collect(obj: &ElfObject<'_>, btf: &Btf) -> Result<Vec<StructOps>> {
    let mut out = Vec::new();
    for section in &obj.sections {
        let Some(link) = is_struct_ops_section(&section.name) else {
            continue;
        };
        let err = |what: String| Error::Map {
            map: section.name.clone(),
            what,
        };
        let datasec = btf
            .find(
                section.name.strip_prefix('?').unwrap_or(&section.name),
                kind::DATASEC,
            )
            .ok_or_else(
                || err("no DATASEC describes this section; build with `clang -g`".into()),
            )?;
        for (var, offset, size) in btf.get(datasec)?.secinfos().collect::<Vec<_>>() {
            let v = btf.get(var)?;
            let name = btf.name(v.name_off)?.to_string();
            let sid = btf.skip_mods_and_typedefs(v.size_or_type)?;
            let st = btf.get(sid)?.clone();
            if st.kind() != kind::STRUCT {
                return Err(Error::Map {
                    map: name,
                    what:
                        "a struct_ops variable must be a struct (e.g. `struct tcp_congestion_ops`)"
                            .into(),
                });
            }
            let struct_name = btf.name(st.name_off)?.to_string();
            let (start, end) = (offset as usize, offset as usize + size as usize);
            let bytes = section.data.get(start..end).ok_or_else(|| Error::Map {
                map: name.clone(),
                what: format!(
                    "bytes {start}..{end} are beyond the {}-byte section",
                    section.data.len()
                ),
            })?;
            let align = btf.align_of(sid)?.max(1);
            let data_offset = COMMON_VALUE_SIZE.next_multiple_of(align);
            let value_size =
                (data_offset + u64::from(st.size_or_type)).next_multiple_of(align.max(4));
            let mut value = vec![0u8; value_size as usize];
            let copy = bytes.len().min(st.size_or_type as usize);
            value[data_offset as usize..data_offset as usize + copy]
                .copy_from_slice(&bytes[..copy]);
            let mut funcs = Vec::new();
            for rel in section
                .relocs
                .iter()
                .filter(|r| (start..end).contains(&(r.offset as usize)))
            {
                let sym = &obj.symbols[rel.sym];
                let moff = (rel.offset as usize - start) as u32;
                let member = st.members().position(|(_, _, off)| (if st.kflag() { lskel_abi::btf::bits::member_bit_offset(off) } else { off }) == moff * 8).ok_or_else(|| Error::Map {
                    map: name.clone(),
                    what: format!("`{}` is stored at byte {moff}, which starts no member of `{struct_name}`", sym.name),
                })?;
                let is_prog = sym.is_func()
                    && obj
                        .sections
                        .get(usize::from(sym.shndx))
                        .is_some_and(|s| s.name.trim_start_matches('?').starts_with("struct_ops"));
                if !is_prog {
                    return Err(Error::Map { map: name.clone(), what: format!("member {member} holds `{}`, which is not a program of a `SEC(\"struct_ops/...\")` section", sym.name) });
                }
                let slot = data_offset as usize + moff as usize;
                value[slot..slot + 8].fill(0);
                funcs.push((moff, member as u32, sym.name.clone()));
            }
            let members = members_of(btf, &st, &funcs)?;
            out.push(StructOps {
                name,
                struct_name,
                link,
                value,
                data_offset: data_offset as u32,
                funcs,
                members,
            });
        }
    }
    Ok(out)
}

/// The members of struct `st` with their byte offsets and sizes; bitfields get size 0.
fn members_of(
    btf: &Btf,
    st: &crate::btf::Type,
    funcs: &[(u32, u32, String)],
) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    for (index, (name_off, ty, off)) in st.members().enumerate() {
        let (bit_off, bit_size) = if st.kflag() {
            (
                lskel_abi::btf::bits::member_bit_offset(off),
                lskel_abi::btf::bits::member_bitfield_size(off),
            )
        } else {
            (off, 0)
        };
        let size = if bit_size != 0 || bit_off % 8 != 0 {
            0
        } else {
            u32::try_from(btf.size_of(ty)?).unwrap_or(0)
        };
        out.push(Member {
            name: btf.name(name_off)?.to_string(),
            offset: bit_off / 8,
            size,
            func: funcs.iter().position(|f| f.1 as usize == index),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::btf::var_linkage::GLOBAL_ALLOCATED;
    use crate::testobj::{ret0, BtfBuilder, ElfBuilder, R_BPF_64_ABS64};

    /// `struct ops { void (*init)(void); void (*cong_avoid)(void); int flags; }` and its
    /// BTF ids: (btf, the struct, int).
    fn ops_btf() -> (BtfBuilder, u32, u32) {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, crate::testobj::INT_SIGNED);
        let proto = b.func_proto(0, &[]);
        let fptr = b.ptr(proto);
        let members = [
            ("init", fptr, 0),
            ("cong_avoid", fptr, 64),
            ("flags", int, 128),
        ];
        let st = b.structure("tcp_congestion_ops", 24, &members);
        (b, st, int)
    }

    /// An object with `my_ops` in `section` pointing `init` and `cong_avoid` (when `cong`
    /// is given, at byte `cong.1` of the struct, from section `cong.0`) at programs, and an
    /// orphan struct_ops program that no map uses.
    fn ops_object(section: &str, cong: Option<(&str, u64)>) -> Vec<u8> {
        let (mut b, st, _) = ops_btf();
        let var = b.var("my_ops", st, GLOBAL_ALLOCATED);
        b.datasec(section.trim_start_matches('?'), 24, &[(var, 0, 24)]);
        let mut e = ElfBuilder::new();
        let init = e.code("struct_ops/init", &ret0());
        let cong_sec = e.code(cong.map_or("struct_ops/cong", |c| c.0), &ret0());
        let orphan = e.code("struct_ops/orphan", &ret0());
        // Clang leaves the pointer slots for relocations; junk there must not survive.
        let mut value = [0xffu8; 24];
        value[16..20].copy_from_slice(&7u32.to_le_bytes());
        let ops = e.data(section, &value, true);
        e.license("GPL");
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &b.build());
        let f_init = e.func("my_init", init, 0, 2);
        let f_cong = e.func("my_cong", cong_sec, 0, 2);
        e.func("orphan", orphan, 0, 2);
        e.object("my_ops", ops, 0, 24);
        e.rel(ops, 0, f_init, R_BPF_64_ABS64);
        e.rel(ops, cong.map_or(8, |c| c.1), f_cong, R_BPF_64_ABS64);
        e.build()
    }

    fn collect_from(bytes: &[u8]) -> Result<Vec<StructOps>> {
        let obj = ElfObject::parse(bytes).unwrap();
        let btf = Btf::parse(obj.section(".BTF").unwrap().data).unwrap();
        collect(&obj, &btf)
    }

    #[test]
    fn members_are_bound_to_the_programs_the_struct_points_at() {
        let ops = collect_from(&ops_object(".struct_ops.link", None)).unwrap();
        assert_eq!(ops.len(), 1);
        let s = &ops[0];
        assert_eq!(
            (s.name.as_str(), s.struct_name.as_str()),
            ("my_ops", "tcp_congestion_ops")
        );
        assert!(s.link);
        assert_eq!(
            s.data_offset, 8,
            "after the 8-byte common header, at the struct's alignment"
        );
        let mut want = vec![0u8; 32];
        want[24..28].copy_from_slice(&7u32.to_le_bytes());
        want[28..32].fill(0xff); // tail padding, copied from the object
        assert_eq!(
            s.value, want,
            "header zero, pointer slots zero, `flags` kept"
        );
        assert_eq!(
            s.funcs,
            [(0, 0, "my_init".to_string()), (8, 1, "my_cong".to_string())]
        );
        let members: Vec<(&str, u32, u32, Option<usize>)> = (s.members.iter())
            .map(|m| (m.name.as_str(), m.offset, m.size, m.func))
            .collect();
        assert_eq!(
            members,
            [
                ("init", 0, 8, Some(0)),
                ("cong_avoid", 8, 8, Some(1)),
                ("flags", 16, 4, None)
            ]
        );
        let ops = collect_from(&ops_object("?.struct_ops", None)).unwrap();
        assert!(
            !ops[0].link,
            "a `.struct_ops` map is registered by its update, not a link"
        );
    }

    #[test]
    fn the_plan_attaches_bound_programs_and_leaves_orphans_unloaded() {
        use crate::target::AttachTarget;
        let plan = crate::Plan::build(&ops_object(".struct_ops.link", None), "ops").unwrap();
        let map = plan.maps.iter().find(|m| m.name == "my_ops").unwrap();
        assert_eq!(
            (map.map_type, map.map_flags, map.value_size),
            (MAP_TYPE, BPF_F_LINK, 32)
        );
        let progs: Vec<(&str, u32, bool)> = (plan.programs.iter())
            .map(|p| {
                (
                    p.def.func.name.as_str(),
                    p.expected_attach_type,
                    p.def.autoload_off,
                )
            })
            .collect();
        assert_eq!(
            progs,
            [
                ("my_init", 0, false),
                ("my_cong", 1, false),
                ("orphan", 0, true)
            ]
        );
        let target = AttachTarget::Kernel {
            name: "tcp_congestion_ops".into(),
            btf_kind: kind::STRUCT,
        };
        assert_eq!(plan.programs[0].target.as_ref(), Some(&target));
        assert_eq!(plan.programs[1].target.as_ref(), Some(&target));
        assert_eq!(plan.programs[2].target, None);
        assert!(
            plan.targets.is_empty(),
            "struct_ops targets are known at generation"
        );
    }

    #[test]
    fn pointers_that_start_no_member_or_name_no_program_are_refused() {
        let e = collect_from(&ops_object(".struct_ops", Some(("struct_ops/cong", 4))));
        let e = e.unwrap_err().to_string();
        assert!(e.contains("map `my_ops`: `my_cong` is stored at byte 4, which starts no member of `tcp_congestion_ops`"), "{e}");
        let e = collect_from(&ops_object(".struct_ops", Some(("xdp", 8))));
        let e = e.unwrap_err().to_string();
        assert!(e.contains("member 1 holds `my_cong`, which is not a program of a `SEC(\"struct_ops/...\")` section"), "{e}");
    }

    #[test]
    fn variables_that_are_not_described_structs_are_refused() {
        let (mut b, _, int) = ops_btf();
        let var = b.var("not_ops", int, GLOBAL_ALLOCATED);
        b.datasec(".struct_ops", 4, &[(var, 0, 4)]);
        let mut e = ElfBuilder::new();
        e.data(".struct_ops", &[0; 4], true);
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &b.build());
        e.object("not_ops", 1, 0, 4);
        let err = collect_from(&e.build()).unwrap_err().to_string();
        assert!(
            err.contains("map `not_ops`: a struct_ops variable must be a struct"),
            "{err}"
        );

        let (b, st, _) = ops_btf();
        let mut b2 = b;
        let var = b2.var("short", st, GLOBAL_ALLOCATED);
        b2.datasec(".struct_ops.link", 24, &[(var, 0, 24)]);
        let mut e = ElfBuilder::new();
        e.data(".struct_ops.link", &[0; 16], true);
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &b2.build());
        e.object("short", 1, 0, 24);
        let err = collect_from(&e.build()).unwrap_err().to_string();
        assert!(
            err.contains("map `short`: bytes 0..24 are beyond the 16-byte section"),
            "{err}"
        );

        let (b, _, _) = ops_btf();
        let mut e = ElfBuilder::new();
        e.data(".struct_ops", &[0; 24], true);
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &b.build());
        e.object("my_ops", 1, 0, 24);
        let err = collect_from(&e.build()).unwrap_err().to_string();
        assert!(
            err.contains("map `.struct_ops`: no DATASEC describes this section"),
            "{err}"
        );
    }

    #[test]
    fn the_fixture_binds_each_member_it_sets() {
        let bytes = include_bytes!("../tests/objects/structops.bpf.o");
        let ops = collect_from(bytes).unwrap();
        assert_eq!(ops.len(), 1);
        let s = &ops[0];
        assert_eq!(
            (s.name.as_str(), s.struct_name.as_str(), s.link),
            ("lskel_cc", "tcp_congestion_ops", true)
        );
        let mut bound: Vec<(&str, &str)> = (s.funcs.iter())
            .map(|f| (s.members[f.1 as usize].name.as_str(), f.2.as_str()))
            .collect();
        bound.sort();
        assert_eq!(
            bound,
            [
                ("cong_avoid", "lskel_cong_avoid"),
                ("ssthresh", "lskel_ssthresh"),
                ("undo_cwnd", "lskel_undo_cwnd")
            ]
        );
        let name = s.members.iter().find(|m| m.name == "name").unwrap();
        let at = (s.data_offset + name.offset) as usize;
        assert_eq!(
            &s.value[at..at + 9],
            b"lskel_cc\0",
            "non-pointer members keep their bytes"
        );
    }
}
