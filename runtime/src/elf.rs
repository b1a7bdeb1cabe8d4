//! A small reader of 64-bit little-endian ELF files of *target* binaries (not BPF objects):
//! section and program headers, and the function symbols of `.symtab`/`.dynsym`. Used by USDT
//! (notes) and uprobes (symbol to file offset).

pub(crate) struct Elf<'a> {
    data: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Section<'a> {
    pub name: &'a [u8],
    pub sh_type: u32,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    /// `sh_link` (a symbol table's string table).
    pub link: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub exec: bool,
}

impl<'a> Elf<'a> {
    pub fn bytes(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.data.get(start..end)
    }
    fn u16(&self, off: u64) -> Option<u16> {
        Some(u16::from_le_bytes(self.bytes(off, 2)?.try_into().ok()?))
    }
    fn u32(&self, off: u64) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(off, 4)?.try_into().ok()?))
    }
    fn u64(&self, off: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(off, 8)?.try_into().ok()?))
    }

    pub fn parse(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 64 || &data[..4] != b"\x7fELF" {
            return Err("not an ELF file".into());
        }
        if data[4] != 2 || data[5] != 1 {
            return Err("not a 64-bit little-endian ELF file".into());
        }
        Ok(Elf { data })
    }

    /// Every section header.
    pub fn sections(&self) -> Option<Vec<Section<'a>>> {
        let shoff = self.u64(0x28)?;
        let shentsize = u64::from(self.u16(0x3a)?);
        let shnum = u64::from(self.u16(0x3c)?);
        let shstrndx = u64::from(self.u16(0x3e)?);
        if shoff == 0 || shnum == 0 {
            return Some(Vec::new());
        }
        let sh = |i: u64| shoff + i * shentsize;
        let strtab = self.u64(sh(shstrndx) + 24)?;
        let strsize = self.u64(sh(shstrndx) + 32)?;
        let names = self.bytes(strtab, strsize)?;
        (0..shnum)
            .map(|i| {
                let h = sh(i);
                let name_off = usize::try_from(self.u32(h)?).ok()?;
                let rest = names.get(name_off..)?;
                let name = &rest[..rest.iter().position(|&c| c == 0)?];
                Some(Section {
                    name,
                    sh_type: self.u32(h + 4)?,
                    addr: self.u64(h + 16)?,
                    offset: self.u64(h + 24)?,
                    size: self.u64(h + 32)?,
                    link: self.u32(h + 40)?,
                })
            })
            .collect()
    }

    /// The PT_LOAD segments.
    pub fn segments(&self) -> Option<Vec<Segment>> {
        let phoff = self.u64(0x20)?;
        let phentsize = u64::from(self.u16(0x36)?);
        let phnum = u64::from(self.u16(0x38)?);
        let mut v = Vec::new();
        for i in 0..phnum {
            let h = phoff + i * phentsize;
            if self.u32(h)? != 1 {
                continue; // PT_LOAD only
            }
            v.push(Segment {
                exec: self.u32(h + 4)? & 1 != 0, // PF_X
                offset: self.u64(h + 8)?,
                vaddr: self.u64(h + 16)?,
                memsz: self.u64(h + 40)?,
            });
        }
        Some(v)
    }
}

/// `SHT_SYMTAB`, `SHT_DYNSYM`.
const SHT_SYMTAB: u32 = 2;
const SHT_DYNSYM: u32 = 11;
/// `STT_FUNC`, `STT_GNU_IFUNC`.
const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;

impl Elf<'_> {
    /// The value (virtual address) of the defined function symbol `name`, searched in `.symtab`
    /// then `.dynsym`. `Ok(None)` when neither has it.
    pub fn function_symbol(&self, name: &str) -> Result<Option<u64>, String> {
        let sections = self.sections().ok_or("malformed section headers")?;
        for kind in [SHT_SYMTAB, SHT_DYNSYM] {
            for s in sections.iter().filter(|s| s.sh_type == kind) {
                let strtab = sections
                    .get(s.link as usize)
                    .ok_or("symbol table with a bad string table link")?;
                let names = self
                    .bytes(strtab.offset, strtab.size)
                    .ok_or("string table out of the file")?;
                let syms = self
                    .bytes(s.offset, s.size)
                    .ok_or("symbol table out of the file")?;
                for sym in syms.chunks_exact(24) {
                    let name_off = u32::from_le_bytes(sym[0..4].try_into().unwrap()) as usize;
                    let info = sym[4];
                    let shndx = u16::from_le_bytes(sym[6..8].try_into().unwrap());
                    let value = u64::from_le_bytes(sym[8..16].try_into().unwrap());
                    let ty = info & 0xf;
                    if shndx == 0 || (ty != STT_FUNC && ty != STT_GNU_IFUNC) {
                        continue;
                    }
                    let Some(rest) = names.get(name_off..) else {
                        continue;
                    };
                    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                    // `.symtab` may carry versioned names (`memcpy@@GLIBC_2.14`).
                    let sym_name = &rest[..end];
                    let base = sym_name
                        .iter()
                        .position(|&c| c == b'@')
                        .map_or(sym_name, |i| &sym_name[..i]);
                    if base == name.as_bytes() {
                        return Ok(Some(value));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The file offset of virtual address `addr`, through the executable `PT_LOAD` segment
    /// holding it.
    pub fn exec_addr_to_offset(&self, addr: u64) -> Result<u64, String> {
        let segs = self.segments().ok_or("malformed program headers")?;
        let seg = segs
            .iter()
            .find(|s| s.exec && s.vaddr <= addr && addr < s.vaddr.wrapping_add(s.memsz))
            .ok_or_else(|| format!("address {addr:#x} is in no executable segment"))?;
        Ok(addr - seg.vaddr + seg.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_function_of_this_test_binary() {
        let data = std::fs::read("/proc/self/exe").unwrap();
        let elf = Elf::parse(&data).unwrap();
        let addr = elf.function_symbol("main").unwrap().expect("main");
        let off = elf.exec_addr_to_offset(addr).unwrap();
        assert!(off > 0 && (off as usize) < data.len());
        assert_eq!(elf.function_symbol("no_such_function_xyz").unwrap(), None);
    }
}
