//! The plan: everything known about an object once it is parsed, fixed up and linked,
//! before any loader code is emitted.

use crate::btf::ext::BtfExt;
use crate::btf::Btf;
use crate::diag::Diag;
use crate::elf::ElfObject;
use crate::error::{btf_err, Error, Result};
use crate::externs::{self, Externs};
use crate::maps::{self, MapDef};
use crate::program::{self, ProgramDef};
use crate::reloc::{LinkedProgram, Linker};
use crate::target::AttachTarget;

/// One entry program, linked.
#[derive(Clone, Debug)]
pub struct Program {
    /// Name, section and type.
    pub def: ProgramDef,
    /// The linked code and records.
    pub linked: LinkedProgram,
    /// Where its attach target comes from, for programs that load against one.
    pub target: Option<AttachTarget>,
    /// `expected_attach_type`: the section's, or for a struct_ops program the index of the
    /// struct member it implements.
    pub expected_attach_type: u32,
}

/// The whole object, ready for emission.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The object's name (skeleton name), used for internal map names.
    pub name: String,
    /// The fixed-up BTF.
    pub btf: Btf,
    /// Maps in `fd_array` order.
    pub maps: Vec<MapDef>,
    /// Entry programs in ctx order.
    pub programs: Vec<Program>,
    /// The program of each ctx attach-target entry, in entry order: the programs whose target
    /// is set before load (each one's [`AttachTarget::slot`] is its index here).
    pub targets: Vec<usize>,
    /// Kernel symbols and `.kconfig` values the object refers to.
    pub externs: Externs,
    /// Static prog_array slots: (map index, slot, program index), filled after the programs load.
    pub prog_array_init: Vec<(usize, u32, usize)>,
    /// The license string: the `license` section's, or empty when the object has none (as
    /// libbpf: the kernel then treats the programs as not GPL-compatible).
    pub license: String,
    /// Whether the object has a `license` section.
    pub license_section: bool,
    /// The `version` section, or 0.
    pub kern_version: u32,
}

/// As libbpf: a global (or weak) function of `.text` with hidden visibility, such as the `__weak __hidden`
/// helpers of `<bpf/usdt.bpf.h>`, gets static linkage in BTF, so the verifier checks it with its caller's
/// types (e.g. `long *res` is then a plain pointer, not `mem_or_null`) instead of as a global function.
fn mark_hidden_subprogs_static(obj: &ElfObject<'_>, btf: &mut Btf) -> Result<()> {
    let Some(text) = obj.section(".text").map(|s| s.index) else {
        return Ok(());
    };
    for sym in &obj.symbols {
        if !sym.is_func()
            || sym.bind == object::elf::STB_LOCAL
            || !sym.is_hidden()
            || usize::from(sym.shndx) != text
        {
            continue;
        }
        if let Some(id) = btf.find(&sym.name, crate::btf::kind::FUNC) {
            let f = btf.get_mut(id)?;
            f.info &= !0xffff; // vlen of a FUNC = linkage; 0 = BTF_FUNC_STATIC
        }
    }
    Ok(())
}

impl Program {
    /// The target looked up in kernel BTF when it is known at generation: its name and BTF kind.
    pub fn kernel_target(&self) -> Option<(&str, u32)> {
        match &self.target {
            Some(AttachTarget::Kernel { name, btf_kind }) => Some((name, *btf_kind)),
            _ => None,
        }
    }
}

impl Plan {
    /// What a failed program load adds to its step description: without a `license` section
    /// the verifier refuses every GPL-only helper, the likely cause.
    pub fn license_hint(&self) -> &'static str {
        if self.license_section {
            ""
        } else {
            " (the object has no `license` section: GPL-only helpers are refused)"
        }
    }

    /// Parses, fixes up and links `data`. `name` names the object (the skeleton name).
    pub fn build(data: &[u8], name: &str) -> Result<Plan> {
        let obj = ElfObject::parse(data)?;
        let btf_sec = obj.section(".BTF").ok_or(Error::NoBtf)?;
        let mut btf = Btf::parse(btf_sec.data)?;
        mark_hidden_subprogs_static(&obj, &mut btf)?;
        let section_size = |n: &str| obj.section(n).map(|s| s.size);
        let symbol = |n: &str| {
            obj.symbols
                .iter()
                .find(|s| {
                    s.name == n
                        && s.shndx != 0
                        && s.kind == object::elf::STT_OBJECT
                        && s.bind != object::elf::STB_LOCAL
                })
                .map(|s| (s.value, s.is_hidden()))
        };
        // Extern sections first: their new offsets are then sorted like every DATASEC.
        let externs = externs::collect(&obj, &mut btf)?;
        btf.fixup_datasecs(&section_size, &symbol)?;
        let ext = obj
            .section(".BTF.ext")
            .map(|s| {
                BtfExt::parse(s.data, &|off| {
                    btf.name(off)
                        .map(str::to_string)
                        .map_err(|e| btf_err(e.to_string()))
                })
            })
            .transpose()?;
        // Bad map definitions and bad programs are independent: all of them are reported.
        let mut diag = Diag::new();
        let maps::Collected { maps, failed } =
            maps::collect(&obj, &btf, name, externs.kconfig_size, &mut diag)
                .map_err(|e| diag.fail(e))?;
        let funcs = program::collect(&obj).map_err(|e| diag.fail(e))?;
        let linker = Linker {
            obj: &obj,
            funcs: &funcs,
            maps: &maps,
            ext: ext.as_ref(),
            externs: &externs,
            failed_maps: &failed,
        };
        let mut programs = Vec::with_capacity(funcs.programs.len());
        let mut targets = Vec::new();
        for (j, def) in funcs.programs.iter().enumerate() {
            let Some(linked) = diag.ok(linker.link(def)) else {
                continue;
            };
            let target = attach_target(def, targets.len());
            if target.as_ref().is_some_and(|t| t.slot().is_some()) {
                targets.push(j);
            }
            programs.push(Program {
                def: def.clone(),
                linked,
                target,
                expected_attach_type: def.def.expected_attach_type,
            });
        }
        diag.check()?;
        bind_struct_ops(&maps, &mut programs)?;
        let prog_array_init = prog_array_init(&maps, &programs)?;
        Ok(Plan {
            name: name.to_string(),
            btf,
            maps,
            programs,
            targets,
            externs,
            prog_array_init,
            license: obj.license.clone().unwrap_or_default(),
            license_section: obj.license.is_some(),
            kern_version: obj.kern_version,
        })
    }
}

/// A struct_ops program attaches to its struct type (`tcp_congestion_ops`), as the member it
/// implements; one that no struct_ops map uses is not loaded (nothing could attach it).
fn bind_struct_ops(maps: &[crate::maps::MapDef], programs: &mut [Program]) -> Result<()> {
    use crate::maps::MapOrigin;
    for p in programs
        .iter_mut()
        .filter(|p| p.def.def.prog_type == crate::abi::prog_type::STRUCT_OPS)
    {
        let user = maps.iter().find_map(|m| match &m.origin {
            MapOrigin::StructOps(s) => s
                .funcs
                .iter()
                .find(|f| f.2 == p.def.func.name)
                .map(|f| (s, f.1)),
            _ => None,
        });
        match user {
            Some((s, member)) => {
                p.target = Some(AttachTarget::Kernel {
                    name: s.struct_name.clone(),
                    btf_kind: crate::btf::kind::STRUCT,
                });
                p.expected_attach_type = member;
            }
            None => p.def.autoload_off = true,
        }
    }
    Ok(())
}

/// Resolves the program names in prog_array `.values` to program indexes.
fn prog_array_init(
    maps: &[crate::maps::MapDef],
    programs: &[Program],
) -> Result<Vec<(usize, u32, usize)>> {
    let mut out = Vec::new();
    for (i, map) in maps.iter().enumerate() {
        for (slot, target) in &map.init {
            let crate::maps::InitRef::Prog(name) = target else {
                continue;
            };
            let j = programs.iter().position(|p| &p.def.func.name == name).ok_or_else(|| Error::Map {
                map: map.name.clone(),
                what: format!("`.values[{slot}]` = `{name}`, which is not an entry program (a function in a SEC(\"...\") section)"),
            })?;
            out.push((i, *slot, j));
        }
    }
    Ok(out)
}

/// Where the attach target of `def` comes from; a target set before load takes ctx
/// attach-target entry `next_slot`.
fn attach_target(def: &ProgramDef, next_slot: usize) -> Option<AttachTarget> {
    use crate::btf::kind;
    if !def.def.attach_btf() {
        return None;
    }
    let pattern = def.def.pattern.trim_end_matches('+');
    let base = pattern.split('.').next().unwrap_or(pattern);
    let (prefix, btf_kind) = match base {
        "tp_btf" => ("btf_trace_", kind::TYPEDEF),
        "lsm" | "lsm_cgroup" => ("bpf_lsm_", kind::FUNC),
        "iter" => ("bpf_iter_", kind::FUNC),
        // The target is a function of another loaded program, given before load as that
        // program's fd and the function's BTF id.
        "freplace" => return Some(AttachTarget::Freplace { slot: next_slot }),
        _ => ("", kind::FUNC),
    };
    Some(match def.target() {
        Some(target) => AttachTarget::Kernel {
            name: format!("{prefix}{target}"),
            btf_kind,
        },
        // No target in the section: the user names it before load (`set_attach_target`).
        None => AttachTarget::BeforeLoad {
            prefix: prefix.to_string(),
            btf_kind,
            slot: next_slot,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(stem: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../tests/bpf/{stem}.bpf.o"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn an_object_without_license_section_gets_the_empty_license() {
        let plan = Plan::build(&fixture("nolicense"), "nolicense").expect("accepted, as by libbpf");
        assert_eq!(plan.license, "");
        assert!(!plan.license_section);
        let names: Vec<&str> = plan
            .programs
            .iter()
            .map(|p| p.def.func.name.as_str())
            .collect();
        assert_eq!(names, ["count_runs", "read_kernel"]);
        // Each program load's step says why GPL-only helpers fail.
        let loader = crate::loader::emit(&plan).unwrap();
        for name in names {
            let step = format!(
                "load program `{name}` (the object has no `license` section: GPL-only helpers are refused)"
            );
            assert!(loader.steps.contains(&step), "{:?}", loader.steps);
        }
    }

    fn object(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/objects/{name}.bpf.o"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn targets_set_before_load_get_their_ctx_entry_in_program_order() {
        let plan = Plan::build(&object("late_target"), "late_target").unwrap();
        assert_eq!(plan.targets.len(), 2);
        for (k, &j) in plan.targets.iter().enumerate() {
            let t = plan.programs[j].target.as_ref().unwrap();
            assert_eq!(t.slot(), Some(k));
        }
        let prefixes: Vec<_> = (plan.targets.iter())
            .map(|&j| plan.programs[j].target.as_ref().unwrap().prefix().unwrap())
            .collect();
        assert_eq!(prefixes, ["btf_trace_", ""]);
        let plan = Plan::build(&object("freplace"), "freplace").unwrap();
        assert_eq!(
            plan.programs[0].target,
            Some(AttachTarget::Freplace { slot: 0 })
        );
        assert_eq!(plan.targets, [0]);
    }

    #[test]
    fn a_target_named_in_the_section_takes_no_ctx_entry() {
        let plan = Plan::build(&fixture("fentry"), "fentry").unwrap();
        assert!(plan.targets.is_empty());
        assert!(plan.programs.iter().all(|p| p.kernel_target().is_some()));
    }

    #[test]
    fn an_object_with_a_license_has_no_hint() {
        let plan = Plan::build(&fixture("counter"), "counter").unwrap();
        assert_eq!(plan.license, "GPL");
        assert!(plan.license_section);
        let loader = crate::loader::emit(&plan).unwrap();
        let loads: Vec<&String> = (loader.steps.iter())
            .filter(|s| s.starts_with("load program"))
            .collect();
        assert!(!loads.is_empty());
        assert!(loads.iter().all(|s| !s.contains("license")), "{loads:?}");
    }
}
