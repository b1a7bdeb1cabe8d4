//! Hand-built instructions, maps and externs for the link pass's unit tests.

use lskel_abi::insn::Insn;

use crate::abi::LD_IMM64;
use crate::externs::{Extern, ExternKind, Externs};
use crate::maps::{DataKind, MapDef, MapOrigin};
use crate::struct_ops::StructOps;

/// One instruction with dst r1 (so tests see it kept).
pub(super) fn insn(code: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst: 1,
        src,
        off,
        imm,
    }
}

/// The first half of an `ld_imm64` into r1.
pub(super) fn ld_imm64(src: u8, imm: i32) -> Insn {
    insn(LD_IMM64, src, 0, imm)
}

fn map(name: &str, origin: MapOrigin) -> MapDef {
    MapDef {
        name: name.into(),
        kernel_name: name.into(),
        map_type: 2,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: 0,
        numa_node: 0,
        map_extra: 0,
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        origin,
        inner: None,
        init: Vec::new(),
        values_offset: None,
        pin_by_name: false,
    }
}

/// A `.maps` map defined at `offset`.
pub(super) fn maps_map(name: &str, offset: u64) -> MapDef {
    map(name, MapOrigin::Btf { offset })
}

/// The map of data section `name` (ELF index `section_index`); `.kconfig` gets its kind.
pub(super) fn data_map(name: &str, section_index: usize) -> MapDef {
    let kind = if name == ".kconfig" {
        DataKind::Kconfig
    } else {
        DataKind::Data
    };
    map(
        name,
        MapOrigin::Data {
            kind,
            section_index,
            init: Vec::new(),
            datasec: None,
        },
    )
}

/// A struct_ops map.
pub(super) fn struct_ops_map(name: &str) -> MapDef {
    let ops = StructOps {
        name: name.into(),
        struct_name: "tcp_congestion_ops".into(),
        link: false,
        value: Vec::new(),
        data_offset: 0,
        funcs: Vec::new(),
        members: Vec::new(),
    };
    map(name, MapOrigin::StructOps(Box::new(ops)))
}

/// Externs named `e<sym>`, one per (symbol index, kind).
pub(super) fn externs(list: &[(usize, ExternKind)]) -> Externs {
    Externs {
        list: (list.iter())
            .map(|(sym, kind)| Extern {
                name: format!("e{sym}"),
                weak: false,
                kind: kind.clone(),
                sym: *sym,
            })
            .collect(),
        kconfig_size: 0,
    }
}

/// Raw bytes of `insns`, as the linked program holds them.
pub(super) fn bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}
