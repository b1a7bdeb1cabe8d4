//! Test-only builders of small BPF objects in memory: an ELF relocatable object (sections,
//! symbol table, string tables, `.rel` sections) and the `.BTF` that describes it. Unit tests
//! of the plan, externs, programs and struct_ops build exactly the object a case needs here,
//! instead of depending on what clang happens to emit.

use object::elf;

/// One `struct bpf_insn`, from its fields.
pub(crate) fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[0] = code;
    out[1] = (src << 4) | (dst & 0x0f);
    out[2..4].copy_from_slice(&off.to_le_bytes());
    out[4..8].copy_from_slice(&imm.to_le_bytes());
    out
}

/// `r0 = 0; exit`: the smallest program the kernel accepts.
pub(crate) fn ret0() -> Vec<[u8; 8]> {
    vec![insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]
}

/// `call` with `src` (0 helper, 1 pseudo call) and `imm`.
pub(crate) fn call(src: u8, imm: i32) -> [u8; 8] {
    insn(0x85, 0, src, 0, imm)
}

/// The two halves of `r1 = imm64`, the instruction map and extern references relocate.
pub(crate) fn ld_imm64() -> [[u8; 8]; 2] {
    [insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0)]
}

struct Sec {
    name: String,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    /// For NOBITS, the size; else `data.len()`.
    size: u64,
    /// (offset, symbol index, `R_BPF_*`)
    rels: Vec<(u64, usize, u32)>,
}

struct Sym {
    name: String,
    value: u64,
    size: u64,
    shndx: u16,
    info: u8,
    other: u8,
}

/// An ELF object under construction. Section and symbol indexes it returns are final:
/// sections are 1.. in the order added, symbols 1.. likewise (0 is the null entry).
pub(crate) struct ElfBuilder {
    secs: Vec<Sec>,
    syms: Vec<Sym>,
}

/// `R_BPF_64_64`: a 64-bit immediate load of a map or global.
pub(crate) const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: a data pointer (struct_ops members, `.values`).
pub(crate) const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_32`: a call.
pub(crate) const R_BPF_64_32: u32 = 10;

impl ElfBuilder {
    pub(crate) fn new() -> ElfBuilder {
        ElfBuilder {
            secs: Vec::new(),
            syms: Vec::new(),
        }
    }

    /// Adds a section; returns its ELF index.
    pub(crate) fn section(&mut self, name: &str, sh_type: u32, flags: u64, data: &[u8]) -> u16 {
        self.secs.push(Sec {
            name: name.into(),
            sh_type,
            flags,
            data: data.to_vec(),
            size: data.len() as u64,
            rels: Vec::new(),
        });
        self.secs.len() as u16
    }

    /// A code section holding `insns`.
    pub(crate) fn code(&mut self, name: &str, insns: &[[u8; 8]]) -> u16 {
        let flags = u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR);
        self.section(name, elf::SHT_PROGBITS, flags, &insns.concat())
    }

    /// A writable (`.data`, `.maps`, `.struct_ops`) or read-only (`.rodata`, `license`)
    /// data section.
    pub(crate) fn data(&mut self, name: &str, bytes: &[u8], writable: bool) -> u16 {
        let w = if writable { elf::SHF_WRITE } else { 0 };
        self.section(
            name,
            elf::SHT_PROGBITS,
            u64::from(elf::SHF_ALLOC | w),
            bytes,
        )
    }

    /// A zero-filled NOBITS section (`.bss`) of `size` bytes.
    pub(crate) fn bss(&mut self, name: &str, size: u64) -> u16 {
        let flags = u64::from(elf::SHF_ALLOC | elf::SHF_WRITE);
        let i = self.section(name, elf::SHT_NOBITS, flags, &[]);
        self.secs[usize::from(i) - 1].size = size;
        i
    }

    /// The `license` section, NUL-terminated.
    pub(crate) fn license(&mut self, text: &str) -> u16 {
        self.data("license", format!("{text}\0").as_bytes(), true)
    }

    /// Adds a symbol; returns its index.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn symbol(
        &mut self,
        name: &str,
        shndx: u16,
        value: u64,
        size: u64,
        bind: u8,
        kind: u8,
        visibility: u8,
    ) -> usize {
        self.syms.push(Sym {
            name: name.into(),
            value,
            size,
            shndx,
            info: (bind << 4) | kind,
            other: visibility,
        });
        self.syms.len()
    }

    /// A global function of `len` instructions starting at instruction `start` of `shndx`.
    pub(crate) fn func(&mut self, name: &str, shndx: u16, start: u64, len: u64) -> usize {
        let (b, k, v) = (elf::STB_GLOBAL, elf::STT_FUNC, elf::STV_DEFAULT);
        self.symbol(name, shndx, start * 8, len * 8, b, k, v)
    }

    /// A global object (map, variable) of `size` bytes at `value` in `shndx`.
    pub(crate) fn object(&mut self, name: &str, shndx: u16, value: u64, size: u64) -> usize {
        let (b, k, v) = (elf::STB_GLOBAL, elf::STT_OBJECT, elf::STV_DEFAULT);
        self.symbol(name, shndx, value, size, b, k, v)
    }

    /// An undefined (extern) symbol, `__weak` when `weak`.
    pub(crate) fn undefined(&mut self, name: &str, weak: bool) -> usize {
        let bind = if weak { elf::STB_WEAK } else { elf::STB_GLOBAL };
        self.symbol(name, 0, 0, 0, bind, elf::STT_NOTYPE, elf::STV_DEFAULT)
    }

    /// A relocation of section `target` at byte `offset` against symbol `sym`.
    pub(crate) fn rel(&mut self, target: u16, offset: u64, sym: usize, r_type: u32) {
        self.secs[usize::from(target) - 1]
            .rels
            .push((offset, sym, r_type));
    }

    /// The object's bytes: header, section contents, then the section header table.
    pub(crate) fn build(self) -> Vec<u8> {
        let rel_count = self.secs.iter().filter(|s| !s.rels.is_empty()).count();
        let symtab_index = (self.secs.len() + rel_count + 1) as u32;
        let mut out: Vec<Header> = (self.secs.iter())
            .map(|s| Header::new(&s.name, s.sh_type, s.flags, s.data.clone(), s.size))
            .collect();
        for (i, s) in self.secs.iter().enumerate() {
            if s.rels.is_empty() {
                continue;
            }
            let mut bytes = Vec::new();
            for &(off, sym, ty) in &s.rels {
                bytes.extend_from_slice(&off.to_le_bytes());
                bytes.extend_from_slice(&(((sym as u64) << 32) | u64::from(ty)).to_le_bytes());
            }
            let name = format!(".rel{}", s.name);
            let size = bytes.len() as u64;
            let mut h = Header::new(&name, elf::SHT_REL, 0, bytes, size);
            (h.link, h.info, h.entsize) = (symtab_index, i as u32 + 1, 16);
            out.push(h);
        }
        let (symtab, strtab) = self.symbol_table();
        let size = symtab.len() as u64;
        let mut h = Header::new(".symtab", elf::SHT_SYMTAB, 0, symtab, size);
        // sh_info of a symbol table: one past the last local symbol, which come first.
        let locals = 1
            + (self.syms.iter())
                .take_while(|s| s.info >> 4 == elf::STB_LOCAL)
                .count();
        (h.link, h.info, h.entsize) = (symtab_index + 1, locals as u32, 24);
        out.push(h);
        let size = strtab.len() as u64;
        out.push(Header::new(".strtab", elf::SHT_STRTAB, 0, strtab, size));
        layout(out)
    }

    /// `.symtab` (null entry first) and its `.strtab`.
    fn symbol_table(&self) -> (Vec<u8>, Vec<u8>) {
        let mut strtab = Strings::new();
        let mut symtab = vec![0u8; 24];
        for s in &self.syms {
            symtab.extend_from_slice(&strtab.add(&s.name).to_le_bytes());
            symtab.extend_from_slice(&[s.info, s.other]);
            symtab.extend_from_slice(&s.shndx.to_le_bytes());
            symtab.extend_from_slice(&s.value.to_le_bytes());
            symtab.extend_from_slice(&s.size.to_le_bytes());
        }
        (symtab, strtab.0)
    }
}

/// One section as written: an `Elf64_Shdr` and its contents.
struct Header {
    name: String,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

impl Header {
    fn new(name: &str, sh_type: u32, flags: u64, data: Vec<u8>, size: u64) -> Header {
        let (link, info, entsize) = (0, 0, 0);
        let name = name.to_string();
        Header {
            name,
            sh_type,
            flags,
            data,
            size,
            link,
            info,
            entsize,
        }
    }
}

/// Lays out the ELF header, every section's contents (8-aligned), a `.shstrtab` last, then
/// the section header table.
fn layout(mut sections: Vec<Header>) -> Vec<u8> {
    let mut shstr = Strings::new();
    let names: Vec<u32> = sections.iter().map(|h| shstr.add(&h.name)).collect();
    let names = [names, vec![shstr.add(".shstrtab")]].concat();
    let size = shstr.0.len() as u64;
    sections.push(Header::new(".shstrtab", elf::SHT_STRTAB, 0, shstr.0, size));
    let mut out = vec![0u8; 64];
    let mut table = vec![0u8; 64]; // the null section header
    for (h, name) in sections.iter().zip(names) {
        out.resize(out.len().next_multiple_of(8), 0);
        let offset = out.len() as u64;
        out.extend_from_slice(&h.data);
        table.extend_from_slice(&name.to_le_bytes());
        table.extend_from_slice(&h.sh_type.to_le_bytes());
        for w in [h.flags, 0, offset, h.size] {
            table.extend_from_slice(&w.to_le_bytes());
        }
        table.extend_from_slice(&h.link.to_le_bytes());
        table.extend_from_slice(&h.info.to_le_bytes());
        table.extend_from_slice(&8u64.to_le_bytes()); // sh_addralign
        table.extend_from_slice(&h.entsize.to_le_bytes());
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    let shnum = (table.len() / 64) as u16;
    out.extend_from_slice(&table);
    write_header(&mut out[..64], shoff, shnum);
    out
}

/// The 64-byte ELF header of a little-endian EM_BPF relocatable object; the last section
/// is the section name table.
fn write_header(h: &mut [u8], shoff: u64, shnum: u16) {
    h[..4].copy_from_slice(&elf::ELFMAG);
    h[4] = elf::ELFCLASS64;
    h[5] = elf::ELFDATA2LSB;
    h[6] = elf::EV_CURRENT;
    h[16..18].copy_from_slice(&elf::ET_REL.to_le_bytes());
    h[18..20].copy_from_slice(&elf::EM_BPF.to_le_bytes());
    h[20..24].copy_from_slice(&u32::from(elf::EV_CURRENT).to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
}

/// A string table: starts with the empty string.
struct Strings(Vec<u8>);

impl Strings {
    fn new() -> Strings {
        Strings(vec![0])
    }
    fn add(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        off
    }
}

/// `.BTF` under construction; every method returns the new type's id (1, 2, ...).
pub(crate) struct BtfBuilder {
    words: Vec<u32>,
    strings: Strings,
    count: u32,
}

/// `BTF_INT_SIGNED`
pub(crate) const INT_SIGNED: u32 = 1;
/// `BTF_INT_BOOL`
pub(crate) const INT_BOOL: u32 = 4;

impl BtfBuilder {
    pub(crate) fn new() -> BtfBuilder {
        BtfBuilder {
            words: Vec::new(),
            strings: Strings::new(),
            count: 0,
        }
    }

    fn add(&mut self, name: &str, kind: u32, vlen: usize, size_or_type: u32, extra: &[u32]) -> u32 {
        let name = self.strings.add(name);
        self.words
            .extend([name, (kind << 24) | vlen as u32, size_or_type]);
        self.words.extend_from_slice(extra);
        self.count += 1;
        self.count
    }

    /// An integer of `size` bytes; `encoding` is 0, [`INT_SIGNED`] or [`INT_BOOL`].
    pub(crate) fn int(&mut self, name: &str, size: u32, encoding: u32) -> u32 {
        self.add(
            name,
            crate::btf::kind::INT,
            0,
            size,
            &[(encoding << 24) | (size * 8)],
        )
    }

    pub(crate) fn ptr(&mut self, to: u32) -> u32 {
        self.add("", crate::btf::kind::PTR, 0, to, &[])
    }

    pub(crate) fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.add("", crate::btf::kind::ARRAY, 0, 0, &[elem, index, n])
    }

    /// A struct of `size` bytes with members (name, type, bit offset).
    pub(crate) fn structure(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let mut extra = Vec::new();
        for &(m, ty, bits) in members {
            extra.extend([self.strings.add(m), ty, bits]);
        }
        self.add(name, crate::btf::kind::STRUCT, members.len(), size, &extra)
    }

    /// An enum of `size` bytes with (name, value) entries.
    pub(crate) fn enumeration(&mut self, name: &str, size: u32, values: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for &(v, val) in values {
            extra.extend([self.strings.add(v), val]);
        }
        self.add(name, crate::btf::kind::ENUM, values.len(), size, &extra)
    }

    /// A VAR with `linkage` (`BTF_VAR_*`).
    pub(crate) fn var(&mut self, name: &str, ty: u32, linkage: u32) -> u32 {
        self.add(name, crate::btf::kind::VAR, 0, ty, &[linkage])
    }

    /// A DATASEC of `size` bytes with (var, offset, size) entries.
    pub(crate) fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let extra: Vec<u32> = vars.iter().flat_map(|&(v, o, s)| [v, o, s]).collect();
        self.add(name, crate::btf::kind::DATASEC, vars.len(), size, &extra)
    }

    /// A FUNC_PROTO returning `ret` with (name, type) parameters.
    pub(crate) fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for &(p, ty) in params {
            extra.extend([self.strings.add(p), ty]);
        }
        self.add("", crate::btf::kind::FUNC_PROTO, params.len(), ret, &extra)
    }

    /// A FUNC of prototype `proto` with `linkage` (`BTF_FUNC_*`, in vlen).
    pub(crate) fn func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.add(name, crate::btf::kind::FUNC, linkage as usize, proto, &[])
    }

    /// A `.maps` map definition struct: `__uint(field, n)` members for `uints` (each a
    /// pointer to `int[n]`), then `__type(field, ty)` members for `types`. `int` is the id
    /// of a 4-byte int.
    pub(crate) fn map_def(
        &mut self,
        int: u32,
        uints: &[(&str, u32)],
        types: &[(&str, u32)],
    ) -> u32 {
        let mut members = Vec::new();
        for &(field, n) in uints {
            let arr = self.array(int, int, n);
            members.push((field, self.ptr(arr)));
        }
        for &(field, ty) in types {
            members.push((field, self.ptr(ty)));
        }
        let laid: Vec<(&str, u32, u32)> = (members.iter().enumerate())
            .map(|(i, &(f, t))| (f, t, i as u32 * 64))
            .collect();
        self.structure("", 8 * laid.len() as u32, &laid)
    }

    /// The `.BTF` bytes: header, types, strings.
    pub(crate) fn build(&self) -> Vec<u8> {
        let types: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = vec![0x9f, 0xeb, 1, 0];
        let lens = [
            24,
            0,
            types.len() as u32,
            types.len() as u32,
            self.strings.0.len() as u32,
        ];
        for w in lens {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend(types);
        out.extend_from_slice(&self.strings.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{kind, Btf};
    use crate::elf::ElfObject;

    #[test]
    fn what_the_builders_write_is_what_the_parsers_read() {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, INT_SIGNED);
        let def = b.map_def(int, &[("type", 2), ("max_entries", 8)], &[("key", int)]);
        let var = b.var("m", def, 1);
        let sec = b.datasec(".maps", 24, &[(var, 0, 24)]);
        let btf = Btf::parse(&b.build()).unwrap();
        assert_eq!(btf.find(".maps", kind::DATASEC), Some(sec));
        assert_eq!(btf.size_of(def).unwrap(), 24);
        assert_eq!(btf.type_name(var).unwrap(), "m");

        let mut e = ElfBuilder::new();
        let prog = e.code("xdp", &ret0());
        let maps = e.data(".maps", &[0; 24], true);
        let bss = e.bss(".bss", 16);
        e.license("GPL");
        let f = e.func("f", prog, 0, 2);
        let m = e.object("m", maps, 0, 24);
        let ext = e.undefined("x", true);
        e.rel(prog, 0, m, R_BPF_64_64);
        let bytes = e.build();
        let obj = ElfObject::parse(&bytes).unwrap();
        assert_eq!(obj.section_name(prog.into()), "xdp");
        assert!(obj.sections[usize::from(prog)].is_code());
        assert_eq!(obj.sections[usize::from(prog)].data, &ret0().concat()[..]);
        assert_eq!(obj.sections[usize::from(bss)].size, 16);
        assert_eq!(obj.license.as_deref(), Some("GPL"));
        let s = &obj.symbols[f];
        assert_eq!(
            (s.name.as_str(), s.value, s.size, s.shndx),
            ("f", 0, 16, prog)
        );
        assert!(s.is_func());
        assert_eq!(obj.symbols[ext].bind, elf::STB_WEAK);
        assert_eq!(obj.symbols[ext].shndx, 0);
        let r = obj.sections[usize::from(prog)].relocs[0];
        assert_eq!((r.offset, r.sym, r.r_type), (0, m, R_BPF_64_64));
    }
}
