//! From a plan to Rust: the tokens of the generated skeleton module (`skeleton`), the Rust
//! types of global data (`types`), path handling for the macro (`path`), and a plain-text
//! description of the plan (`describe`).

pub mod links;
mod maps;
pub mod path;
pub mod pinning;
pub mod skeleton;
pub mod types;

use crate::plan::Plan;
use crate::target::AttachTarget;

/// A human-readable summary of the plan: maps, programs and their relocation records.
pub fn describe(plan: &Plan) -> String {
    let mut out = format!(
        "# object `{}`: license {:?}, kern_version {:#x}\n# maps\n",
        plan.name, plan.license, plan.kern_version
    );
    for (i, m) in plan.maps.iter().enumerate() {
        out.push_str(&format!(
            "{i:>3} {:<20} type {:>2} key {:>4} value {:>8} max_entries {:>8} flags {:#06x} btf {}/{} kernel name {:?}{}\n",
            m.name, m.map_type, m.key_size, m.value_size, m.max_entries, m.map_flags, m.btf_key_type_id, m.btf_value_type_id, m.kernel_name,
            if m.pin_by_name { " pinned by name" } else { "" }
        ));
    }
    out.push_str("# programs\n");
    for (j, p) in plan.programs.iter().enumerate() {
        let l = &p.linked;
        out.push_str(&format!(
            "{j:>3} {:<20} section {:<28} type {:>2} attach {:>2} insns {:>5} func_info {} line_info {} core_relos {}{}\n",
            p.def.func.name,
            p.def.func.section,
            p.def.def.prog_type,
            p.expected_attach_type,
            l.insns.len() / 8,
            l.func_info.count(),
            l.line_info.count(),
            l.core_relos.count(),
            match &p.target {
                Some(AttachTarget::Kernel { name, btf_kind }) => format!(" target {name} (kind {btf_kind})"),
                Some(AttachTarget::Freplace { .. }) => " target: a program's function, set before load".to_string(),
                Some(AttachTarget::BeforeLoad { prefix, btf_kind, .. }) => format!(" target `{prefix}...` set before load (kind {btf_kind})"),
                None => String::new(),
            }
        ));
    }
    for (i, m) in plan.maps.iter().enumerate() {
        if let Some(inner) = &m.inner {
            out.push_str(&format!(
                "  map #{i} `{}`: inner template type {} key {} value {} max_entries {}\n",
                m.name, inner.map_type, inner.key_size, inner.value_size, inner.max_entries
            ));
        }
        if let crate::maps::MapOrigin::StructOps(s) = &m.origin {
            out.push_str(&format!(
                "  map #{i} `{}`: struct_ops of `{}` (kernel value type bpf_struct_ops_{}), struct at value offset {}{}\n",
                m.name, s.struct_name, s.struct_name, s.data_offset, if s.link { ", registered by a link" } else { "" }
            ));
            for (moff, member, prog) in &s.funcs {
                out.push_str(&format!(
                    "    member #{member} at +{moff} = program `{prog}`\n"
                ));
            }
        }
        for (slot, target) in &m.init {
            out.push_str(&format!("  map #{i} `{}`[{slot}] = {target:?}\n", m.name));
        }
    }
    if !plan.externs.list.is_empty() {
        out.push_str("# externs\n");
        for (k, e) in plan.externs.list.iter().enumerate() {
            out.push_str(&format!(
                "{k:>3} {:<28} {:?}{}\n",
                e.name,
                e.kind,
                if e.weak { " weak" } else { "" }
            ));
        }
    }
    out.push_str("# relocations the loader applies\n");
    for p in &plan.programs {
        for site in &p.linked.extern_sites {
            out.push_str(&format!(
                "  `{}` insn {:>4}: {:?} of extern #{} `{}`\n",
                p.def.func.name, site.insn, site.kind, site.ext, plan.externs.list[site.ext].name
            ));
        }
    }
    for (i, slot, j) in &plan.prog_array_init {
        out.push_str(&format!(
            "  `{}`[{slot}] = program `{}`\n",
            plan.maps[*i].name, plan.programs[*j].def.func.name
        ));
    }
    out
}
