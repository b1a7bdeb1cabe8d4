//! The interpreter loader: a fixed program of a few hundred instructions that
//! walks a table of step descriptors in the blob in a `may_goto` loop, so the loader the kernel
//! verifies has the same size for every object. See `emit.rs` for the program, `ops.rs` for
//! the records, `table/` for how a plan becomes them.
//!
//! Protocol difference from the straight-line loader: the program cannot write the ctx at a
//! variable offset, so the fds it makes are written into the blob's ctx area (a copy of the
//! ctx), and user space reads that area back from the loader map after the run
//! ([`Loader::ctx_area`]), with the failed step.
//!
//! The table covers every object; [`unsupported`] is where one it could not would be named.

pub mod emit;
pub mod ops;
mod table;

use crate::abi::ctx;
use crate::error::{Error, Result};
use crate::loader::Loader;
use crate::plan::Plan;

/// Why `plan` needs the straight-line loader, or `None` when the interpreter covers it: it
/// covers every plan now (kernel symbols, attach targets and struct_ops included); kept as
/// the one place a step the table cannot express would be named.
pub fn unsupported(_plan: &Plan) -> Option<&'static str> {
    None
}

/// Emits the interpreter loader for `plan` (which [`unsupported`] accepts).
pub fn emit(plan: &Plan) -> Result<Loader> {
    emit_with(plan, None)
}

/// Emits the interpreter loader for `plan`; when `signed` is given, one that first checks
/// that the loader map's kernel-computed SHA-256 is that of its blob
/// ([`crate::sign::blob_sha256`]), and that takes from the ctx only what
/// [`crate::SignOptions`] lets it (see [`crate::generate_signed_with`]). An unsigned loader,
/// and a signed one with `ctx_overrides`, run the same op table.
///
/// A signed loader without `ctx_overrides` cannot take a user's inner map: a map-in-map
/// whose inner map the object does not define is refused here ([`Error::Map`]).
pub fn emit_with(plan: &Plan, signed: Option<crate::SignOptions>) -> Result<Loader> {
    if let Some(what) = unsupported(plan) {
        return Err(Error::Limit {
            what: format!("the interpreter loader does not handle {what} yet"),
        });
    }
    let overrides = signed.is_none_or(|o| o.ctx_overrides);
    if !overrides {
        check_no_overrides(plan)?;
    }
    let (n_maps, n_progs) = (plan.maps.len(), plan.programs.len());
    let ctx_size = ctx::size_with_targets(n_maps, n_progs, plan.targets.len());
    if ctx_size > ctx::MAX_SIZE {
        return Err(Error::Limit {
            what: format!(
                "the loader ctx for {n_maps} maps and {n_progs} programs takes {ctx_size} bytes; test_run accepts at most {}",
                ctx::MAX_SIZE
            ),
        });
    }
    // fd_array: map fds, then the kernel-BTF externs' module BTF fds, as in the
    // straight-line loader.
    let (ext_slot, n_ext) = crate::loader::extern_slots(plan);
    crate::loader::check_kfunc_count(plan)?;
    let fd_slots = crate::loader::fd_array_slots(n_maps, n_ext)?;
    let slots = ext_slot.iter().flatten().copied().collect();
    let mut t = table::Table::new(plan, fd_slots, slots, ctx_size, overrides);
    t.prologue();
    t.load_btf();
    for (i, map) in plan.maps.iter().enumerate() {
        t.map(i, map);
    }
    for (i, map) in plan.maps.iter().enumerate() {
        for (slot, target) in &map.init {
            if let crate::maps::InitRef::Map(m) = target {
                t.init_map_slot(i, *slot, *m);
            }
        }
    }
    for (k, &slot) in ext_slot.iter().enumerate() {
        t.resolve_extern(k, slot);
    }
    for (j, prog) in plan.programs.iter().enumerate() {
        t.prog_load(j, prog);
    }
    for &(i, slot, j) in &plan.prog_array_init {
        t.init_prog_slot(i, slot, j);
    }
    t.close_extern_fds();
    let n_main = t.epilogue();
    let (state, ctx_area) = (t.state, t.ctx_area);
    let done = t.finish(n_main);
    let layout = emit::Layout {
        blob_len: done.blob.len(),
        ops: done.ops,
        n_main: done.n_main,
        n_ops: done.n_ops,
        ctx_area,
        ctx_size,
        state,
        max_attr: done.max_attr,
        max_read: done.max_read,
        max_name: done.max_name,
        status: ctx::status(n_maps, n_progs),
        map_sha256: None,
    };
    if layout.blob_len > i32::MAX as usize {
        return Err(Error::Limit {
            what: format!(
                "a blob of {} bytes: the interpreter bounds offsets with 32-bit immediates",
                layout.blob_len
            ),
        });
    }
    let (blob, blob_map) = done.blob.into_parts();
    let layout = emit::Layout {
        map_sha256: signed.map(|_| crate::sign::blob_sha256(&blob)),
        ..layout
    };
    let (insns, notes) = emit::emit(layout)?;
    Ok(Loader {
        insns,
        blob,
        notes,
        blob_map,
        ctx_size,
        data_init: done.data_init,
        steps: done.steps,
        ctx_area: Some(ctx_area.0),
        ops: Some((done.ops.0, done.n_ops)),
    })
}

/// What a loader that takes no settings from the ctx cannot load: a map-in-map without an
/// inner map definition needs the user's inner map (`set_inner_map`), which comes through
/// the ctx.
fn check_no_overrides(plan: &Plan) -> Result<()> {
    let needs_user_inner =
        (plan.maps.iter()).find(|m| crate::maps::is_map_in_map(m.map_type) && m.inner.is_none());
    match needs_user_inner {
        Some(map) => Err(Error::Map {
            map: map.name.clone(),
            what: "a map-in-map without an inner map definition takes its inner map from the \
                   ctx at load time, which a signed skeleton without ctx overrides ignores; \
                   define the inner map in the object (`__array(values, ...)`) or sign with \
                   `ctx_overrides`"
                .into(),
        }),
        None => Ok(()),
    }
}
