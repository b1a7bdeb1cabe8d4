//! Extern symbols: kfuncs and ksyms (`.ksyms`, resolved by the loader in the kernel) and
//! `.kconfig` values (computed by the runtime at load time). Also the BTF rewrite the kernel
//! needs for them: extern VARs become allocated 4-byte placeholders, extern FUNCs in `.ksyms`
//! are replaced by a dummy VAR, and `.kconfig` VARs get their offsets in the `.kconfig` map.

use crate::btf::{enter, kind, Btf};
use crate::elf::ElfObject;
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

/// Collects externs and rewrites their BTF as the kernel needs it.
pub fn collect(obj: &ElfObject<'_>, btf: &mut Btf) -> Result<Externs> {
    let mut list = Vec::new();
    let mut kcfg_layout = Vec::new();
    for (sym_idx, sym) in obj.symbols.iter().enumerate() {
        let is_extern = sym.shndx == 0
            && (sym.bind == object::elf::STB_GLOBAL || sym.bind == object::elf::STB_WEAK)
            && sym.kind == object::elf::STT_NOTYPE;
        if !is_extern || sym.name.is_empty() {
            continue;
        }
        let btf_id = find_extern_btf(btf, &sym.name)?;
        let sec = find_extern_section(btf, btf_id).ok_or_else(|| {
            Error::Extern {
                name: sym.name.clone(),
                what: "it is neither a kernel symbol nor a kernel config value; lskel resolves only `extern ... __ksym` (kfuncs, kernel variables) and `extern ... __kconfig` (CONFIG_*, LINUX_*): define it in the object or declare it as one of those".into(),
            }
        })?;
        let sec_name = btf.type_name(sec)?.to_string();
        let t = btf.get(btf_id)?.clone();
        let weak = sym.bind == object::elf::STB_WEAK;
        let kind = match sec_name.as_str() {
            ".kconfig" => {
                if t.kind() == kind::FUNC {
                    return Err(Error::Unsupported {
                        what: format!("extern function `{}` in .kconfig", sym.name),
                        why: ".kconfig holds values only".into(),
                    });
                }
                let ty = kconfig_type(btf, t.size_or_type)?.ok_or_else(|| Error::Unsupported {
                    what: format!(".kconfig extern `{}`'s type", sym.name),
                    why: "use bool, char, a 1/2/4/8-byte integer, enum libbpf_tristate or a char array".into(),
                })?;
                let size = btf.size_of(t.size_or_type)?;
                if size > crate::maps::MAX_DATA_SECTION {
                    return Err(Error::Limit { what: format!(".kconfig extern `{}` is {size} bytes; the .kconfig map holds at most {}", sym.name, crate::maps::MAX_DATA_SECTION) });
                }
                let size = size as u32;
                let align = btf.align_of(t.size_or_type)? as u32;
                kcfg_layout.push((list.len(), align, size));
                ExternKind::Kconfig { offset: 0, ty }
            }
            ".ksyms" => {
                if t.kind() == kind::FUNC {
                    // A call makes it a kfunc; an address load (bpf_ksym_exists) a typed ksym.
                    ExternKind::Kfunc
                } else if btf.skip_mods_and_typedefs(t.size_or_type)? == 0 {
                    ExternKind::TypelessKsym
                } else {
                    ExternKind::TypedKsym {
                        btf_kind: kind::VAR,
                    }
                }
            }
            other => {
                return Err(Error::Unsupported {
                    what: format!("extern `{}` in section `{other}`", sym.name),
                    why: "externs must be __ksym or __kconfig".into(),
                })
            }
        };
        list.push(Extern {
            name: essential_name(&sym.name).to_string(),
            weak,
            kind,
            sym: sym_idx,
        });
    }
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
}
