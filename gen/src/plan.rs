//! The plan: everything known about an object once it is parsed, fixed up and linked,
//! before any loader code is emitted.

use crate::btf::ext::BtfExt;
use crate::btf::Btf;
use crate::diag::Diag;
use crate::elf::ElfObject;
use crate::error::{btf_err, Error, Result};
use crate::externs::{self, Externs};
use crate::maps::{self, MapDef, MapOrigin};
use crate::program::{self, ProgramDef};
use crate::reloc::{LinkedProgram, Linker, Records};
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
    /// Maps in object order (their `fd_array` slots: [`Plan::fd_layout`]).
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
    /// Where the loaders put each map's fd in `fd_array` (see [`maps::FdLayout`]).
    pub fn fd_layout(&self) -> maps::FdLayout {
        maps::FdLayout::of(&self.maps)
    }

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
        let layout = maps::FdLayout::of(&maps);
        let linker = Linker {
            obj: &obj,
            funcs: &funcs,
            maps: &maps,
            slots: &layout.slots,
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

/// The u32 at byte `at` of each record of `r` (none when its records are shorter).
fn record_words(r: &Records, at: usize) -> Vec<u32> {
    let size = r.rec_size as usize;
    if size < at + 4 {
        return Vec::new();
    }
    r.bytes
        .chunks_exact(size)
        .map(|c| u32::from_le_bytes([c[at], c[at + 1], c[at + 2], c[at + 3]]))
        .collect()
}

/// Rewrites the u32 at byte `at` of each record of `r` with `f`.
fn rewrite_records(r: &mut Records, at: usize, f: &dyn Fn(u32) -> Result<u32>) -> Result<()> {
    let size = r.rec_size as usize;
    if size < at + 4 {
        return Ok(());
    }
    for c in r.bytes.chunks_exact_mut(size) {
        let w = f(u32::from_le_bytes([c[at], c[at + 1], c[at + 2], c[at + 3]]))?;
        c[at..at + 4].copy_from_slice(&w.to_le_bytes());
    }
    Ok(())
}

/// Byte offsets of what the trimming renumbers in the kernel's records: `bpf_func_info.type_id`,
/// `bpf_line_info`'s `file_name_off` and `line_off`, `bpf_core_relo`'s `type_id` and
/// `access_str_off`.
const FUNC_INFO_TYPE_ID: usize = 4;
const LINE_INFO_FILE_NAME_OFF: usize = 4;
const LINE_INFO_LINE_OFF: usize = 8;
const CORE_RELO_TYPE_ID: usize = 4;
const CORE_RELO_ACCESS_STR_OFF: usize = 8;

/// Calls `f` on `map` and on its inner map template, if any, and so on down.
fn each_map(map: &mut MapDef, f: &mut dyn FnMut(&mut MapDef) -> Result<()>) -> Result<()> {
    f(map)?;
    match map.inner.as_deref_mut() {
        Some(inner) => each_map(inner, f),
        None => Ok(()),
    }
}

impl Plan {
    /// The plan as the loader hands it to the kernel: its BTF trimmed to the types the kernel
    /// can reach from the map key/value types, func_info and CO-RE records (plus the tags and
    /// strings those need, see [`Btf::trimmed`]), with every type id and string offset the
    /// maps and programs hold renumbered to match. The full BTF stays in `self` for the
    /// generated Rust types.
    pub fn for_kernel(&self) -> Result<Plan> {
        let mut plan = self.clone();
        let mut roots = Vec::new();
        for m in &mut plan.maps {
            each_map(m, &mut |m| {
                roots.extend([m.btf_key_type_id, m.btf_value_type_id]);
                if let MapOrigin::Data {
                    datasec: Some(id), ..
                } = m.origin
                {
                    roots.push(id);
                }
                Ok(())
            })?;
        }
        let mut strings = Vec::new();
        for p in &plan.programs {
            let l = &p.linked;
            roots.extend(record_words(&l.func_info, FUNC_INFO_TYPE_ID));
            roots.extend(record_words(&l.core_relos, CORE_RELO_TYPE_ID));
            strings.extend(record_words(&l.core_relos, CORE_RELO_ACCESS_STR_OFF));
            strings.extend(record_words(&l.line_info, LINE_INFO_FILE_NAME_OFF));
            strings.extend(record_words(&l.line_info, LINE_INFO_LINE_OFF));
        }
        roots.retain(|&id| id != 0);
        if roots.is_empty() {
            // Nothing refers to a type: keep the BTF as it is (the kernel refuses BTF with
            // no types, and the line_info strings still need a string section).
            return Ok(plan);
        }
        let (btf, remap) = self.btf.trimmed(&roots, &strings)?;
        let id = |old: u32| {
            remap
                .id(old)
                .ok_or_else(|| btf_err(format!("type [{old}] was trimmed but is still used")))
        };
        let off = |old: u32| {
            remap
                .str(old)
                .ok_or_else(|| btf_err(format!("string at {old} was trimmed but is still used")))
        };
        for m in &mut plan.maps {
            each_map(m, &mut |m| {
                m.btf_key_type_id = id(m.btf_key_type_id)?;
                m.btf_value_type_id = id(m.btf_value_type_id)?;
                if let MapOrigin::Data {
                    datasec: Some(d), ..
                } = &mut m.origin
                {
                    *d = id(*d)?;
                }
                Ok(())
            })?;
        }
        for p in &mut plan.programs {
            let l = &mut p.linked;
            rewrite_records(&mut l.func_info, FUNC_INFO_TYPE_ID, &id)?;
            rewrite_records(&mut l.core_relos, CORE_RELO_TYPE_ID, &id)?;
            rewrite_records(&mut l.core_relos, CORE_RELO_ACCESS_STR_OFF, &off)?;
            rewrite_records(&mut l.line_info, LINE_INFO_FILE_NAME_OFF, &off)?;
            rewrite_records(&mut l.line_info, LINE_INFO_LINE_OFF, &off)?;
        }
        plan.btf = btf;
        Ok(plan)
    }
}

/// A struct_ops program attaches to its struct type (`tcp_congestion_ops`), as the member it
/// implements; one that no struct_ops map uses is not loaded (nothing could attach it).
fn bind_struct_ops(maps: &[crate::maps::MapDef], programs: &mut [Program]) -> Result<()> {
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

    use crate::testobj::{call, ld_imm64, ret0, BtfBuilder, ElfBuilder, R_BPF_64_32, R_BPF_64_64};

    /// An object with a `.text` subprogram, programs in seven sections (one autoload-off,
    /// four with BTF attach targets of each origin), two `.maps` maps declared out of offset
    /// order, and `.rodata`, `.bss` and `.data`.
    fn many_sections() -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, crate::testobj::INT_SIGNED);
        let sizes = [("key_size", 4), ("value_size", 8)];
        let array = b.map_def(
            int,
            &[("type", 2), ("max_entries", 1), sizes[0], sizes[1]],
            &[],
        );
        let hash = b.map_def(
            int,
            &[("type", 1), ("max_entries", 64), sizes[0], sizes[1]],
            &[],
        );
        let first = b.var("first", array, 1);
        let second = b.var("second", hash, 1);
        b.datasec(".maps", 64, &[(second, 32, 32), (first, 0, 32)]);

        let mut e = ElfBuilder::new();
        let text = e.code(".text", &ret0());
        let [ld0, ld1] = ld_imm64();
        let mut a = vec![ld0, ld1, ld0, ld1, call(1, -1)];
        a.extend(ret0());
        let xdp = e.code("xdp", &[a, ret0()].concat());
        let kprobe = e.code("?kprobe/do_x", &ret0());
        let fentry = e.code("fentry", &ret0());
        let tp = e.code("tp_btf/sched_switch", &ret0());
        let freplace = e.code("freplace", &ret0());
        let lsm = e.code("lsm", &ret0());
        let maps = e.data(".maps", &[0; 64], true);
        e.data(".rodata", &[1; 8], false);
        e.bss(".bss", 16);
        let data = e.data(".data", &[2; 8], true);
        e.license("GPL");
        e.section(".BTF", object::elf::SHT_PROGBITS, 0, &b.build());
        let helper = e.func("helper", text, 0, 2);
        e.func("a2", xdp, 7, 2); // before `a` in the symbol table, after it in the section
        e.func("a", xdp, 0, 7);
        for (name, sec) in [
            ("b", kprobe),
            ("c", fentry),
            ("d", tp),
            ("e", freplace),
            ("f", lsm),
        ] {
            e.func(name, sec, 0, 2);
        }
        e.object("first", maps, 0, 32);
        let second = e.object("second", maps, 32, 32);
        let counter = e.object("counter", data, 4, 4);
        e.rel(xdp, 0, second, R_BPF_64_64);
        e.rel(xdp, 16, counter, R_BPF_64_64);
        e.rel(xdp, 32, helper, R_BPF_64_32);
        e.build()
    }

    #[test]
    fn maps_and_programs_come_in_object_order() {
        let plan = Plan::build(&many_sections(), "many").unwrap();
        let maps: Vec<&str> = plan.maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(maps, ["first", "second", ".rodata", ".bss", ".data"]);
        assert_eq!((plan.maps[0].map_type, plan.maps[1].map_type), (2, 1));
        assert_eq!(plan.maps[1].max_entries, 64);
        assert_eq!(plan.maps[2].kernel_name, "many.rodata");
        let progs: Vec<&str> = (plan.programs.iter())
            .map(|p| p.def.func.name.as_str())
            .collect();
        // `helper`, the `.text` subprogram, is not a program of its own.
        assert_eq!(progs, ["a", "a2", "b", "c", "d", "e", "f"]);
        let off: Vec<&str> = (plan.programs.iter())
            .filter(|p| p.def.autoload_off)
            .map(|p| p.def.func.name.as_str())
            .collect();
        assert_eq!(off, ["b"]);
        assert_eq!(plan.license, "GPL");
    }

    #[test]
    fn linking_appends_the_subprogram_and_points_loads_at_maps() {
        let plan = Plan::build(&many_sections(), "many").unwrap();
        let insns = &plan.programs[0].linked.insns;
        assert_eq!(insns.len(), 9 * 8, "a's 7 instructions, then helper's 2");
        assert_eq!(&insns[7 * 8..], &ret0().concat()[..]);
        // `.rodata` (map 2) goes first in fd_array, to be bound to every program; then the
        // others in object order.
        let layout = plan.fd_layout();
        assert_eq!((layout.slots, layout.bound), (vec![1, 2, 0, 3, 4], 1));
        // `second` is map 1, in fd_array slot 2.
        assert_eq!(
            (insns[1] >> 4, insns[4]),
            (crate::abi::BPF_PSEUDO_MAP_IDX, 2)
        );
        // `counter` is at byte 4 of `.data`, map 4, slot 4.
        assert_eq!(insns[17] >> 4, crate::abi::BPF_PSEUDO_MAP_IDX_VALUE);
        assert_eq!((insns[20], insns[28]), (4, 4));
        // The call at instruction 4 now reaches instruction 7: imm = 7 - 4 - 1.
        assert_eq!(i32::from_le_bytes(insns[36..40].try_into().unwrap()), 2);
        assert_eq!(plan.programs[1].linked.insns, ret0().concat());
    }

    #[test]
    fn attach_targets_are_assigned_once_in_program_order() {
        use crate::btf::kind;
        let plan = Plan::build(&many_sections(), "many").unwrap();
        let targets: Vec<Option<&AttachTarget>> =
            plan.programs.iter().map(|p| p.target.as_ref()).collect();
        let before = |prefix: &str, slot| AttachTarget::BeforeLoad {
            prefix: prefix.into(),
            btf_kind: kind::FUNC,
            slot,
        };
        let tp = AttachTarget::Kernel {
            name: "btf_trace_sched_switch".into(),
            btf_kind: kind::TYPEDEF,
        };
        assert_eq!(
            targets,
            [
                None,
                None,
                None,
                Some(&before("", 0)),
                Some(&tp),
                Some(&AttachTarget::Freplace { slot: 1 }),
                Some(&before("bpf_lsm_", 2)),
            ]
        );
        // Entry k of `targets` is the program whose slot is k.
        assert_eq!(plan.targets, [3, 5, 6]);
        assert_eq!(
            plan.programs[4].kernel_target(),
            Some(("btf_trace_sched_switch", kind::TYPEDEF))
        );
    }

    #[test]
    fn the_loader_creates_every_map_and_loads_every_program_of_the_plan() {
        let skel = crate::generate(&many_sections(), "many").unwrap();
        let steps = &skel.loader.steps;
        for map in ["first", "second", ".rodata", ".bss", ".data"] {
            assert!(
                steps.contains(&format!("create map `{map}`")),
                "{map}: {steps:?}"
            );
        }
        let loads: Vec<&String> = (steps.iter())
            .filter(|s| s.starts_with("load program"))
            .collect();
        let want: Vec<String> = ["a", "a2", "b", "c", "d", "e", "f"]
            .iter()
            .map(|p| format!("load program `{p}`"))
            .collect();
        assert_eq!(loads, want.iter().collect::<Vec<_>>());
    }

    #[test]
    fn an_object_without_btf_is_refused() {
        let mut e = ElfBuilder::new();
        let xdp = e.code("xdp", &ret0());
        e.func("a", xdp, 0, 2);
        assert_eq!(Plan::build(&e.build(), "x").unwrap_err(), Error::NoBtf);
    }

    #[test]
    fn subprograms_are_linked_into_each_caller_not_planned() {
        let plan = Plan::build(&fixture("calls"), "calls").unwrap();
        let names: Vec<&str> = (plan.programs.iter())
            .map(|p| p.def.func.name.as_str())
            .collect();
        assert_eq!(names, ["calc", "calc_fixed", "calls_tp"]);
        for p in &plan.programs {
            assert!(
                p.linked.insns.len() > p.def.func.len * 8,
                "{} links no subprogram",
                p.def.func.name
            );
        }
    }

    #[test]
    fn static_tail_call_slots_name_entry_programs() {
        let plan = Plan::build(&fixture("tailcall"), "tailcall").unwrap();
        let jmp = plan
            .maps
            .iter()
            .position(|m| m.name == "jmp_table")
            .unwrap();
        let named: Vec<(usize, u32, &str)> = (plan.prog_array_init.iter())
            .map(|&(m, slot, p)| (m, slot, plan.programs[p].def.func.name.as_str()))
            .collect();
        assert_eq!(named, [(jmp, 0, "target_a"), (jmp, 1, "target_b")]);
    }
}
