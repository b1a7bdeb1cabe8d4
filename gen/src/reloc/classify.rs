//! What one ELF relocation asks for, decided from the instruction it sits on and the symbol it
//! names alone: nothing is changed here, so every refusal is found before any patching, and
//! the decision is testable on a hand-built instruction.

use lskel_abi::insn::Insn;

use super::{RelocError, SiteKind};
use crate::abi::{BPF_PSEUDO_CALL, CALL, LD_IMM64};
use crate::externs::{ExternKind, Externs};
use crate::maps::{DataKind, MapDef, MapOrigin};

/// The symbol a relocation names, as far as classification needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SymbolRef<'a> {
    /// Index in the ELF symbol table (externs are matched by it).
    pub index: usize,
    /// `st_value`: its byte offset in its section.
    pub value: u64,
    /// `st_shndx`: its section's ELF index, 0 for an undefined symbol (an extern).
    pub shndx: usize,
    /// Its section's name.
    pub section: &'a str,
    /// Whether its section holds code.
    pub in_code: bool,
}

/// What to do at one relocated instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelocKind {
    /// A `BPF_PSEUDO_CALL` to the `.text` function at instruction `target`.
    Call {
        /// Instruction index in `.text`.
        target: i64,
    },
    /// An `ld_imm64` of the address of the `.text` function at `target` (a callback).
    Callback {
        /// Instruction index in `.text`.
        target: i64,
    },
    /// An `ld_imm64` of a `.maps` map: becomes `BPF_PSEUDO_MAP_IDX` of map `map`'s `fd_array` slot.
    Map {
        /// Index of the map (object order).
        map: i32,
    },
    /// An `ld_imm64` of an address in global data: `BPF_PSEUDO_MAP_IDX_VALUE` of `map` at
    /// `offset` in its value.
    Data {
        /// Index of the data section's map (object order).
        map: i32,
        /// Byte offset in the map value.
        offset: i32,
    },
    /// A reference to an extern.
    Extern(ExternRef),
}

/// How an instruction refers to an extern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExternRef {
    /// A `.kconfig` value: a load from the `.kconfig` map at `offset`, resolved now.
    Kconfig {
        /// Index of the `.kconfig` map (its `fd_array` slot once applied).
        map: i32,
        /// Byte offset in its value.
        offset: i32,
    },
    /// A kernel symbol: extern `ext` (index into `Externs::list`), patched by the loader.
    Kernel {
        /// Which extern.
        ext: usize,
        /// How the loader patches it.
        kind: SiteKind,
    },
}

/// Classifies the relocation against `sym` on `insn`; `has_next` says whether an instruction
/// follows (an `ld_imm64` takes two).
pub(crate) fn classify(
    insn: &Insn,
    has_next: bool,
    sym: &SymbolRef<'_>,
    maps: &[MapDef],
    externs: &Externs,
) -> Result<RelocKind, RelocError> {
    if sym.shndx == 0 {
        return classify_extern(insn, has_next, sym.index, maps, externs).map(RelocKind::Extern);
    }
    if insn.code != CALL && insn.code != LD_IMM64 {
        return Err(RelocError::NotRelocatable { opcode: insn.code });
    }
    if insn.code == CALL && insn.src != BPF_PSEUDO_CALL {
        return Err(RelocError::CallOnHelper);
    }
    if insn.code == CALL || sym.in_code {
        return classify_code(insn, sym);
    }
    classify_data(insn, has_next, sym, maps)
}

/// A call or a callback address: the target must be an instruction of `.text`.
fn classify_code(insn: &Insn, sym: &SymbolRef<'_>) -> Result<RelocKind, RelocError> {
    if sym.section != ".text" {
        return Err(RelocError::CallOutsideText {
            section: sym.section.to_string(),
        });
    }
    let is_call = insn.code == CALL;
    if sym.value % 8 != 0 || (!is_call && insn.imm % 8 != 0) {
        return Err(RelocError::Misaligned);
    }
    let byte = sym.value as i64;
    // A call's imm counts instructions from the next one; a callback's is a byte addend.
    Ok(if is_call {
        RelocKind::Call {
            target: byte / 8 + i64::from(insn.imm) + 1,
        }
    } else {
        RelocKind::Callback {
            target: (byte + i64::from(insn.imm)) / 8,
        }
    })
}

/// A map (`.maps` symbol) or a global-data address (data section symbol).
fn classify_data(
    insn: &Insn,
    has_next: bool,
    sym: &SymbolRef<'_>,
    maps: &[MapDef],
) -> Result<RelocKind, RelocError> {
    if insn.code != LD_IMM64 || !has_next {
        return Err(RelocError::DataNotLdImm64);
    }
    let found = maps.iter().enumerate().find(|(_, m)| match &m.origin {
        MapOrigin::Btf { offset } => sym.section == ".maps" && *offset == sym.value,
        MapOrigin::Data { section_index, .. } => *section_index == sym.shndx,
        MapOrigin::StructOps(_) => false,
    });
    let Some((idx, map)) = found else {
        return Err(RelocError::NoMapThere {
            section: sym.section.to_string(),
            value: sym.value,
        });
    };
    let map_idx = i32::try_from(idx).map_err(|_| RelocError::TooManyMaps)?;
    match map.origin {
        MapOrigin::Btf { .. } => Ok(RelocKind::Map { map: map_idx }),
        MapOrigin::StructOps(_) => Err(RelocError::StructOpsMap),
        MapOrigin::Data { .. } => {
            let offset = i64::from(insn.imm) + sym.value as i64;
            let offset = i32::try_from(offset).map_err(|_| RelocError::DataOffset)?;
            Ok(RelocKind::Data {
                map: map_idx,
                offset,
            })
        }
    }
}

/// A reference to the extern of ELF symbol `sym`.
fn classify_extern(
    insn: &Insn,
    has_next: bool,
    sym: usize,
    maps: &[MapDef],
    externs: &Externs,
) -> Result<ExternRef, RelocError> {
    let (ext, e) = (externs.list.iter().enumerate())
        .find(|(_, e)| e.sym == sym)
        .ok_or(RelocError::UnknownExtern)?;
    let is_ld = insn.code == LD_IMM64 && has_next;
    let kind = match (&e.kind, insn.code) {
        (ExternKind::Kconfig { offset, .. }, _) if is_ld => {
            let map = (maps.iter())
                .position(|m| m.data_kind() == Some(DataKind::Kconfig))
                .ok_or(RelocError::NoKconfigMap)?;
            return Ok(ExternRef::Kconfig {
                map: map as i32,
                offset: *offset as i32,
            });
        }
        (ExternKind::Kfunc, CALL) => SiteKind::KfuncCall,
        (ExternKind::Kfunc | ExternKind::TypedKsym { .. }, _) if is_ld => SiteKind::BtfId,
        (ExternKind::TypelessKsym, _) if is_ld => SiteKind::Address,
        _ => {
            return Err(RelocError::ExternMisused {
                name: e.name.clone(),
                opcode: insn.code,
            })
        }
    };
    Ok(ExternRef::Kernel { ext, kind })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{data_map, externs, insn, ld_imm64, maps_map, struct_ops_map};
    use super::*;
    use crate::abi::{BPF_ALU64, BPF_K, BPF_MOV, BPF_PSEUDO_FUNC};
    use crate::externs::KconfigType;

    const TEXT: SymbolRef<'static> = SymbolRef {
        index: 3,
        value: 16,
        shndx: 2,
        section: ".text",
        in_code: true,
    };

    fn none() -> Externs {
        Externs::default()
    }

    #[test]
    fn a_pseudo_call_targets_the_instruction_after_symbol_plus_imm() {
        let call = insn(CALL, BPF_PSEUDO_CALL, 0, -1);
        assert_eq!(
            classify(&call, true, &TEXT, &[], &none()),
            Ok(RelocKind::Call { target: 2 })
        );
    }

    #[test]
    fn a_function_address_is_a_callback_with_a_byte_addend() {
        let ld = ld_imm64(BPF_PSEUDO_FUNC, 8);
        assert_eq!(
            classify(&ld, true, &TEXT, &[], &none()),
            Ok(RelocKind::Callback { target: 3 })
        );
        let odd = ld_imm64(BPF_PSEUDO_FUNC, 4);
        assert_eq!(
            classify(&odd, true, &TEXT, &[], &none()),
            Err(RelocError::Misaligned)
        );
    }

    #[test]
    fn code_outside_text_and_helper_calls_are_refused() {
        let other = SymbolRef {
            section: "kprobe/x",
            ..TEXT
        };
        let call = insn(CALL, BPF_PSEUDO_CALL, 0, -1);
        let e = classify(&call, true, &other, &[], &none()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "calls and callbacks must target functions in .text, not `kprobe/x`"
        );
        let helper = insn(CALL, 0, 0, 6);
        assert_eq!(
            classify(&helper, true, &TEXT, &[], &none()),
            Err(RelocError::CallOnHelper)
        );
        let unaligned = SymbolRef { value: 3, ..TEXT };
        assert_eq!(
            classify(&call, true, &unaligned, &[], &none()),
            Err(RelocError::Misaligned)
        );
    }

    #[test]
    fn only_calls_and_ld_imm64_can_be_relocated() {
        let mov = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0);
        let e = classify(&mov, true, &TEXT, &[], &none()).unwrap_err();
        assert_eq!(e, RelocError::NotRelocatable { opcode: 0xb7 });
        assert_eq!(
            e.to_string(),
            "relocation on instruction with opcode 0xb7; only calls and 64-bit immediate loads can be relocated"
        );
    }

    #[test]
    fn maps_and_data_are_found_by_offset_and_section() {
        let maps = [maps_map("a", 0), maps_map("b", 32), data_map(".data", 5)];
        let in_maps = SymbolRef {
            index: 7,
            value: 32,
            shndx: 4,
            section: ".maps",
            in_code: false,
        };
        let ld = ld_imm64(0, 0);
        assert_eq!(
            classify(&ld, true, &in_maps, &maps, &none()),
            Ok(RelocKind::Map { map: 1 })
        );
        let in_data = SymbolRef {
            value: 8,
            shndx: 5,
            section: ".data",
            ..in_maps
        };
        // The section symbol's offset plus the instruction's addend.
        assert_eq!(
            classify(&ld_imm64(0, 4), true, &in_data, &maps, &none()),
            Ok(RelocKind::Data { map: 2, offset: 12 })
        );
        assert_eq!(
            classify(&ld, false, &in_data, &maps, &none()),
            Err(RelocError::DataNotLdImm64)
        );
        let nowhere = SymbolRef {
            value: 0x10,
            shndx: 9,
            section: ".foo",
            ..in_maps
        };
        let e = classify(&ld, true, &nowhere, &maps, &none()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it points into section `.foo` at 0x10, which holds no map or global data lskel knows"
        );
    }

    #[test]
    fn struct_ops_maps_and_huge_data_offsets_are_refused() {
        let maps = [struct_ops_map("ops"), data_map(".data", 5)];
        let sym = SymbolRef {
            index: 1,
            value: 0,
            shndx: 5,
            section: ".data",
            in_code: false,
        };
        assert_eq!(
            classify(
                &ld_imm64(0, i32::MAX),
                true,
                &SymbolRef { value: 1, ..sym },
                &maps,
                &none()
            ),
            Err(RelocError::DataOffset)
        );
        // A struct_ops map is never matched by a data relocation, so it points at nothing.
        let ops = SymbolRef {
            section: ".struct_ops",
            shndx: 6,
            ..sym
        };
        assert!(matches!(
            classify(&ld_imm64(0, 0), true, &ops, &maps, &none()),
            Err(RelocError::NoMapThere { .. })
        ));
    }

    #[test]
    fn externs_become_kconfig_loads_or_kernel_sites() {
        let ext = externs(&[
            (
                10,
                ExternKind::Kconfig {
                    offset: 8,
                    ty: KconfigType::Bool,
                },
            ),
            (11, ExternKind::Kfunc),
            (12, ExternKind::TypedKsym { btf_kind: 14 }),
            (13, ExternKind::TypelessKsym),
        ]);
        let maps = [maps_map("a", 0), data_map(".kconfig", 0)];
        let sym = |index| SymbolRef {
            index,
            value: 0,
            shndx: 0,
            section: "",
            in_code: false,
        };
        let ld = ld_imm64(0, 0);
        assert_eq!(
            classify(&ld, true, &sym(10), &maps, &ext),
            Ok(RelocKind::Extern(ExternRef::Kconfig { map: 1, offset: 8 }))
        );
        assert_eq!(
            classify(&ld, true, &sym(10), &maps[..1], &ext),
            Err(RelocError::NoKconfigMap)
        );
        let kernel = |ext, kind| Ok(RelocKind::Extern(ExternRef::Kernel { ext, kind }));
        let call = insn(CALL, 2, 0, -1);
        assert_eq!(
            classify(&call, true, &sym(11), &maps, &ext),
            kernel(1, SiteKind::KfuncCall)
        );
        assert_eq!(
            classify(&ld, true, &sym(11), &maps, &ext),
            kernel(1, SiteKind::BtfId)
        );
        assert_eq!(
            classify(&ld, true, &sym(12), &maps, &ext),
            kernel(2, SiteKind::BtfId)
        );
        assert_eq!(
            classify(&ld, true, &sym(13), &maps, &ext),
            kernel(3, SiteKind::Address)
        );
        let e = classify(&call, true, &sym(13), &maps, &ext).unwrap_err();
        assert_eq!(
            e.to_string(),
            "extern `e13` is used by an instruction (opcode 0x85) that cannot refer to it"
        );
        assert_eq!(
            classify(&ld, true, &sym(99), &maps, &ext),
            Err(RelocError::UnknownExtern)
        );
    }
}
