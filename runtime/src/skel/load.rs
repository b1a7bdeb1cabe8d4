//! The load step of a skeleton: running its loader with the open-time settings and naming what failed.

use std::os::fd::{AsFd, BorrowedFd};

use super::reuse::{pin_new_maps, plan_reuse};
use super::spec::{InitialValue, SkelFds, SkelSpec};
use super::struct_ops::{struct_ops_value, StructOpsValue};
use super::{OpenMap, OpenProg};
use crate::abi::LoaderCtx;
use crate::kconfig::fill;
use crate::load::{load_and_run_timed, LoadOptions};
use crate::load_stats::{LoadStats, PhaseClock};
use crate::{Error, Result, VerifierLog};

/// Names the failed step of a loader error (the loader reports its number; the skeleton
/// knows what each step does).
pub(super) fn name_step(e: Error, spec: &SkelSpec) -> Error {
    match e {
        Error::Loader {
            errno, step, log, ..
        } => {
            let what = (step as usize)
                .checked_sub(1)
                .and_then(|i| spec.steps.get(i))
                .copied();
            Error::Loader {
                errno,
                step,
                what,
                log: log.and_then(|log| step_log(what, log)),
            }
        }
        other => other,
    }
}

/// The log a program load refused before verification leaves in the buffer: the loader's log
/// marker (a `BTF_LOAD` of four zero bytes, refused with this line), not overwritten.
pub(super) const LOG_MARKER: &str = "hdr_len not found";

/// The log of a failed step as far as it is that step's own. Only BTF and program loads
/// write one: any other step reports none. A program load refused before verification (the
/// EPERM of a locked-down program type, say) writes none either: the loader's marker is
/// still in the buffer, and that is reported as an empty log ("the kernel wrote no log for
/// this step") instead of an earlier step's log.
pub(super) fn step_log(what: Option<&str>, log: VerifierLog) -> Option<VerifierLog> {
    let what = what?;
    if !what.starts_with("load ") {
        return None;
    }
    if log.as_str().trim() == LOG_MARKER {
        return Some(VerifierLog::from_buf(&[]));
    }
    Some(log)
}

/// Runs the loader of `spec` with the open skeleton's settings: each map's settings by map
/// index, the user's copy of each global data section (each map of `spec.initial_sizes` at
/// most once, at least that many bytes), and whether to load each program (autoload; an
/// empty slice loads all).
///
/// Safe because `spec.loader` is a [`TrustedLoader`](crate::sys::trusted::TrustedLoader): every address this puts in the ctx
/// is borrowed until the loader has run.
pub fn load(
    spec: &SkelSpec,
    maps: &[(usize, &OpenMap)],
    initial: &[(usize, InitialValue<'_>)],
    progs: &[&OpenProg],
    opts: &LoadOptions,
) -> Result<SkelFds> {
    load_timed(spec, maps, initial, progs, opts, &mut PhaseClock::off())
}

/// [`load`], also measuring where the time went (see [`LoadStats`]): what a generated
/// skeleton's `load_with_stats` calls. The stats' `total` covers this call; the skeleton calls
/// [`LoadStats::finish`] again once it has mapped its data, to include that work.
pub fn load_with_stats(
    spec: &SkelSpec,
    maps: &[(usize, &OpenMap)],
    initial: &[(usize, InitialValue<'_>)],
    progs: &[&OpenProg],
    opts: &LoadOptions,
) -> Result<(SkelFds, LoadStats)> {
    let start = std::time::Instant::now();
    let mut stats = LoadStats::default();
    let fds = load_timed(
        spec,
        maps,
        initial,
        progs,
        opts,
        &mut PhaseClock::on(&mut stats),
    )?;
    stats.finish(start);
    Ok((fds, stats))
}

/// Whether `spec` is a signed skeleton whose loader takes no settings from the ctx (signed
/// without `ctx_overrides`).
fn signed_strict(spec: &SkelSpec) -> bool {
    spec.loader.signing().is_some_and(|s| !s.ctx_overrides)
}

/// Refuses, for a signed skeleton without `ctx_overrides`, the map settings its loader would
/// ignore: the ctx is unsigned input, so such a loader makes its maps exactly as signed. The
/// user's initial values of data sections are not passed to it either: the maps start with
/// the object's (signed) bytes, and values written into the open skeleton's sections before
/// load do not reach them (write them into the loaded skeleton instead). (What the runtime itself computes, the `.kconfig`
/// values and struct_ops value sizes of the running kernel, is not a user setting.)
fn check_signed_settings(spec: &SkelSpec, maps: &[(usize, &OpenMap)]) -> Result<()> {
    if !signed_strict(spec) {
        return Ok(());
    }
    for &(i, map) in maps {
        let def = spec.map_defs.get(i);
        let setting = if def.is_some_and(|d| d.max_entries != map.max_entries) {
            Some("max_entries")
        } else if map.key_size.is_some() {
            Some("key_size")
        } else if map.value_size.is_some() {
            Some("value_size")
        } else if map.map_flags.is_some() {
            Some("map_flags")
        } else if map.numa_node.is_some() {
            Some("numa_node")
        } else if map.map_extra.is_some() {
            Some("map_extra")
        } else if map.inner_map.is_some() {
            Some("an inner map (set_inner_map)")
        } else if map.reuse.is_some() {
            Some("a map to reuse (reuse_fd)")
        } else {
            None
        };
        if let Some(setting) = setting {
            return Err(Error::SignedOverride {
                map: def.map(|d| d.name),
                setting,
            });
        }
    }
    // Initial values are not refused: a generated skeleton passes its open copy of every
    // data section whether or not it was written. They are left out of the ctx instead
    // (see `load_timed`): the loader copies the signed blob's bytes.
    Ok(())
}

fn load_timed(
    spec: &SkelSpec,
    maps: &[(usize, &OpenMap)],
    initial: &[(usize, InitialValue<'_>)],
    progs: &[&OpenProg],
    opts: &LoadOptions,
    clock: &mut PhaseClock<'_>,
) -> Result<SkelFds> {
    check_signed_settings(spec, maps)?;
    let mut ctx = LoaderCtx::with_targets(spec.n_maps, spec.n_progs, spec.targets.len());
    if ctx.size() != spec.ctx_size {
        return Err(Error::InvalidArgument(
            "the skeleton's ctx layout differs from this runtime's: rebuild it with the same lskel version",
        ));
    }
    let autoload: Vec<bool> = progs.iter().map(|p| p.autoload).collect();
    // The BTF names of targets set before load, NUL-terminated, alive until the loader ran.
    let names: Vec<Option<Vec<u8>>> = (spec.targets.iter())
        .map(|&(j, prefix)| {
            let name = progs.get(j)?.attach_target.as_deref()?;
            let mut full = format!("{prefix}{name}").into_bytes();
            full.push(0);
            Some(full)
        })
        .collect();
    for (k, name) in names.iter().enumerate() {
        if let Some(name) = name {
            if name[..name.len() - 1].contains(&0) {
                return Err(Error::InvalidArgument(
                    "an attach target name contains a NUL byte",
                ));
            }
            // `names` lives until the loader has run.
            ctx.set_attach_target_raw(k, name.as_ptr() as u64, name.len() as u32);
        }
    }
    for (k, &(j, _)) in spec.targets.iter().enumerate() {
        if let Some((fd, btf_id)) = progs.get(j).and_then(|p| p.target_prog.as_ref()) {
            // `progs` borrows the duplicate until the loader has run.
            use std::os::fd::AsRawFd;
            ctx.set_attach_target_prog(k, fd.as_raw_fd(), *btf_id);
        }
    }
    ctx.set_possible_cpus(crate::cpus::possible_cpus()? as u32);
    for (j, &on) in autoload.iter().enumerate() {
        ctx.set_autoload(j, on);
    }
    for &(i, map) in maps {
        map.apply(&mut ctx, i);
    }
    // Maps to reuse (given, or found pinned) are checked now; new pin-by-name maps are
    // pinned after the load.
    let reuse = plan_reuse(spec, maps)?;
    if let Some((i, _)) = reuse.fds.first().filter(|_| signed_strict(spec)) {
        return Err(Error::SignedOverride {
            map: spec.map_defs.get(*i).map(|d| d.name),
            setting: "a map to reuse (reuse_fd, or a map pinned at its pin path)",
        });
    }
    let reused: Vec<(usize, BorrowedFd<'_>)> =
        (reuse.fds.iter()).map(|(i, fd)| (*i, fd.as_fd())).collect();
    // struct_ops values in the running kernel's layout: their size goes to the map create.
    let mut struct_ops = Vec::with_capacity(spec.struct_ops.len());
    for so in spec.struct_ops {
        let (value, slots) = struct_ops_value(so)?;
        ctx.set_value_size(so.map, value.len() as u32);
        struct_ops.push((so, value, slots));
    }
    // A strictly signed loader starts its data maps with the signed bytes: no user address.
    let initial = if signed_strict(spec) {
        &[][..]
    } else {
        initial
    };
    for (n, &(i, value)) in initial.iter().enumerate() {
        let size = (spec.initial_sizes.iter())
            .find(|&&(m, _)| m == i)
            .map(|&(_, size)| size);
        if size.is_none_or(|size| value.len < size) {
            return Err(Error::InvalidArgument(
                "an initial value is smaller than its map's value, or not for a data map",
            ));
        }
        if initial[..n].iter().any(|&(m, _)| m == i) {
            return Err(Error::InvalidArgument("two initial values for one map"));
        }
        // Borrowed by `initial` until the loader has run.
        ctx.set_initial_value_raw(i, value.addr);
    }
    // Values of the running kernel, computed now so one binary is right on every kernel.
    let kconfig = match &spec.kconfig {
        Some(k) => {
            let mut value = vec![0u8; k.size];
            fill(&mut value, k.externs)?;
            // `kconfig` lives until the loader has run.
            ctx.set_initial_value_raw(k.map, value.as_ptr() as u64);
            Some(value)
        }
        None => None,
    };
    // The loader is generated (`TrustedLoader`'s contract) and every address in the ctx is
    // alive until here.
    let fds = load_and_run_timed(
        &mut ctx,
        spec.loader.data(),
        spec.loader.insns(),
        opts,
        &reused,
        spec.loader.ctx_area(),
        spec.loader.signing(),
        clock,
    )
    .map_err(|e| name_step(e, spec))?;
    drop((kconfig, names)); // read by the loader through the ctx until here
    let maps = (fds.maps.into_iter())
        .collect::<Option<Vec<_>>>()
        .ok_or(Error::InvalidArgument(
            "the loader returned no fd for a map",
        ))?;
    let progs = fds.progs;
    for (j, prog) in progs.iter().enumerate() {
        let wanted = autoload.get(j).copied().unwrap_or(true);
        if prog.is_some() != wanted {
            return Err(Error::InvalidArgument(
                "the loader's program fds disagree with autoload",
            ));
        }
    }
    pin_new_maps(spec, &maps, &reuse.to_pin)?;
    // `.rodata` maps are bound to every program by the loader's program loads themselves
    // (`fd_array_cnt`), so no BPF_PROG_BIND_MAP is needed here.
    // The program fds go into the struct_ops values (the kernel reads each slot as a u64).
    let struct_ops = (struct_ops.into_iter())
        .map(|(so, mut value, slots)| {
            for (j, off) in slots {
                if let Some(Some(fd)) = progs.get(j) {
                    use std::os::fd::AsRawFd;
                    let fd = fd.as_raw_fd() as u64;
                    value[off..off + 8].copy_from_slice(&fd.to_ne_bytes());
                }
            }
            StructOpsValue {
                map: so.map,
                link: so.link,
                value,
            }
        })
        .collect();
    Ok(SkelFds {
        maps,
        progs,
        struct_ops,
    })
}
