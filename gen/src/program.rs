//! Functions found in code sections: entry programs (every function of a non-`.text` code
//! section) and subprograms (functions in `.text`), in libbpf's order.

use crate::elf::ElfObject;
use crate::error::{Error, Result};
use crate::section::{self, SecDef};

/// Size of one `struct bpf_insn`.
pub const INSN_SIZE: usize = 8;

/// One function's code, as it sits in its section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Symbol name.
    pub name: String,
    /// ELF section index.
    pub section_index: usize,
    /// Section name.
    pub section: String,
    /// First instruction, as an index into the section.
    pub start: usize,
    /// Number of instructions.
    pub len: usize,
}

/// An entry program (not a subprogram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramDef {
    /// Its code.
    pub func: Function,
    /// What its section name says.
    pub def: &'static SecDef,
    /// Whether the section name starts with `?` (not loaded unless switched on).
    pub autoload_off: bool,
}

impl ProgramDef {
    /// The attach target named in the section (`sys_enter` of `tp_btf/sys_enter`).
    pub fn target(&self) -> Option<&str> {
        let name = self
            .func
            .section
            .strip_prefix('?')
            .unwrap_or(&self.func.section);
        self.def.target(name)
    }
}

/// Programs sorted by (section index, offset), and `.text` subprograms sorted by offset.
#[derive(Clone, Debug, Default)]
pub struct Functions {
    /// Entry programs.
    pub programs: Vec<ProgramDef>,
    /// Subprograms in `.text`.
    pub subprograms: Vec<Function>,
}

/// Collects every function of every code section.
pub fn collect(obj: &ElfObject<'_>) -> Result<Functions> {
    let mut out = Functions::default();
    for section in obj
        .sections
        .iter()
        .filter(|s| s.is_code() && !s.data.is_empty())
    {
        if section.data.len() % INSN_SIZE != 0 {
            return Err(Error::Malformed(format!(
                "code section `{}` is {} bytes, not a multiple of 8",
                section.name,
                section.data.len()
            )));
        }
        let is_text = section.name == ".text";
        let def = if is_text {
            None
        } else {
            Some(section::lookup(&section.name).ok_or_else(|| {
                Error::UnknownSection {
                    section: section.name.clone(),
                    index: section.index,
                    suggestion: section::suggest(&section.name)
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default(),
                    accepted: section::kinds(),
                }
            })?)
        };
        let mut funcs: Vec<_> = obj
            .symbols
            .iter()
            .filter(|s| s.is_func() && usize::from(s.shndx) == section.index)
            .collect();
        funcs.sort_by_key(|s| s.value);
        for sym in funcs {
            let (start, size) = (sym.value as usize, sym.size as usize);
            if start % INSN_SIZE != 0
                || size % INSN_SIZE != 0
                || size == 0
                || start
                    .checked_add(size)
                    .is_none_or(|end| end > section.data.len())
            {
                return Err(Error::Malformed(format!(
                    "function `{}` in `{}` spans {:#x}+{:#x}, outside the {}-byte section or not instruction-aligned",
                    sym.name,
                    section.name,
                    sym.value,
                    sym.size,
                    section.data.len()
                )));
            }
            let func = Function {
                name: sym.name.clone(),
                section_index: section.index,
                section: section.name.clone(),
                start: start / INSN_SIZE,
                len: size / INSN_SIZE,
            };
            match def {
                None => out.subprograms.push(func),
                Some(def) => {
                    if sym.bind == object::elf::STB_LOCAL {
                        return Err(Error::Program {
                            program: func.name,
                            section: func.section,
                            what: "entry programs must not be `static`".into(),
                        });
                    }
                    let autoload_off = section.name.starts_with('?');
                    out.programs.push(ProgramDef {
                        func,
                        def,
                        autoload_off,
                    });
                }
            }
        }
    }
    Ok(out)
}
