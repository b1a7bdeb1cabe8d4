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
