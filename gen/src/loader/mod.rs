//! Emission of the loader program and its data blob from a [`Plan`].
//!
//! Each step follows one recipe (after libbpf's gen_loader): fill a `bpf_attr` on the host,
//! put it in the blob, patch at run time only what is known only then (pointers into the
//! blob, fds, ctx overrides), call `bpf_sys_bpf`, keep the fd, and branch to the single
//! cleanup block on error. Blob layout: the `fd_array` comes first (one slot per map,
//! sized exactly), then the BTF fd slot, a zero key, BTF, and the per-step data.
//! Fds live in the blob's `fd_array` (maps) and in the ctx (programs), never on the stack,
//! so stack use does not grow with the object.
//!
//! A map whose ctx descriptor has the `REUSE` bit is not created: the prologue moves the fd
//! the ctx gives into its `fd_array` slot (the loader owns it from then on: the cleanup closes
//! it, success hands it back in `map_fd`), and the map's creation steps are skipped. A reused
//! data map is neither written nor frozen; `.values` and prog_array slots are still filled.

pub mod blob;
mod cleanup;
mod data;
pub mod emit;
mod externs;
mod maps;
mod patch;
mod progs;
pub(crate) use maps::push_map_create;
pub(crate) use progs::{log_marker_attr, push_prog_load, ProgLoadPieces};
mod prologue;
mod recipe;

use std::collections::BTreeMap;

use crate::abi::{
    self, ctx, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, BPF_JEQ, BPF_JLE, BPF_JNE, BPF_JSGE, BPF_JSLE,
};
use crate::error::{Error, Result};
use crate::externs::ExternKind;
use crate::maps::{MapDef, MapOrigin};
use crate::plan::{Plan, Program};
use crate::reloc::SiteKind;
use crate::struct_ops::StructOps;
use blob::{Attr, Blob, BlobOff};
use emit::{reg::*, Builder, Label, Size};
// ENOENT is what the lookup helpers return for a name the kernel does not have.
use lskel_abi::errno::{EBADF, EINVAL, ENAMETOOLONG, ENOENT};

/// The emitted loader.
#[derive(Clone, Debug)]
pub struct Loader {
    /// Loader program instructions (raw `struct bpf_insn` bytes).
    pub insns: Vec<u8>,
    /// The data blob.
    pub blob: Vec<u8>,
    /// Step names by instruction index, for the disassembly.
    pub notes: BTreeMap<usize, String>,
    /// (offset, length, what) of each blob piece.
    pub blob_map: Vec<(u32, usize, String)>,
    /// Size of the ctx block the loader expects.
    pub ctx_size: usize,
    /// Per map: blob offset of a data map's initial value (`None` for other maps).
    pub data_init: Vec<Option<u32>>,
    /// What each step that can fail does: the loader reports step n (`steps[n - 1]`) in the
    /// ctx status when it fails there.
    pub steps: Vec<String>,
    /// The interpreter loader's protocol: blob offset of the ctx area, where it writes the
    /// fds it made (user space reads them back from the loader map). `None`: the
    /// straight-line loader, which writes them into the ctx.
    pub ctx_area: Option<u32>,
    /// The interpreter's op table: (blob offset, number of ops), for the dump.
    pub ops: Option<(u32, usize)>,
}

struct Gen<'p> {
    plan: &'p Plan,
    b: Builder,
    blob: Blob,
    cleanup: Label,
    fd_array: BlobOff,
    btf_fd: BlobOff,
    zero_key: BlobOff,
    license: BlobOff,
    data_init: Vec<Option<u32>>,
    inner_fd: BlobOff,
    scratch: BlobOff,
    /// Blob offset of each program's instructions.
    prog_insns: Vec<BlobOff>,
    /// `fd_array` slot of each extern resolved through kernel BTF.
    ext_slot: Vec<Option<usize>>,
    /// What each numbered step does (step n is `steps[n - 1]`).
    steps: Vec<String>,
    /// The attr of the log marker's BTF_LOAD, once emitted.
    marker_attr: Option<BlobOff>,
    /// Each map's `fd_array` slot, and how many every program is bound to.
    layout: crate::maps::FdLayout,
}

/// `MAX_KFUNC_DESCS`: distinct kfuncs one program may call (and `MAX_KFUNC_BTFS` module BTFs).
pub const MAX_KFUNC_DESCS: usize = 256;

/// Emits the loader for `plan`.
pub fn emit(plan: &Plan) -> Result<Loader> {
    let n_maps = plan.maps.len();
    if n_maps > i16::MAX as usize {
        return Err(Error::Limit { what: format!("{n_maps} maps need {n_maps} fd_array slots, but instruction offsets address at most {}", i16::MAX) });
    }
    let ctx_size = ctx::size_with_targets(n_maps, plan.programs.len(), plan.targets.len());
    // The loader reaches ctx fields only as r6 + a 16-bit offset (the verifier refuses a
    // modified ctx pointer), and always writes the 4-byte status word; later fields are
    // checked as they are emitted.
    let status = ctx::status(n_maps, plan.programs.len());
    if status > i16::MAX as usize - 3 {
        return Err(Error::Limit {
            what: format!("the loader ctx for {n_maps} maps and {} programs puts its 4-byte status word at offset {status}, but the loader reaches ctx fields only as r6 + a 16-bit instruction offset (the verifier refuses a modified ctx pointer), so a 4-byte field must start at or below {} (over by {}); each map takes {} ctx bytes, each program {}", plan.programs.len(), i16::MAX - 3, status - (i16::MAX as usize - 3), ctx::MAP_DESC_SIZE, ctx::PROG_DESC_SIZE),
        });
    }
    let (ext_slot, n_ext_slots) = extern_slots(plan);
    let fd_slots = fd_array_slots(n_maps, n_ext_slots)?;
    check_kfunc_count(plan)?;
    let mut blob = Blob::default();
    let fd_array = blob.reserve(
        4 * fd_slots,
        "fd_array: map fds, then BTF fds of kernel-symbol modules",
    );
    let btf_fd = blob.reserve(4, "BTF fd");
    let inner_fd = blob.reserve(4, "fd of the inner map template being used");
    let scratch = blob.reserve(4, "program fd being stored in a prog_array");
    let zero_key = blob.reserve(4, "key 0");
    let license = blob.push(&nul_terminated(&plan.license), "license");
    // Program code goes in before any step, so extern resolution can patch it in place.
    let prog_insns = plan
        .programs
        .iter()
        .map(|p| blob.push(&p.linked.insns, format!("insns of `{}`", p.def.func.name)))
        .collect();
    let mut b = Builder::for_plan(plan);
    let cleanup = b.label();
    let mut g = Gen {
        plan,
        b,
        blob,
        cleanup,
        fd_array,
        btf_fd,
        zero_key,
        license,
        data_init: vec![None; n_maps],
        inner_fd,
        scratch,
        prog_insns,
        ext_slot,
        steps: Vec::new(),
        marker_attr: None,
        layout: plan.fd_layout(),
    };
    g.prologue();
    g.load_btf();
    for (i, map) in plan.maps.iter().enumerate() {
        let reused = g.reused_map(i, map);
        g.map_create(i, map);
        if map.data_kind().is_some() && !map.starts_zeroed() {
            g.map_init(i, map);
        }
        g.b.bind(reused);
    }
    for (i, map) in plan.maps.iter().enumerate() {
        for (slot, target) in &map.init {
            if let crate::maps::InitRef::Map(m) = target {
                g.init_map_slot(i, *slot, *m);
            }
        }
    }
    for k in 0..plan.externs.list.len() {
        g.resolve_extern(k);
    }
    for (j, prog) in plan.programs.iter().enumerate() {
        g.prog_load(j, prog);
    }
    for &(i, slot, j) in &plan.prog_array_init {
        g.init_prog_slot(i, slot, j);
    }
    g.close_extern_fds();
    g.epilogue();
    let Gen {
        b,
        blob,
        data_init,
        steps,
        ..
    } = g;
    let (insns, notes) = b.finish()?;
    let (blob, blob_map) = blob.into_parts();
    Ok(Loader {
        insns,
        blob,
        notes,
        blob_map,
        ctx_size,
        data_init,
        steps,
        ctx_area: None,
        ops: None,
    })
}

/// The `fd_array` slot of each kernel-BTF extern (for the BTF fd of the module it lives in),
/// after the map fds, and how many there are. Slot 0 always means vmlinux to a kfunc call,
/// so extern slots start at 1.
pub fn extern_slots(plan: &Plan) -> (Vec<Option<usize>>, usize) {
    let ext_base = plan.maps.len().max(1);
    let mut ext_slot = vec![None; plan.externs.list.len()];
    let mut n_ext_slots = 0;
    for (k, e) in plan.externs.list.iter().enumerate() {
        if matches!(e.kind, ExternKind::Kfunc | ExternKind::TypedKsym { .. }) {
            ext_slot[k] = Some(ext_base + n_ext_slots);
            n_ext_slots += 1;
        }
    }
    (ext_slot, n_ext_slots)
}

/// Refuses a program calling more distinct kfuncs than the kernel accepts.
pub fn check_kfunc_count(plan: &Plan) -> Result<()> {
    for p in &plan.programs {
        let mut kfuncs: Vec<usize> = p
            .linked
            .extern_sites
            .iter()
            .filter(|s| s.kind == SiteKind::KfuncCall)
            .map(|s| s.ext)
            .collect();
        kfuncs.sort_unstable();
        kfuncs.dedup();
        if kfuncs.len() > MAX_KFUNC_DESCS {
            return Err(Error::Limit {
                what: format!(
                    "program `{}` calls {} distinct kfuncs; the kernel accepts at most {MAX_KFUNC_DESCS} per program (MAX_KFUNC_DESCS / MAX_KFUNC_BTFS), over by {}",
                    p.def.func.name,
                    kfuncs.len(),
                    kfuncs.len() - MAX_KFUNC_DESCS
                ),
            });
        }
    }
    Ok(())
}

/// Longest attach target name set at load time, NUL included (`KSYM_NAME_LEN`).
const TARGET_NAME_MAX: usize = 512;

/// Size of the reserved `fd_array`: one slot per map, then one per kernel-BTF extern, which
/// start at index 1 at least (a kfunc call's `off` = 0 means vmlinux). A kfunc call's `off`
/// (s16) must reach every extern slot.
pub fn fd_array_slots(n_maps: usize, n_ext_slots: usize) -> Result<usize> {
    let slots = if n_ext_slots > 0 {
        n_maps.max(1) + n_ext_slots
    } else {
        n_maps.max(1)
    };
    let max = i16::MAX as usize + 1;
    if slots > max {
        return Err(Error::Limit {
            what: format!(
                "{n_maps} maps and {n_ext_slots} kernel-BTF externs need {slots} fd_array slots, but a kfunc call's 16-bit offset addresses at most {max} (over by {})",
                slots - max
            ),
        });
    }
    Ok(slots)
}

/// `s` with its NUL, as the kernel reads names.
pub(crate) fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_array_is_sized_exactly_and_bounded_by_the_kfunc_offset() {
        assert_eq!(fd_array_slots(0, 0).unwrap(), 1);
        assert_eq!(fd_array_slots(3, 0).unwrap(), 3);
        // With no maps, slot 0 stays unused: off = 0 means vmlinux.
        assert_eq!(fd_array_slots(0, 2).unwrap(), 3);
        assert_eq!(fd_array_slots(5, 2).unwrap(), 7);
        assert_eq!(fd_array_slots(32_000, 768).unwrap(), 32_768);
        let err = fd_array_slots(32_000, 769).unwrap_err().to_string();
        assert!(
            err.contains("32769 fd_array slots") && err.contains("over by 1"),
            "{err}"
        );
    }
}
