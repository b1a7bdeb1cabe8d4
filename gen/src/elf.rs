//! The ELF side of a BPF object: sections, symbols, relocations, license and version,
//! read with the `object` crate's raw ELF layer. Only 64-bit little-endian relocatable
//! EM_BPF objects are accepted.

use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader, Sym};
use object::LittleEndian as LE;

use crate::error::{Error, Result};

/// One ELF section.
#[derive(Clone, Debug)]
pub struct Section<'a> {
    /// ELF section index.
    pub index: usize,
    /// Section name.
    pub name: String,
    /// `sh_type`
    pub sh_type: u32,
    /// `sh_flags`
    pub flags: u64,
    /// `sh_size` (for NOBITS, the size of the zero-filled area).
    pub size: u64,
    /// Contents (empty for NOBITS).
    pub data: &'a [u8],
    /// Relocations that apply to this section, in file order.
    pub relocs: Vec<Reloc>,
}

impl Section<'_> {
    /// Executable code (`SHF_EXECINSTR` PROGBITS).
    pub fn is_code(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
}

/// One `Elf64_Rel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Byte offset in the target section.
    pub offset: u64,
    /// Symbol index.
    pub sym: usize,
    /// `R_BPF_*` type.
    pub r_type: u32,
}

/// One symbol-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Name ("" for section symbols).
    pub name: String,
    /// `st_value`
    pub value: u64,
    /// `st_size`
    pub size: u64,
    /// `st_shndx` (0 = undefined, i.e. an extern).
    pub shndx: u16,
    /// `STB_*`
    pub bind: u8,
    /// `STT_*`
    pub kind: u8,
    /// `STV_*`
    pub visibility: u8,
}

impl Symbol {
    /// A global or weak function symbol defined in a section.
    pub fn is_func(&self) -> bool {
        self.kind == elf::STT_FUNC && self.shndx != 0
    }
    /// `STV_HIDDEN` or `STV_INTERNAL`.
    pub fn is_hidden(&self) -> bool {
        self.visibility == elf::STV_HIDDEN || self.visibility == elf::STV_INTERNAL
    }
}

/// A parsed object.
#[derive(Clone, Debug)]
pub struct ElfObject<'a> {
    /// All sections, indexed by ELF index (index 0 is the null section).
    pub sections: Vec<Section<'a>>,
    /// All symbols, indexed by symbol index.
    pub symbols: Vec<Symbol>,
    /// Contents of `license` (up to its NUL); `None` when the object has no such section.
    pub license: Option<String>,
    /// Contents of `version`, or 0.
    pub kern_version: u32,
}

impl<'a> ElfObject<'a> {
    /// Parses an object after checking it is a BPF relocatable object.
    pub fn parse(data: &'a [u8]) -> Result<ElfObject<'a>> {
        check_ident(data)?;
        let header = elf::FileHeader64::<LE>::parse(data)
            .map_err(|e| Error::Malformed(format!("ELF header: {e}")))?;
        let e = LE;
        if header.e_machine(e) != elf::EM_BPF {
            return Err(Error::WrongElfKind {
                what: format!(
                    "e_machine is {} ({}), not EM_BPF (247)",
                    header.e_machine(e),
                    machine_name(header.e_machine(e))
                ),
            });
        }
        if header.e_type(e) != elf::ET_REL {
            return Err(Error::WrongElfKind {
                what: format!("e_type is {}, not ET_REL (1)", header.e_type(e)),
            });
        }
        let table_end = header
            .e_shoff(e)
            .saturating_add(u64::from(header.e_shnum(e)) * u64::from(header.e_shentsize(e)));
        if table_end > data.len() as u64 {
            return Err(Error::Malformed(format!(
                "the file is {} bytes but its section header table ends at byte {table_end}: the object is truncated",
                data.len()
            )));
        }
        let table = header
            .sections(e, data)
            .map_err(|err| Error::Malformed(format!("section table: {err}")))?;
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.iter().enumerate() {
            let name = table
                .section_name(e, sh)
                .map_err(|err| Error::Malformed(format!("section {index}: name: {err}")))?;
            let name = String::from_utf8_lossy(name).into_owned();
            let sh_type = sh.sh_type(e);
            let section_data = if sh_type == elf::SHT_NOBITS {
                &[][..]
            } else {
                sh.data(e, data).map_err(|err| {
                    Error::Malformed(format!("section {index} `{name}`: data: {err}"))
                })?
            };
            sections.push(Section {
                index,
                name,
                sh_type,
                flags: sh.sh_flags(e),
                size: sh.sh_size(e),
                data: section_data,
                relocs: Vec::new(),
            });
        }

        let symtab = table
            .symbols(e, data, elf::SHT_SYMTAB)
            .map_err(|err| Error::Malformed(format!("symbol table: {err}")))?;
        if symtab.is_empty() {
            return Err(Error::Malformed(
                "no symbol table (was the object stripped?)".into(),
            ));
        }
        let mut symbols = Vec::with_capacity(symtab.len());
        for (i, sym) in symtab.iter().enumerate() {
            let name = symtab
                .symbol_name(e, sym)
                .map_err(|err| Error::Malformed(format!("symbol {i}: name: {err}")))?;
            symbols.push(Symbol {
                name: String::from_utf8_lossy(name).into_owned(),
                value: sym.st_value(e),
                size: sym.st_size(e),
                shndx: sym.st_shndx(e),
                bind: sym.st_bind(),
                kind: sym.st_type(),
                visibility: sym.st_visibility(),
            });
        }

        for (index, sh) in table.iter().enumerate() {
            if sh.sh_type(e) == elf::SHT_RELA {
                return Err(Error::WrongElfKind {
                    what: format!(
                        "section {index} `{}` holds RELA relocations; BPF objects use REL",
                        sections[index].name
                    ),
                });
            }
            let Some((rels, _symtab)) = sh
                .rel(e, data)
                .map_err(|err| Error::Malformed(format!("section {index}: relocations: {err}")))?
            else {
                continue;
            };
            // sh_info names the section the relocations apply to.
            let target = sh.sh_info(e) as usize;
            if target >= sections.len() {
                return Err(Error::Malformed(format!(
                    "relocation section {index} targets missing section {target}"
                )));
            }
            for rel in rels {
                let sym = rel.r_sym(e) as usize;
                if sym >= symbols.len() {
                    return Err(Error::Malformed(format!(
                        "relocation section {index} names missing symbol {sym}"
                    )));
                }
                sections[target].relocs.push(Reloc {
                    offset: rel.r_offset(e),
                    sym,
                    r_type: rel.r_type(e),
                });
            }
        }

        let license = sections.iter().find(|s| s.name == "license").map(|s| {
            let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
            String::from_utf8_lossy(&s.data[..end]).into_owned()
        });
        let kern_version = sections
            .iter()
            .find(|s| s.name == "version")
            .map(|s| match s.data {
                [a, b, c, d] => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
                other => Err(Error::Malformed(format!(
                    "section `version` is {} bytes, expected 4",
                    other.len()
                ))),
            })
            .transpose()?
            .unwrap_or(0);
        Ok(ElfObject {
            sections,
            symbols,
            license,
            kern_version,
        })
    }

    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The name of section `index` (`"<none>"` when out of range).
    pub fn section_name(&self, index: usize) -> &str {
        self.sections
            .get(index)
            .map_or("<none>", |s| s.name.as_str())
    }
}

/// Checks magic, class and data encoding so the error says exactly what is wrong.
fn check_ident(data: &[u8]) -> Result<()> {
    if data.len() < 16 || data[..4] != elf::ELFMAG {
        return Err(Error::NotElf {
            magic: data.iter().take(4).copied().collect(),
        });
    }
    if data[4] != elf::ELFCLASS64 {
        return Err(Error::WrongElfKind {
            what: format!("ELF class {} is not 64-bit", data[4]),
        });
    }
    match data[5] {
        elf::ELFDATA2LSB => Ok(()),
        elf::ELFDATA2MSB => Err(Error::WrongElfKind {
            what: "the object is big-endian (built with -target bpfeb)".into(),
        }),
        other => Err(Error::WrongElfKind {
            what: format!("unknown ELF data encoding {other}"),
        }),
    }
}

fn machine_name(machine: u16) -> &'static str {
    match machine {
        elf::EM_X86_64 => "x86-64",
        elf::EM_AARCH64 => "AArch64",
        elf::EM_386 => "i386",
        elf::EM_ARM => "ARM",
        elf::EM_RISCV => "RISC-V",
        elf::EM_PPC64 => "PowerPC64",
        elf::EM_S390 => "s390",
        _ => "not BPF",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_elf_and_other_machines() {
        assert!(matches!(
            ElfObject::parse(b"hello world, not elf"),
            Err(Error::NotElf { .. })
        ));
        let mut hdr = vec![0u8; 64];
        hdr[..4].copy_from_slice(&elf::ELFMAG);
        hdr[4] = elf::ELFCLASS32;
        hdr[5] = elf::ELFDATA2LSB;
        assert!(ElfObject::parse(&hdr)
            .unwrap_err()
            .to_string()
            .contains("not 64-bit"));
        hdr[4] = elf::ELFCLASS64;
        hdr[5] = elf::ELFDATA2MSB;
        assert!(ElfObject::parse(&hdr)
            .unwrap_err()
            .to_string()
            .contains("big-endian"));
        hdr[5] = elf::ELFDATA2LSB;
        hdr[6] = 1;
        hdr[18] = 62; // EM_X86_64
        let err = ElfObject::parse(&hdr).unwrap_err().to_string();
        assert!(err.contains("x86-64"), "{err}");
    }

    #[test]
    fn an_object_is_read_wherever_its_bytes_sit() {
        // `include_bytes!` data has alignment 1: the same object at every offset of a
        // buffer must parse alike, not fail on the header's alignment.
        let bytes = include_bytes!("../tests/objects/structops.bpf.o");
        let mut buf = vec![0u8; bytes.len() + 8];
        for shift in 0..8 {
            buf[shift..shift + bytes.len()].copy_from_slice(bytes);
            let obj = ElfObject::parse(&buf[shift..shift + bytes.len()])
                .unwrap_or_else(|e| panic!("at byte {shift}: {e}"));
            assert_eq!(obj.license.as_deref(), Some("GPL"));
            assert!(obj.section(".struct_ops.link").is_some());
        }
    }
}
