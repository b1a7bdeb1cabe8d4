//! From a plan to Rust: the tokens of the generated skeleton module (`skeleton`), the Rust
//! types of global data (`types`), path handling for the macro (`path`), and a plain-text
//! description of the plan (`describe`).

pub mod path;
pub mod skeleton;
pub mod types;

use crate::plan::Plan;

/// A human-readable summary of the plan: maps, programs and their relocation records.
pub fn describe(plan: &Plan) -> String {
    let mut out = format!(
        "# object `{}`: license {:?}, kern_version {:#x}\n# maps\n",
        plan.name, plan.license, plan.kern_version
    );
    for (i, m) in plan.maps.iter().enumerate() {
        out.push_str(&format!(
            "{i:>3} {:<20} type {:>2} key {:>4} value {:>8} max_entries {:>8} flags {:#06x} btf {}/{} kernel name {:?}\n",
            m.name, m.map_type, m.key_size, m.value_size, m.max_entries, m.map_flags, m.btf_key_type_id, m.btf_value_type_id, m.kernel_name
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
            p.def.def.expected_attach_type,
            l.insns.len() / 8,
            l.func_info.count(),
            l.line_info.count(),
            l.core_relos.count(),
            p.attach_target.as_ref().map(|(t, k)| format!(" target {t} (kind {k})")).unwrap_or_default()
        ));
    }
    out
}
