//! Extern symbols: kfuncs and ksyms (`.ksyms`, resolved by the loader in the kernel) and
//! `.kconfig` values (computed by the runtime at load time). Also the BTF rewrite the kernel
//! needs for them: extern VARs become allocated 4-byte placeholders, extern FUNCs in `.ksyms`
//! are replaced by a dummy VAR, and `.kconfig` VARs get their offsets in the `.kconfig` map.

use crate::btf::{enter, kind, Btf};
use crate::diag::Diag;
use crate::elf::{ElfObject, Symbol};
use crate::error::{btf_err, Error, Result};

use crate::abi::btf::func_linkage::{EXTERN as FUNC_EXTERN, GLOBAL as FUNC_GLOBAL};
use crate::abi::btf::var_linkage::{
    GLOBAL_ALLOCATED as VAR_GLOBAL_ALLOCATED, GLOBAL_EXTERN as VAR_GLOBAL_EXTERN,
};

/// How a `.kconfig` extern is stored (libbpf's kcfg types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KconfigType {
    /// `bool`
    Bool,
    /// `enum libbpf_tristate`
    Tristate,
    /// `char`
    Char,
    /// An integer of `size` bytes.
    Int {
        /// Bytes: 2, 4 or 8.
        size: u32,
        /// Signedness.
        signed: bool,
    },
    /// `char name[len]`
    Str {
        /// Array length.
        len: u32,
    },
}

/// What kind of extern a symbol is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A kernel function called from BPF (`.ksyms` FUNC used by a call).
    Kfunc,
    /// A `.ksyms` symbol with a BTF type: resolved to a BTF id of kind VAR or FUNC.
    TypedKsym {
        /// `BTF_KIND_VAR` or `BTF_KIND_FUNC`.
        btf_kind: u32,
    },
    /// A `.ksyms` symbol declared `void`: resolved to its address by kallsyms.
    TypelessKsym,
    /// A `.kconfig` value at `offset` in the `.kconfig` map.
    Kconfig {
        /// Offset in the `.kconfig` map value.
        offset: u32,
        /// Storage type.
        ty: KconfigType,
    },
}

/// One extern of the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extern {
    /// The symbol name (as the kernel knows it).
    pub name: String,
    /// Declared `__weak`: absent is not an error.
    pub weak: bool,
    /// What it is.
    pub kind: ExternKind,
    /// ELF symbol index, to match relocations.
    pub sym: usize,
}

/// All externs, and the size of the `.kconfig` map (0 when there is none).
#[derive(Clone, Debug, Default)]
pub struct Externs {
    /// In libbpf's order: by kind, kconfig ones by (alignment desc, size, name), others by name.
    pub list: Vec<Extern>,
    /// Size of the `.kconfig` map value.
    pub kconfig_size: u32,
}

impl Externs {
    /// The extern for ELF symbol `sym`.
    pub fn by_sym(&self, sym: usize) -> Option<&Extern> {
        self.list.iter().find(|e| e.sym == sym)
    }
}

/// The name without a `___suffix` "flavor" (libbpf's `bpf_core_essential_name_len`).
fn essential_name(name: &str) -> &str {
    match name.find("___") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Collects externs and rewrites their BTF as the kernel needs it. Each extern is checked on
/// its own, so the error names every bad one.
pub fn collect(obj: &ElfObject<'_>, btf: &mut Btf) -> Result<Externs> {
    let mut list = Vec::new();
    let mut kcfg_layout = Vec::new();
    let mut diag = Diag::new();
    for (sym_idx, sym) in obj.symbols.iter().enumerate() {
        let is_extern = sym.shndx == 0
            && (sym.bind == object::elf::STB_GLOBAL || sym.bind == object::elf::STB_WEAK)
            && sym.kind == object::elf::STT_NOTYPE;
        if !is_extern || sym.name.is_empty() {
            continue;
        }
        let at = list.len();
        match extern_kind(btf, sym) {
            Ok((kind, layout)) => {
                if let Some((align, size)) = layout {
                    kcfg_layout.push((at, align, size));
                }
                list.push(Extern {
                    name: essential_name(&sym.name).to_string(),
                    weak: sym.bind == object::elf::STB_WEAK,
                    kind,
                    sym: sym_idx,
                });
            }
            Err(e) => diag.push(e),
        }
    }
    diag.finish()?;
    // .kconfig layout: by alignment (descending), size, then name, as libbpf lays it out.
    kcfg_layout.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.2.cmp(&b.2))
            .then(list[a.0].name.cmp(&list[b.0].name))
    });
    let mut off = 0u32;
    for &(i, align, size) in &kcfg_layout {
        off = off.next_multiple_of(align.max(1));
        if let ExternKind::Kconfig { offset, .. } = &mut list[i].kind {
            *offset = off;
        }
        off += size;
        if u64::from(off) > crate::maps::MAX_DATA_SECTION {
            return Err(Error::Limit {
                what: format!(
                    ".kconfig externs need {off} bytes; the .kconfig map holds at most {}",
                    crate::maps::MAX_DATA_SECTION
                ),
            });
        }
    }
    rewrite_btf(btf, &list, off)?;
    list.sort_by(|a, b| {
        kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then(a.name.cmp(&b.name))
    });
    Ok(Externs {
        list,
        kconfig_size: off,
    })
}

/// What the undefined symbol `sym` is, and for a `.kconfig` value its (alignment, size).
fn extern_kind(btf: &Btf, sym: &Symbol) -> Result<(ExternKind, Option<(u32, u32)>)> {
    let btf_id = find_extern_btf(btf, &sym.name)?;
    let sec = find_extern_section(btf, btf_id).ok_or_else(|| {
        Error::Extern {
            name: sym.name.clone(),
            what: "it is neither a kernel symbol nor a kernel config value; lskel resolves only `extern ... __ksym` (kfuncs, kernel variables) and `extern ... __kconfig` (CONFIG_*, LINUX_*): define it in the object or declare it as one of those".into(),
        }
    })?;
    let sec_name = btf.type_name(sec)?.to_string();
    let t = btf.get(btf_id)?.clone();
    Ok(match sec_name.as_str() {
        ".kconfig" => {
            if t.kind() == kind::FUNC {
                return Err(Error::Unsupported {
                    what: format!("extern function `{}` in .kconfig", sym.name),
                    why: ".kconfig holds values only".into(),
                });
            }
            let ty = kconfig_type(btf, t.size_or_type)?.ok_or_else(|| Error::Unsupported {
                what: format!(".kconfig extern `{}`'s type", sym.name),
                why: "use bool, char, a 1/2/4/8-byte integer, enum libbpf_tristate or a char array"
                    .into(),
            })?;
            let size = btf.size_of(t.size_or_type)?;
            if size > crate::maps::MAX_DATA_SECTION {
                return Err(Error::Limit {
                    what: format!(
                        ".kconfig extern `{}` is {size} bytes; the .kconfig map holds at most {}",
                        sym.name,
                        crate::maps::MAX_DATA_SECTION
                    ),
                });
            }
            let size = size as u32;
            let align = btf.align_of(t.size_or_type)? as u32;
            (ExternKind::Kconfig { offset: 0, ty }, Some((align, size)))
        }
        ".ksyms" => {
            let kind = if t.kind() == kind::FUNC {
                // A call makes it a kfunc; an address load (bpf_ksym_exists) a typed ksym.
                ExternKind::Kfunc
            } else if btf.skip_mods_and_typedefs(t.size_or_type)? == 0 {
                ExternKind::TypelessKsym
            } else {
                ExternKind::TypedKsym {
                    btf_kind: kind::VAR,
                }
            };
            (kind, None)
        }
        other => {
            return Err(Error::Unsupported {
                what: format!("extern `{}` in section `{other}`", sym.name),
                why: "externs must be __ksym or __kconfig".into(),
            })
        }
    })
}

fn kind_rank(k: &ExternKind) -> u8 {
    match k {
        ExternKind::Kconfig { .. } => 0,
        _ => 1,
    }
}

/// The extern VAR or FUNC named `name` (it must have extern linkage).
fn find_extern_btf(btf: &Btf, name: &str) -> Result<u32> {
    for id in btf.ids() {
        let t = btf.get(id)?;
        if (t.kind() != kind::VAR && t.kind() != kind::FUNC) || btf.name(t.name_off)? != name {
            continue;
        }
        let extern_linkage = match t.kind() {
            kind::VAR => t.extra.first() == Some(&VAR_GLOBAL_EXTERN),
            _ => t.vlen() as u32 == FUNC_EXTERN,
        };
        if !extern_linkage {
            return Err(btf_err(format!(
                "`{name}` is undefined in the ELF symbol table but its BTF [{id}] is not extern"
            )));
        }
        return Ok(id);
    }
    Err(Error::Extern {
        name: name.into(),
        what: "undefined, and the object's BTF does not describe it; declare it with __ksym or __kconfig in a `clang -g` build".into(),
    })
}

fn find_extern_section(btf: &Btf, id: u32) -> Option<u32> {
    btf.ids().find(|&s| {
        btf.get(s)
            .is_ok_and(|t| t.kind() == kind::DATASEC && t.secinfos().any(|(v, _, _)| v == id))
    })
}

/// The kconfig value type of BTF type `id`, `None` when `.kconfig` cannot hold it. Broken
/// BTF (a typedef loop, an array of itself) is an error.
fn kconfig_type(btf: &Btf, id: u32) -> Result<Option<KconfigType>> {
    kconfig_type_in(btf, id, &mut Vec::new())
}

/// `path`: the arrays being walked, outermost first.
fn kconfig_type_in(btf: &Btf, id: u32, path: &mut Vec<u32>) -> Result<Option<KconfigType>> {
    let id = btf.skip_mods_and_typedefs(id)?;
    let t = btf.get(id)?;
    Ok(match t.kind() {
        kind::INT => {
            let enc = lskel_abi::btf::bits::int_encoding(t.extra.first().copied().unwrap_or(0));
            let size = t.size_or_type;
            if enc & lskel_abi::btf::bits::INT_BOOL != 0 {
                return Ok((size == 1).then_some(KconfigType::Bool));
            }
            if size == 1 {
                return Ok(Some(KconfigType::Char));
            }
            (matches!(size, 2 | 4 | 8)).then_some(KconfigType::Int {
                size,
                signed: enc & lskel_abi::btf::bits::INT_SIGNED != 0,
            })
        }
        kind::ENUM | kind::ENUM64 => (btf.name(t.name_off)? == "libbpf_tristate"
            && (t.kind() == kind::ENUM64 || t.size_or_type == 4))
            .then_some(KconfigType::Tristate),
        kind::ARRAY => {
            let Some((elem, _, n)) = t.array() else {
                return Ok(None);
            };
            enter(btf, path, id)?;
            let elem = kconfig_type_in(btf, elem, path)?;
            path.pop();
            (n > 0 && elem == Some(KconfigType::Char)).then_some(KconfigType::Str { len: n })
        }
        _ => None,
    })
}

/// The BTF the kernel accepts for extern sections (libbpf's rewrite, step for step).
fn rewrite_btf(btf: &mut Btf, list: &[Extern], kconfig_size: u32) -> Result<()> {
    let int_id = btf
        .ids()
        .find(|&id| {
            btf.get(id).is_ok_and(|t| {
                t.kind() == kind::INT
                    && t.extra
                        .first()
                        .is_some_and(|&e| lskel_abi::btf::bits::int_bits(e) == 32)
            })
        })
        .unwrap_or(0);
    if let Some(ksyms) = btf.find(".ksyms", kind::DATASEC) {
        let has_func = btf
            .get(ksyms)?
            .secinfos()
            .any(|(v, _, _)| btf.get(v).is_ok_and(|t| t.kind() == kind::FUNC));
        let dummy = if has_func {
            Some(btf.add_var("dummy_ksym", VAR_GLOBAL_ALLOCATED, int_id))
        } else {
            None
        };
        let entries: Vec<(u32, u32, u32)> = btf.get(ksyms)?.secinfos().collect();
        let mut off = 0;
        for (i, (var, _, _)) in entries.into_iter().enumerate() {
            let t = btf.get(var)?.clone();
            let name = btf.name(t.name_off)?.to_string();
            if !list.iter().any(|e| e.name == essential_name(&name)) {
                return Err(btf_err(format!(
                    ".ksyms entry `{name}` has no ELF extern symbol"
                )));
            }
            let mut new_type = var;
            if t.kind() == kind::FUNC {
                let dummy = dummy.unwrap_or(0);
                let dummy_name = btf.get(dummy)?.name_off;
                let proto = btf.get_mut(t.size_or_type)?;
                if proto.kind() == kind::FUNC_PROTO {
                    for pair in proto.extra.chunks_exact_mut(2) {
                        if pair[1] != 0 && pair[0] == 0 {
                            pair[0] = dummy_name;
                        }
                    }
                }
                let f = btf.get_mut(var)?;
                f.info = (f.info & !lskel_abi::btf::bits::VLEN_MASK) | FUNC_GLOBAL;
                new_type = dummy;
            } else {
                let v = btf.get_mut(var)?;
                v.extra[0] = VAR_GLOBAL_ALLOCATED;
                v.size_or_type = int_id;
            }
            let sec = btf.get_mut(ksyms)?;
            sec.extra[3 * i] = new_type;
            sec.extra[3 * i + 1] = off;
            sec.extra[3 * i + 2] = 4;
            off += 4;
        }
        btf.get_mut(ksyms)?.size_or_type = off;
    }
    if let Some(kcfg) = btf.find(".kconfig", kind::DATASEC) {
        let entries: Vec<(u32, u32, u32)> = btf.get(kcfg)?.secinfos().collect();
        for (i, (var, _, _)) in entries.into_iter().enumerate() {
            let name = btf.type_name(var)?.to_string();
            let offset = list
                .iter()
                .find_map(|e| match e.kind {
                    ExternKind::Kconfig { offset, .. } if e.name == essential_name(&name) => {
                        Some(offset)
                    }
                    _ => None,
                })
                .ok_or_else(|| {
                    btf_err(format!(".kconfig entry `{name}` has no ELF extern symbol"))
                })?;
            btf.get_mut(var)?.extra[0] = VAR_GLOBAL_ALLOCATED;
            btf.get_mut(kcfg)?.extra[3 * i + 1] = offset;
        }
        btf.get_mut(kcfg)?.size_or_type = kconfig_size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::tests::raw_btf;

    #[test]
    fn a_kconfig_array_of_itself_is_an_error() {
        // [1] char; [2] char[16]; [3] an array of itself; [4] typedef "t" -> [5] const -> [4].
        let info = |kind: u32| lskel_abi::btf::bits::info(kind, 0);
        let btf = Btf::parse(&raw_btf(
            &[
                (
                    1,
                    info(kind::INT),
                    1,
                    vec![
                        (lskel_abi::btf::bits::INT_SIGNED
                            << lskel_abi::btf::bits::INT_ENCODING_SHIFT)
                            | 8,
                    ],
                ),
                (0, info(kind::ARRAY), 0, vec![1, 1, 16]),
                (0, info(kind::ARRAY), 0, vec![3, 1, 16]),
                (6, info(kind::TYPEDEF), 5, vec![]),
                (0, info(kind::CONST), 4, vec![]),
            ],
            b"\0char\0t\0",
        ))
        .unwrap();
        assert_eq!(
            kconfig_type(&btf, 2).unwrap(),
            Some(KconfigType::Str { len: 16 })
        );
        let e = kconfig_type(&btf, 3).unwrap_err().to_string();
        assert!(
            e.contains("type [3] (ARRAY `<anon>`) refers to itself"),
            "{e}"
        );
        let e = kconfig_type(&btf, 4).unwrap_err().to_string();
        assert!(e.contains("refers to itself"), "{e}");
    }

    use crate::testobj::{call, ld_imm64, ret0, BtfBuilder, ElfBuilder, R_BPF_64_32, R_BPF_64_64};
    use crate::testobj::{INT_BOOL, INT_SIGNED};

    /// BTF of the extern declarations every test here starts from: a kfunc, a typed ksym
    /// (with a `___flavor`), a typeless ksym, and five `.kconfig` values of each storage type.
    fn extern_btf() -> BtfBuilder {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, INT_SIGNED);
        let u64_ = b.int("unsigned long long", 8, 0);
        let boolean = b.int("_Bool", 1, INT_BOOL);
        let char_ = b.int("char", 1, INT_SIGNED);
        let tri = b.enumeration("libbpf_tristate", 4, &[("TRI_NO", 0), ("TRI_YES", 1)]);
        let str8 = b.array(char_, int, 8);
        let proto = b.func_proto(int, &[("x", int)]);
        let kfunc = b.func("bpf_kfunc", proto, FUNC_EXTERN);
        let typed = b.var("typed___2", int, VAR_GLOBAL_EXTERN);
        let typeless = b.var("typeless", 0, VAR_GLOBAL_EXTERN);
        b.datasec(
            ".ksyms",
            0,
            &[(kfunc, 0, 0), (typed, 0, 0), (typeless, 0, 0)],
        );
        let mut kcfg = Vec::new();
        for (name, ty) in [
            ("CONFIG_HZ", int),
            ("CONFIG_BPF", boolean),
            ("LINUX_KERNEL_VERSION", u64_),
            ("CONFIG_STR", str8),
            ("CONFIG_TRI", tri),
        ] {
            kcfg.push((b.var(name, ty, VAR_GLOBAL_EXTERN), 0, 0));
        }
        b.datasec(".kconfig", 0, &kcfg);
        b
    }

    const WEAK: [&str; 2] = ["typeless", "CONFIG_BPF"];
    const NAMES: [&str; 8] = [
        "bpf_kfunc",
        "typed___2",
        "typeless",
        "CONFIG_HZ",
        "CONFIG_BPF",
        "LINUX_KERNEL_VERSION",
        "CONFIG_STR",
        "CONFIG_TRI",
    ];

    /// An object whose symbol table holds `names` as undefined symbols, described by `btf`.
    fn object_with(btf: &BtfBuilder, names: &[&str]) -> Vec<u8> {
        let mut e = ElfBuilder::new();
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &btf.build());
        for name in names {
            e.undefined(name, WEAK.contains(name));
        }
        e.build()
    }

    fn collect_from(btf: &BtfBuilder, names: &[&str]) -> Result<(Externs, Btf)> {
        let bytes = object_with(btf, names);
        let obj = ElfObject::parse(&bytes).unwrap();
        let mut btf = Btf::parse(obj.section(".BTF").unwrap().data).unwrap();
        collect(&obj, &mut btf).map(|x| (x, btf))
    }

    #[test]
    fn externs_are_classified_and_kconfig_values_laid_out() {
        let (ext, _) = collect_from(&extern_btf(), &NAMES).unwrap();
        let got: Vec<(&str, bool, &ExternKind)> = (ext.list.iter())
            .map(|e| (e.name.as_str(), e.weak, &e.kind))
            .collect();
        let kcfg = |offset, ty| ExternKind::Kconfig { offset, ty };
        let int = |size, signed| KconfigType::Int { size, signed };
        // .kconfig first by name; its layout is by alignment (descending), size, then name.
        let want = [
            ("CONFIG_BPF", true, kcfg(16, KconfigType::Bool)),
            ("CONFIG_HZ", false, kcfg(8, int(4, true))),
            ("CONFIG_STR", false, kcfg(17, KconfigType::Str { len: 8 })),
            ("CONFIG_TRI", false, kcfg(12, KconfigType::Tristate)),
            ("LINUX_KERNEL_VERSION", false, kcfg(0, int(8, false))),
            ("bpf_kfunc", false, ExternKind::Kfunc),
            (
                "typed",
                false,
                ExternKind::TypedKsym {
                    btf_kind: kind::VAR,
                },
            ),
            ("typeless", true, ExternKind::TypelessKsym),
        ];
        let want: Vec<(&str, bool, &ExternKind)> =
            want.iter().map(|(n, w, k)| (*n, *w, k)).collect();
        assert_eq!(got, want);
        assert_eq!(ext.kconfig_size, 25);
        // Symbol indexes follow the symbol table (1-based, in NAMES order).
        assert_eq!(ext.by_sym(2).unwrap().name, "typed");
        assert_eq!(ext.by_sym(1).unwrap().kind, ExternKind::Kfunc);
    }

    #[test]
    fn extern_sections_are_rewritten_as_the_kernel_accepts_them() {
        let (_, btf) = collect_from(&extern_btf(), &NAMES).unwrap();
        let ksyms = btf.get(btf.find(".ksyms", kind::DATASEC).unwrap()).unwrap();
        assert_eq!(ksyms.size_or_type, 12, "three 4-byte placeholders");
        let entries: Vec<(u32, u32, u32)> = ksyms.secinfos().collect();
        let dummy = btf.find("dummy_ksym", kind::VAR).unwrap();
        assert_eq!(
            entries[0],
            (dummy, 0, 4),
            "the kfunc's slot holds the dummy VAR"
        );
        assert_eq!((entries[1].1, entries[2].1), (4, 8));
        for (var, _, _) in &entries[1..] {
            let v = btf.get(*var).unwrap();
            assert_eq!(v.extra[0], VAR_GLOBAL_ALLOCATED);
            assert_eq!(btf.type_name(v.size_or_type).unwrap(), "int");
        }
        let kfunc = btf.get(btf.find("bpf_kfunc", kind::FUNC).unwrap()).unwrap();
        assert_eq!(kfunc.vlen() as u32, FUNC_GLOBAL);
        let kcfg = btf
            .get(btf.find(".kconfig", kind::DATASEC).unwrap())
            .unwrap();
        assert_eq!(kcfg.size_or_type, 25);
        let offsets: Vec<(&str, u32)> = (kcfg.secinfos())
            .map(|(v, off, _)| (btf.type_name(v).unwrap(), off))
            .collect();
        assert_eq!(
            offsets,
            [
                ("CONFIG_HZ", 8),
                ("CONFIG_BPF", 16),
                ("LINUX_KERNEL_VERSION", 0),
                ("CONFIG_STR", 17),
                ("CONFIG_TRI", 12)
            ]
        );
    }

    #[test]
    fn each_use_of_an_extern_becomes_a_loader_patch_site() {
        let mut e = ElfBuilder::new();
        let [ld0, ld1] = ld_imm64();
        let mut code = vec![call(0, 0), ld0, ld1, ld0, ld1, ld0, ld1, ld0, ld1];
        code.extend(ret0());
        let prog = e.code("syscall", &code);
        e.license("GPL");
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &extern_btf().build());
        let syms: Vec<usize> = NAMES
            .iter()
            .map(|n| e.undefined(n, WEAK.contains(n)))
            .collect();
        e.func("p", prog, 0, code.len() as u64);
        e.rel(prog, 0, syms[0], R_BPF_64_32); // call bpf_kfunc
        e.rel(prog, 8, syms[1], R_BPF_64_64); // &typed
        e.rel(prog, 24, syms[2], R_BPF_64_64); // &typeless
        e.rel(prog, 40, syms[3], R_BPF_64_64); // CONFIG_HZ
        e.rel(prog, 56, syms[0], R_BPF_64_64); // &bpf_kfunc, as bpf_ksym_exists() takes it
        let plan = crate::Plan::build(&e.build(), "ext").unwrap();
        let linked = &plan.programs[0].linked;
        let sites: Vec<(&str, usize, SiteKind)> = (linked.extern_sites.iter())
            .map(|s| (plan.externs.list[s.ext].name.as_str(), s.insn, s.kind))
            .collect();
        use crate::reloc::SiteKind;
        assert_eq!(
            sites,
            [
                ("bpf_kfunc", 0, SiteKind::KfuncCall),
                ("typed", 1, SiteKind::BtfId),
                ("typeless", 3, SiteKind::Address),
                ("bpf_kfunc", 7, SiteKind::BtfId)
            ]
        );
        assert_eq!(linked.insns[1] >> 4, crate::abi::BPF_PSEUDO_KFUNC_CALL);
        // The .kconfig load reads the .kconfig map (the only map) at CONFIG_HZ's offset.
        let kconfig = plan.maps.iter().position(|m| m.name == ".kconfig");
        assert_eq!(kconfig, Some(0));
        assert_eq!(plan.maps[0].value_size, 25);
        let ld = &linked.insns[40..56];
        assert_eq!(ld[1] >> 4, crate::abi::BPF_PSEUDO_MAP_IDX_VALUE);
        assert_eq!((ld[4], ld[12]), (0, 8));
    }

    fn refusal(btf: &BtfBuilder, name: &str) -> String {
        collect_from(btf, &[name]).unwrap_err().to_string()
    }

    #[test]
    fn externs_lskel_cannot_resolve_are_refused_by_name() {
        let b = extern_btf();
        let e = refusal(&b, "nowhere");
        assert!(
            e.contains("extern `nowhere`: undefined, and the object's BTF does not describe it"),
            "{e}"
        );

        let mut b = extern_btf();
        b.var("defined", 1, VAR_GLOBAL_ALLOCATED);
        let e = refusal(&b, "defined");
        assert!(
            e.contains("`defined` is undefined in the ELF symbol table but its BTF"),
            "{e}"
        );

        let mut b = extern_btf();
        b.var("homeless", 1, VAR_GLOBAL_EXTERN);
        let e = refusal(&b, "homeless");
        assert!(
            e.contains(
                "extern `homeless`: it is neither a kernel symbol nor a kernel config value"
            ),
            "{e}"
        );

        let mut b = extern_btf();
        let v = b.var("in_data", 1, VAR_GLOBAL_EXTERN);
        b.datasec(".data", 4, &[(v, 0, 4)]);
        let e = refusal(&b, "in_data");
        assert!(e.contains("extern `in_data` in section `.data`"), "{e}");
    }

    #[test]
    fn a_kconfig_value_larger_than_a_data_map_is_refused() {
        let mut b = extern_btf();
        let len = crate::maps::MAX_DATA_SECTION as u32 + 1;
        let huge = b.array(4, 1, len); // char[len]
        let v = b.var("CONFIG_HUGE", huge, VAR_GLOBAL_EXTERN);
        b.datasec(".kconfig", 0, &[(v, 0, 0)]);
        let e = refusal(&b, "CONFIG_HUGE");
        assert!(
            e.starts_with("limit exceeded: .kconfig extern `CONFIG_HUGE`"),
            "{e}"
        );
        assert!(e.contains(&format!("is {len} bytes")), "{e}");
    }

    #[test]
    fn kconfig_values_of_the_wrong_kind_are_refused() {
        let mut b = extern_btf();
        let proto = b.func_proto(1, &[]);
        let f = b.func("CONFIG_FN", proto, FUNC_EXTERN);
        let ptr = b.ptr(1);
        let p = b.var("CONFIG_PTR", ptr, VAR_GLOBAL_EXTERN);
        b.datasec(".kconfig", 0, &[(f, 0, 0), (p, 0, 0)]);
        let e = refusal(&b, "CONFIG_FN");
        assert!(e.contains("extern function `CONFIG_FN` in .kconfig"), "{e}");
        let e = refusal(&b, "CONFIG_PTR");
        assert!(
            e.contains(".kconfig extern `CONFIG_PTR`'s type is not supported"),
            "{e}"
        );
        assert!(e.contains("use bool, char"), "{e}");
    }
}
