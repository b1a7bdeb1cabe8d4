//! struct_ops maps of a skeleton: the value the object declares, laid out as the running kernel's BTF
//! says, and attaching it.

use std::os::fd::BorrowedFd;

use crate::{Error, Result};

/// A struct_ops map of a skeleton, as the object declares it: what the runtime needs to lay
/// its value out as the running kernel's BTF says.
#[derive(Debug)]
pub struct SkelStructOps {
    /// The map's index.
    pub map: usize,
    /// The map (variable) name.
    pub name: &'static str,
    /// The kernel struct, e.g. `tcp_congestion_ops`.
    pub struct_name: &'static str,
    /// From `.struct_ops.link`: registered by a link at attach time, not by the value update.
    pub link: bool,
    /// The object's bytes of the struct (function pointers zero).
    pub data: &'static [u8],
    /// The object's members of the struct, in order.
    pub members: &'static [SkelStructOpsMember],
}

/// One member of a struct_ops struct in the object.
#[derive(Debug)]
pub struct SkelStructOpsMember {
    /// Member name, matched by name in the kernel's struct.
    pub name: &'static str,
    /// Byte offset in the object's struct.
    pub offset: u32,
    /// Byte size (0: a bitfield, not moved).
    pub size: u32,
    /// The program (by index) the member points at.
    pub func: Option<usize>,
}

/// (program index, byte offset of its fd in a struct_ops value).
pub(super) type ProgSlot = (usize, usize);

/// The value of struct_ops map `so` in the running kernel's layout, and for each member that
/// points at a program: (program index, offset of its slot in the value).
pub(super) fn struct_ops_value(so: &SkelStructOps) -> Result<(Vec<u8>, Vec<ProgSlot>)> {
    use crate::kbtf::{kernel_struct_ops_layout, ObjectMember};
    let in_map = |e: Error| match e {
        Error::KernelBtf { what } => Error::StructOps { map: so.name, what },
        other => other,
    };
    let layout = kernel_struct_ops_layout(so.struct_name).map_err(in_map)?;
    let members: Vec<ObjectMember<'_>> = (so.members.iter())
        .map(|m| ObjectMember {
            name: m.name,
            offset: m.offset as usize,
            size: m.size as usize,
            is_func: m.func.is_some(),
        })
        .collect();
    let kernel = layout.translate(&members, so.data).map_err(in_map)?;
    let funcs = so.members.iter().filter_map(|m| Some((m.name, m.func?)));
    let mut slots = Vec::new();
    for ((name, j), off) in funcs.zip(kernel.func_offsets) {
        let off = off.ok_or_else(|| Error::StructOps {
            map: so.name,
            what: format!(
                "the object sets member `{name}` to a program, but the running kernel's `struct {}` has no such member",
                so.struct_name
            ),
        })?;
        slots.push((j, off));
    }
    Ok((kernel.value, slots))
}

/// A loaded struct_ops map's value: the kernel's layout with the program fds in their slots.
#[derive(Debug)]
pub struct StructOpsValue {
    /// The map's index.
    pub map: usize,
    /// Registered by a link (`.struct_ops.link`).
    pub link: bool,
    /// The value to write.
    pub value: Vec<u8>,
}

/// Registers struct_ops map `map` with its value: writes the value (the kernel checks and
/// copies it, and registers a map without `BPF_F_LINK` right there), then for a
/// `.struct_ops.link` map creates the link that registers it. Dropping the link unregisters
/// it. As libbpf does, values are written at attach time, not at load: some struct_ops
/// types (`bpf_dummy_ops`) take programs but refuse registration.
pub fn attach_struct_ops_value(
    map: BorrowedFd<'_>,
    value: &StructOpsValue,
) -> Result<Option<crate::Link>> {
    let sized = crate::sys::bpf::SizedMap::new(map)?;
    sized
        .update(&0u32.to_ne_bytes(), &value.value, 0)
        .map_err(|e| match e {
            Error::Syscall { errno, .. } => {
                Error::syscall("BPF_MAP_UPDATE_ELEM(struct_ops value)", errno)
            }
            other => other,
        })?;
    if value.link {
        crate::attach_struct_ops(map).map(Some)
    } else {
        Ok(None)
    }
}
