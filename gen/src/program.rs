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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testobj::{ret0, ElfBuilder};
    use object::elf::{STB_GLOBAL, STB_LOCAL, STT_FUNC, STV_DEFAULT};

    fn functions(e: ElfBuilder) -> Result<Functions> {
        let bytes = e.build();
        collect(&ElfObject::parse(&bytes).unwrap())
    }

    fn span(f: &Function) -> (&str, &str, usize, usize) {
        (f.name.as_str(), f.section.as_str(), f.start, f.len)
    }

    #[test]
    fn a_section_splits_into_its_functions_by_symbol() {
        let mut e = ElfBuilder::new();
        let text = e.code(".text", &[ret0(), ret0(), ret0()].concat());
        let tc = e.code("?tc/ingress", &[ret0(), ret0(), ret0()].concat());
        let kp = e.code("kprobe/do_sys_open", &ret0());
        e.code("xdp", &[]); // empty: no programs, and no section lookup either
                            // Out of offset order in the symbol table; a static subprogram is fine in .text.
        e.func("two", tc, 2, 4);
        e.func("one", tc, 0, 2);
        e.symbol("sub_b", text, 16, 32, STB_LOCAL, STT_FUNC, STV_DEFAULT);
        e.func("sub_a", text, 0, 2);
        e.func("probe", kp, 0, 2);
        let f = functions(e).unwrap();
        let progs: Vec<_> = f.programs.iter().map(|p| span(&p.func)).collect();
        assert_eq!(
            progs,
            [
                ("one", "?tc/ingress", 0, 2),
                ("two", "?tc/ingress", 2, 4),
                ("probe", "kprobe/do_sys_open", 0, 2)
            ]
        );
        let subs: Vec<_> = f.subprograms.iter().map(span).collect();
        assert_eq!(subs, [("sub_a", ".text", 0, 2), ("sub_b", ".text", 2, 4)]);
        assert!(f.programs[0].autoload_off && !f.programs[2].autoload_off);
        // `tc/ingress` is an attach point of its own, not `tc` with a target.
        assert_eq!(f.programs[0].def.pattern, "tc/ingress");
        assert_eq!(f.programs[0].target(), None);
        assert_eq!(f.programs[2].target(), Some("do_sys_open"));
        assert_eq!(f.programs[0].func.section_index, 2);
    }

    #[test]
    fn a_static_entry_program_is_refused() {
        let mut e = ElfBuilder::new();
        let xdp = e.code("xdp", &ret0());
        e.symbol("hidden_prog", xdp, 0, 16, STB_LOCAL, STT_FUNC, STV_DEFAULT);
        let err = functions(e).unwrap_err().to_string();
        assert!(
            err.contains("program `hidden_prog` (section `xdp`)"),
            "{err}"
        );
        assert!(err.contains("must not be `static`"), "{err}");
    }

    #[test]
    fn an_unknown_section_is_refused_with_a_suggestion() {
        let mut e = ElfBuilder::new();
        let sec = e.code("kprobee/x", &ret0());
        e.func("p", sec, 0, 2);
        let err = functions(e).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownSection { index: 1, .. }),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(err.contains("section `kprobee/x` (index 1)"), "{err}");
        assert!(err.contains("did you mean `kprobe"), "{err}");
    }

    #[test]
    fn bad_code_and_function_sizes_are_refused() {
        let mut e = ElfBuilder::new();
        let flags = u64::from(object::elf::SHF_ALLOC | object::elf::SHF_EXECINSTR);
        e.section("xdp", object::elf::SHT_PROGBITS, flags, &[0; 12]);
        let err = functions(e).unwrap_err().to_string();
        assert!(
            err.contains("code section `xdp` is 12 bytes, not a multiple of 8"),
            "{err}"
        );

        // (start, size) in bytes of a function in a 16-byte section.
        for (start, size) in [(0, 0), (4, 8), (0, 12), (8, 16), (u64::MAX - 7, 16)] {
            let mut e = ElfBuilder::new();
            let xdp = e.code("xdp", &ret0());
            e.symbol("f", xdp, start, size, STB_GLOBAL, STT_FUNC, STV_DEFAULT);
            let err = functions(e).unwrap_err().to_string();
            let want = format!("function `f` in `xdp` spans {start:#x}+{size:#x}, outside the 16-byte section or not instruction-aligned");
            assert!(err.contains(&want), "{start}+{size}: {err}");
        }
    }

    #[test]
    fn fixture_sections_hold_the_programs_their_source_declares() {
        let bytes = include_bytes!("../../tests/bpf/multi.bpf.o");
        let obj = ElfObject::parse(bytes).unwrap();
        let f = collect(&obj).unwrap();
        let got: Vec<(&str, u32)> = (f.programs.iter())
            .map(|p| (p.func.name.as_str(), p.def.prog_type))
            .collect();
        use crate::abi::prog_type as t;
        assert_eq!(
            got,
            [
                ("xdp_count", t::XDP),
                ("tc_count", t::SCHED_CLS),
                ("sock_count", t::SOCKET_FILTER),
                ("cgskb_count", t::CGROUP_SKB),
                ("tp_getpid", t::TRACEPOINT),
                ("rawtp_count", t::RAW_TRACEPOINT),
            ]
        );
        assert!(f.subprograms.is_empty());
        for p in &f.programs {
            let sec = obj.section(&p.func.section).unwrap();
            assert!((p.func.start + p.func.len) * INSN_SIZE <= sec.data.len());
            assert_ne!(p.func.section, ".text");
        }
    }
}
