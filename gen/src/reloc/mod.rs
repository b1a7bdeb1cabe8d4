//! Linking one entry program: its own code, then every subprogram it reaches appended once
//! (depth first, in the order calls appear, as libbpf does so the kernel sees the same code),
//! with map and global-data references rewritten to `fd_array` indexes and func_info /
//! line_info / CO-RE records rebased to the linked program.
//!
//! Each relocation is first classified (`classify`, which changes nothing), then applied by
//! the small function of its kind: `call`, `callback`, `map`, `data`, `externs`.

mod call;
mod callback;
mod classify;
mod data;
mod error;
mod externs;
mod map;
#[cfg(test)]
mod testing;

use std::collections::HashMap;

use lskel_abi::insn::Insn;

use self::classify::{classify, ExternRef, RelocKind, SymbolRef};
pub use self::error::{LinkError, RelocError};
use crate::abi::{BPF_PSEUDO_CALL, CALL};
use crate::btf::ext::{BtfExt, InfoKind};
use crate::elf::{ElfObject, Reloc, Section};
use crate::error::{Error, Result};
use crate::externs::Externs;
use crate::maps::MapDef;
use crate::program::{Function, Functions, ProgramDef, INSN_SIZE};

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
    /// Its maps, in object order.
    pub maps: &'o [MapDef],
    /// The `fd_array` slot of each map ([`crate::maps::FdLayout::slots`]): what a map
    /// reference's `imm` holds.
    pub slots: &'o [usize],
    /// `.BTF.ext`, if present.
    pub ext: Option<&'o BtfExt>,
    /// The object's externs.
    pub externs: &'o Externs,
    /// Offsets in `.maps` of map definitions that failed: references to them are skipped,
    /// as their error is already reported.
    pub failed_maps: &'o [u64],
}

/// Per-program linking state.
struct Linking<'l> {
    insns: Vec<Insn>,
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

/// Where one relocated instruction is, for its error.
struct At<'s> {
    section: &'s Section<'s>,
    /// Instruction index in the section.
    insn: usize,
    symbol: String,
}

impl At<'_> {
    fn err(&self, source: RelocError) -> Error {
        Error::Reloc {
            section: self.section.name.clone(),
            insn: self.insn,
            offset: (self.insn * INSN_SIZE) as u64,
            symbol: self.symbol.clone(),
            source,
        }
    }
}

impl Linker<'_, '_> {
    /// The `fd_array` slot of map `map` (an index into `maps`, as classification gives it).
    fn slot(&self, map: i32) -> i32 {
        usize::try_from(map)
            .ok()
            .and_then(|i| self.slots.get(i))
            .map_or(map, |&s| s as i32)
    }

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
            insns: st.insns.iter().flat_map(|i| i.to_bytes()).collect(),
            func_info: st.func_info,
            line_info: st.line_info,
            core_relos: st.core_relos,
            extern_sites: st.extern_sites,
        })
    }

    fn err(&self, st: &Linking<'_>, source: LinkError) -> Error {
        Error::Link {
            program: st.prog.func.name.clone(),
            section: st.prog.func.section.clone(),
            source,
        }
    }

    /// Appends `func`'s code and its .BTF.ext records at the end of the program.
    fn append(&self, st: &mut Linking<'_>, func: &Function) -> Result<usize> {
        let at = st.insns.len();
        let data = self.obj.sections[func.section_index].data;
        let code = &data[func.start * INSN_SIZE..(func.start + func.len) * INSN_SIZE];
        st.insns.extend(
            code.chunks_exact(INSN_SIZE)
                .map(|c| Insn::from_bytes(<[u8; 8]>::try_from(c).unwrap_or_default())),
        );
        if let Some(ext) = self.ext {
            let is_main = at == 0;
            if st.want_func_info {
                let found = rebase(&ext.func_info, func, at, false, &mut st.func_info);
                if !found {
                    if is_main {
                        st.want_func_info = false;
                    } else {
                        let subprogram = func.name.clone();
                        return Err(self.err(st, LinkError::MissingFuncInfo { subprogram }));
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
            match relocs.get(&i) {
                Some(r) => self.relocate_one(st, section, func.start + i, at + i, r)?,
                None => self.check_unrelocated(st, section, func, i, at + i)?,
            }
        }
        Ok(())
    }

    /// Applies relocation `r` at section instruction `insn`, linked at `site`.
    fn relocate_one(
        &self,
        st: &mut Linking<'_>,
        section: &Section<'_>,
        insn: usize,
        site: usize,
        r: &Reloc,
    ) -> Result<()> {
        let sym = &self.obj.symbols[r.sym];
        let shndx = usize::from(sym.shndx);
        let target = SymbolRef {
            index: r.sym,
            value: sym.value,
            shndx,
            section: self.obj.section_name(shndx),
            in_code: self.obj.sections.get(shndx).is_some_and(|s| s.is_code()),
        };
        if shndx != 0 && target.section == ".maps" && self.failed_maps.contains(&sym.value) {
            return Ok(());
        }
        let at = At {
            section,
            insn,
            symbol: if sym.name.is_empty() {
                target.section.to_string()
            } else {
                sym.name.clone()
            },
        };
        let has_next = site + 1 < st.insns.len();
        let kind = classify(&st.insns[site], has_next, &target, self.maps, self.externs)
            .map_err(|e| at.err(e))?;
        match kind {
            RelocKind::Call { target } => {
                let placed = self.place(st, target).map_err(|e| at.err_or(e))?;
                call::apply(&mut st.insns[site], site, placed).map_err(|e| at.err(e))?;
            }
            RelocKind::Callback { target } => {
                let placed = self.place(st, target).map_err(|e| at.err_or(e))?;
                callback::apply(&mut st.insns[site], site, placed).map_err(|e| at.err(e))?;
            }
            RelocKind::Map { map } => map::apply(&mut st.insns[site], self.slot(map)),
            RelocKind::Data { map, offset } => {
                let ld = <&mut [Insn; 2]>::try_from(&mut st.insns[site..site + 2])
                    .map_err(|_| at.err(RelocError::DataNotLdImm64))?;
                data::apply(ld, self.slot(map), offset);
            }
            RelocKind::Extern(what) => {
                let what = match what {
                    ExternRef::Kconfig { map, offset } => ExternRef::Kconfig {
                        map: self.slot(map),
                        offset,
                    },
                    other => other,
                };
                let end = (site + 2).min(st.insns.len());
                let patched = externs::apply(&mut st.insns[site..end], site, what);
                st.extern_sites.extend(patched);
            }
        }
        Ok(())
    }

    /// An instruction without relocation: a static call inside `.text` is linked by its
    /// relative `imm`; a function address needs a relocation.
    fn check_unrelocated(
        &self,
        st: &mut Linking<'_>,
        section: &Section<'_>,
        func: &Function,
        i: usize,
        site: usize,
    ) -> Result<()> {
        let insn = st.insns[site];
        let at = func.start + i;
        callback::check_unrelocated(&insn, at).map_err(|e| self.err(st, e))?;
        if insn.code != CALL || insn.src != BPF_PSEUDO_CALL {
            return Ok(());
        }
        let target = call::static_target(&insn, at, &section.name).map_err(|e| self.err(st, e))?;
        let in_function = |source| LinkError::InFunction {
            name: func.name.clone(),
            source,
        };
        let placed = match self.place(st, target) {
            Ok(p) => p,
            Err(Placing::Reloc(e)) => return Err(self.err(st, in_function(e))),
            Err(Placing::Other(e)) => return Err(e),
        };
        call::apply(&mut st.insns[site], site, placed).map_err(|e| self.err(st, in_function(e)))
    }

    /// Where the `.text` function starting at section instruction `target` is in the linked
    /// program, appending (and relocating) it first if it is not there yet.
    fn place(&self, st: &mut Linking<'_>, target: i64) -> Result<usize, Placing> {
        let idx = (self.funcs.subprograms.iter())
            .position(|f| f.start as i64 == target)
            .ok_or(Placing::Reloc(RelocError::NoFunctionAt { target }))?;
        if let Some(&p) = st.placed.get(&idx) {
            return Ok(p);
        }
        let sub = &self.funcs.subprograms[idx];
        let p = self.append(st, sub).map_err(Placing::Other)?;
        st.placed.insert(idx, p);
        self.relocate(st, sub, p).map_err(Placing::Other)?;
        Ok(p)
    }
}

/// Why a callee could not be placed: the call itself is wrong (reported at the call), or
/// linking the callee failed (reported where it failed).
enum Placing {
    Reloc(RelocError),
    Other(Error),
}

impl At<'_> {
    fn err_or(&self, e: Placing) -> Error {
        match e {
            Placing::Reloc(e) => self.err(e),
            Placing::Other(e) => e,
        }
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
