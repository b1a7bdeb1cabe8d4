//! Linking one entry program: its own code, then every subprogram it reaches appended once
//! (depth first, in the order calls appear, as libbpf does so the kernel sees the same code),
//! with map and global-data references rewritten to `fd_array` indexes and func_info /
//! line_info / CO-RE records rebased to the linked program.

use std::collections::HashMap;

use crate::abi::{
    BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_IDX,
    BPF_PSEUDO_MAP_IDX_VALUE, CALL, LD_IMM64,
};
use crate::btf::ext::{BtfExt, InfoKind};
use crate::elf::{ElfObject, Reloc, Symbol};
use crate::error::{Error, Result};
use crate::externs::{ExternKind, Externs};
use crate::maps::{DataKind, MapDef, MapOrigin};
use crate::program::{Function, Functions, ProgramDef, INSN_SIZE};
use lskel_abi::insn::{field, Insn};

/// A fully linked program, ready to hand to the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedProgram {
    /// The instructions, raw `struct bpf_insn` bytes.
    pub insns: Vec<u8>,
    /// `bpf_func_info` records (insn_off in instructions) and their size.
    pub func_info: Records,
    /// `bpf_line_info` records and their size.
    pub line_info: Records,
    /// `bpf_core_relo` records (insn_off in bytes) and their size.
    pub core_relos: Records,
    /// Instructions the loader patches once it has resolved a kernel symbol.
    pub extern_sites: Vec<ExternSite>,
}

/// How an instruction refers to a kernel symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// A kfunc call: imm = BTF id, off = `fd_array` slot of its BTF (0 = vmlinux).
    KfuncCall,
    /// `ld_imm64` of a typed ksym: src_reg = BPF_PSEUDO_BTF_ID, imm = BTF id, imm2 = BTF fd.
    BtfId,
    /// `ld_imm64` of a typeless ksym: the 64-bit address from kallsyms.
    Address,
}

/// One instruction to patch for extern `ext` (index into `Externs::list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternSite {
    /// Which extern.
    pub ext: usize,
    /// Instruction index in the linked program.
    pub insn: usize,
    /// How to patch it.
    pub kind: SiteKind,
}

/// Concatenated fixed-size records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// Size of one record.
    pub rec_size: u32,
    /// The bytes, `count * rec_size` long.
    pub bytes: Vec<u8>,
}

impl Records {
    /// Number of records.
    pub fn count(&self) -> u32 {
        if self.rec_size == 0 {
            0
        } else {
            (self.bytes.len() / self.rec_size as usize) as u32
        }
    }
}

/// Everything linking needs to look at.
pub struct Linker<'o, 'a> {
    /// The object.
    pub obj: &'o ElfObject<'a>,
    /// Its functions.
    pub funcs: &'o Functions,
    /// Its maps, in `fd_array` order.
    pub maps: &'o [MapDef],
    /// `.BTF.ext`, if present.
    pub ext: Option<&'o BtfExt>,
    /// The object's externs.
    pub externs: &'o Externs,
}

/// Per-program linking state.
struct Linking<'l> {
    insns: Vec<[u8; 8]>,
    /// Where each `.text` subprogram (by index in `funcs.subprograms`) was appended.
    placed: HashMap<usize, usize>,
    func_info: Records,
    line_info: Records,
    core_relos: Records,
    extern_sites: Vec<ExternSite>,
    /// Func info is kept only if the entry program itself has some (libbpf's rule).
    want_func_info: bool,
    want_line_info: bool,
    prog: &'l ProgramDef,
}

fn imm(insn: &[u8; 8]) -> i32 {
    Insn::from_bytes(*insn).imm
}

fn set_imm(insn: &mut [u8; 8], v: i32) {
    insn[field::IMM..field::IMM + 4].copy_from_slice(&v.to_le_bytes());
}

fn src_reg(insn: &[u8; 8]) -> u8 {
    Insn::from_bytes(*insn).src
}

fn set_src_reg(insn: &mut [u8; 8], src: u8) {
    insn[field::REGS] = field::regs(field::dst_reg(insn[field::REGS]), src);
}

impl Linker<'_, '_> {
    /// Links entry program `prog`.
    pub fn link(&self, prog: &ProgramDef) -> Result<LinkedProgram> {
        let mut st = Linking {
            insns: Vec::new(),
            placed: HashMap::new(),
            func_info: Records::default(),
            line_info: Records::default(),
            core_relos: Records::default(),
            extern_sites: Vec::new(),
            want_func_info: true,
            want_line_info: true,
            prog,
        };
        self.append(&mut st, &prog.func)?;
        self.relocate(&mut st, &prog.func, 0)?;
        Ok(LinkedProgram {
            insns: st.insns.concat(),
            func_info: st.func_info,
            line_info: st.line_info,
            core_relos: st.core_relos,
            extern_sites: st.extern_sites,
        })
    }

    fn err(&self, st: &Linking<'_>, what: String) -> Error {
        Error::Program {
            program: st.prog.func.name.clone(),
            section: st.prog.func.section.clone(),
            what,
        }
    }

    /// Appends `func`'s code and its .BTF.ext records at the end of the program.
    fn append(&self, st: &mut Linking<'_>, func: &Function) -> Result<usize> {
        let at = st.insns.len();
        let data = self.obj.sections[func.section_index].data;
        let code = &data[func.start * INSN_SIZE..(func.start + func.len) * INSN_SIZE];
        st.insns.extend(
            code.chunks_exact(INSN_SIZE)
                .map(|c| <[u8; 8]>::try_from(c).unwrap_or_default()),
        );
        if let Some(ext) = self.ext {
            let is_main = at == 0;
            if st.want_func_info {
                let found = rebase(&ext.func_info, func, at, false, &mut st.func_info);
                if !found {
                    if is_main {
                        st.want_func_info = false;
                    } else {
                        return Err(self.err(st, format!("subprogram `{}` has no func_info in .BTF.ext while the program has", func.name)));
                    }
                }
            }
            if st.want_line_info {
                let found = rebase(&ext.line_info, func, at, false, &mut st.line_info);
                if !found && is_main {
                    st.want_line_info = false;
                }
            }
            rebase(&ext.core_relo, func, at, true, &mut st.core_relos);
        }
        Ok(at)
    }

    /// Applies the relocations of `func` (placed at instruction `at`) and appends and
    /// relocates every subprogram it reaches that is not placed yet.
    fn relocate(&self, st: &mut Linking<'_>, func: &Function, at: usize) -> Result<()> {
        let section = &self.obj.sections[func.section_index];
        let range = func.start * INSN_SIZE..(func.start + func.len) * INSN_SIZE;
        let relocs: HashMap<usize, &Reloc> = section
            .relocs
            .iter()
            .filter(|r| range.contains(&(r.offset as usize)))
            .map(|r| (r.offset as usize / INSN_SIZE - func.start, r))
            .collect();
        for i in 0..func.len {
            let insn = st.insns[at + i];
            let reloc = relocs.get(&i).copied();
            let is_call = insn[0] == CALL && src_reg(&insn) == BPF_PSEUDO_CALL;
            let is_func_addr = insn[0] == LD_IMM64 && src_reg(&insn) == BPF_PSEUDO_FUNC;
            let reloc_err = |sym: &Symbol, what: String| Error::Reloc {
                section: section.name.clone(),
                insn: func.start + i,
                offset: ((func.start + i) * INSN_SIZE) as u64,
                symbol: if sym.name.is_empty() {
                    self.obj.section_name(sym.shndx.into()).to_string()
                } else {
                    sym.name.clone()
                },
                what,
            };
            if let Some(r) = reloc {
                let sym = &self.obj.symbols[r.sym];
                if sym.shndx == 0 {
                    self.relocate_extern(st, at + i, r.sym, &|w| reloc_err(sym, w))?;
                    continue;
                }
                if insn[0] != CALL && insn[0] != LD_IMM64 {
                    return Err(reloc_err(sym, format!("relocation on instruction with opcode {:#04x}; only calls and 64-bit immediate loads can be relocated", insn[0])));
                }
                let target_section = self.obj.section_name(sym.shndx.into());
                let into_code = self
                    .obj
                    .sections
                    .get(usize::from(sym.shndx))
                    .is_some_and(|s| s.is_code());
                if is_call || (insn[0] == LD_IMM64 && into_code) {
                    if insn[0] == CALL && !is_call {
                        return Err(reloc_err(sym, "call relocation on a helper call".into()));
                    }
                    if target_section != ".text" {
                        return Err(reloc_err(sym, format!("calls and callbacks must target functions in .text, not `{target_section}`")));
                    }
                    let byte = sym.value as i64;
                    let target = if is_call {
                        byte / 8 + i64::from(imm(&insn)) + 1
                    } else {
                        (byte + i64::from(imm(&insn))) / 8
                    };
                    if sym.value % 8 != 0 || (!is_call && imm(&insn) % 8 != 0) {
                        return Err(reloc_err(sym, "target is not instruction-aligned".into()));
                    }
                    if !is_call {
                        set_src_reg(&mut st.insns[at + i], BPF_PSEUDO_FUNC);
                    }
                    self.call_into(st, at + i, target, &|w| reloc_err(sym, w))?;
                    continue;
                }
                self.relocate_data(st, at + i, sym, &|w| reloc_err(sym, w))?;
                continue;
            }
            if is_func_addr {
                return Err(self.err(
                    st,
                    format!(
                        "callback address at instruction {} has no relocation",
                        func.start + i
                    ),
                ));
            }
            if is_call {
                // A call to a static function in the same section needs no relocation:
                // imm is relative to the call's place in the section.
                if section.name != ".text" {
                    return Err(self.err(
                        st,
                        format!(
                            "call at instruction {} has no relocation and does not target .text",
                            func.start + i
                        ),
                    ));
                }
                let target = (func.start + i) as i64 + i64::from(imm(&insn)) + 1;
                let (program, section, name) = (
                    st.prog.func.name.clone(),
                    st.prog.func.section.clone(),
                    func.name.clone(),
                );
                self.call_into(st, at + i, target, &|w| Error::Program {
                    program: program.clone(),
                    section: section.clone(),
                    what: format!("in `{name}`: {w}"),
                })?;
            }
        }
        Ok(())
    }

    /// Points the call (or callback load) at `site` to the `.text` function starting at
    /// section instruction `target`, appending that function first if needed.
    fn call_into(
        &self,
        st: &mut Linking<'_>,
        site: usize,
        target: i64,
        err: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        let idx = self
            .funcs
            .subprograms
            .iter()
            .position(|f| f.start as i64 == target)
            .ok_or_else(|| err(format!("no function starts at .text instruction {target}")))?;
        let placed = match st.placed.get(&idx) {
            Some(&p) => p,
            None => {
                let sub = &self.funcs.subprograms[idx];
                let p = self.append(st, sub)?;
                st.placed.insert(idx, p);
                self.relocate(st, sub, p)?;
                p
            }
        };
        let rel = placed as i64 - site as i64 - 1;
        set_imm(
            &mut st.insns[site],
            i32::try_from(rel)
                .map_err(|_| err("program is too large for a 32-bit call offset".into()))?,
        );
        Ok(())
    }

    /// A reference to an extern: `.kconfig` loads become map-value loads now; kernel
    /// symbols are left for the loader to patch.
    fn relocate_extern(
        &self,
        st: &mut Linking<'_>,
        site: usize,
        sym: usize,
        err: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        let (idx, ext) = self
            .externs
            .list
            .iter()
            .enumerate()
            .find(|(_, e)| e.sym == sym)
            .ok_or_else(|| err("undefined symbol that is neither __ksym nor __kconfig".into()))?;
        let code = st.insns[site][0];
        let is_ld = code == LD_IMM64 && site + 1 < st.insns.len();
        let kind = match (&ext.kind, code) {
            (ExternKind::Kconfig { offset, .. }, _) if is_ld => {
                let map = self.maps.iter().position(|m| m.data_kind() == Some(DataKind::Kconfig)).ok_or_else(|| err("no .kconfig map".into()))?;
                let insn = &mut st.insns[site];
                set_src_reg(insn, BPF_PSEUDO_MAP_IDX_VALUE);
                set_imm(insn, map as i32);
                set_imm(&mut st.insns[site + 1], *offset as i32);
                return Ok(());
            }
            (ExternKind::Kfunc, CALL) => {
                let insn = &mut st.insns[site];
                set_src_reg(insn, BPF_PSEUDO_KFUNC_CALL);
                set_imm(insn, 0);
                insn[field::OFF..field::OFF + 2].fill(0);
                SiteKind::KfuncCall
            }
            (ExternKind::Kfunc | ExternKind::TypedKsym { .. }, _) if is_ld => SiteKind::BtfId,
            (ExternKind::TypelessKsym, _) if is_ld => SiteKind::Address,
            _ => return Err(err(format!("extern `{}` is used by an instruction (opcode {code:#04x}) that cannot refer to it", ext.name))),
        };
        if kind != SiteKind::KfuncCall {
            // Until the loader resolves it, the load is of the constant 0.
            set_src_reg(&mut st.insns[site], 0);
            set_imm(&mut st.insns[site], 0);
            set_imm(&mut st.insns[site + 1], 0);
        }
        st.extern_sites.push(ExternSite {
            ext: idx,
            insn: site,
            kind,
        });
        Ok(())
    }

    /// A map reference (`.maps` symbol) or a global-data address (data section symbol).
    fn relocate_data(
        &self,
        st: &mut Linking<'_>,
        site: usize,
        sym: &Symbol,
        err: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        if st.insns[site][0] != LD_IMM64 || site + 1 >= st.insns.len() {
            return Err(err(
                "map or data relocation on something other than a 64-bit immediate load".into(),
            ));
        }
        let shndx = usize::from(sym.shndx);
        let found = self.maps.iter().enumerate().find(|(_, m)| match &m.origin {
            MapOrigin::Btf { offset } => {
                self.obj.section_name(shndx) == ".maps" && *offset == sym.value
            }
            MapOrigin::Data { section_index, .. } => *section_index == shndx,
            MapOrigin::StructOps(_) => false,
        });
        let Some((idx, map)) = found else {
            let section = self.obj.section_name(shndx);
            return Err(err(format!("it points into section `{section}` at {:#x}, which holds no map or global data lskel knows", sym.value)));
        };
        let idx = i32::try_from(idx).map_err(|_| err("too many maps".into()))?;
        let insn = &mut st.insns[site];
        match map.origin {
            MapOrigin::Btf { .. } => {
                set_src_reg(insn, BPF_PSEUDO_MAP_IDX);
                set_imm(insn, idx);
            }
            MapOrigin::StructOps(_) => {
                return Err(err("code cannot refer to a struct_ops map".into()))
            }
            MapOrigin::Data { .. } => {
                let off = i64::from(imm(insn)) + sym.value as i64;
                let off = i32::try_from(off).map_err(|_| err("data offset out of range".into()))?;
                set_src_reg(insn, BPF_PSEUDO_MAP_IDX_VALUE);
                set_imm(insn, idx);
                set_imm(&mut st.insns[site + 1], off);
            }
        }
        Ok(())
    }
}

/// Copies the records of `func` from `info` into `out`, rebased to `at`. Returns whether any
/// were found. `bytes_offsets` keeps `insn_off` in bytes (CO-RE) instead of instructions.
fn rebase(
    info: &InfoKind,
    func: &Function,
    at: usize,
    byte_offsets: bool,
    out: &mut Records,
) -> bool {
    let mut found = false;
    for rec in info.for_section(&func.section) {
        let off = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]) as usize / INSN_SIZE;
        if off < func.start || off >= func.start + func.len {
            continue;
        }
        found = true;
        let new = (off - func.start + at) as u32;
        let new = if byte_offsets {
            new * INSN_SIZE as u32
        } else {
            new
        };
        out.rec_size = info.rec_size;
        out.bytes.extend_from_slice(&new.to_le_bytes());
        out.bytes.extend_from_slice(&rec[4..]);
    }
    found
}
