//! What generated skeletons are built from: the open-time map settings and the load step
//! that turns the loader's ctx into owned fds.

use std::os::fd::{AsFd, OwnedFd};

use crate::abi::LoaderCtx;
use crate::kconfig::{fill, KconfigExtern};
use crate::load::{bpf_load_and_run, LoadOptions};
use crate::sys::bpf::prog_bind_map;
use crate::{Error, Result};

/// A program of an open skeleton: whether to load it, and what it attaches to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenProg {
    autoload: bool,
    attach_target: Option<String>,
    target_prog: Option<(i32, u32)>,
}

impl OpenProg {
    /// A program loaded by default (`false` for `?` sections).
    pub const fn new(autoload: bool) -> OpenProg {
        OpenProg {
            autoload,
            attach_target: None,
            target_prog: None,
        }
    }

    /// The attach target set with [`set_attach_target`](Self::set_attach_target).
    pub fn attach_target(&self) -> Option<&str> {
        self.attach_target.as_deref()
    }

    /// Names what a program of a section without a target attaches to: the kernel function
    /// of `SEC("fentry")`/`fexit`/`fmod_ret`, the tracepoint of `SEC("tp_btf")` (e.g.
    /// `sched_switch`), the LSM hook of `SEC("lsm")`, the iterator of `SEC("iter")`. The
    /// loader looks it up in kernel BTF at load time; a missing one fails the load naming it.
    pub fn set_attach_target(&mut self, target: &str) -> &mut OpenProg {
        self.attach_target = Some(target.to_string());
        self
    }

    /// Names what a `SEC("freplace")` program replaces: the function with BTF id `btf_id` in
    /// the BTF of the loaded program `prog` (a generated skeleton lists its functions' ids in
    /// its `btf_ids` module). `prog` must stay open until `load()` returns; it stays yours.
    pub fn set_attach_target_prog(&mut self, prog: &impl AsFd, btf_id: u32) -> &mut OpenProg {
        use std::os::fd::AsRawFd;
        self.target_prog = Some((prog.as_fd().as_raw_fd(), btf_id));
        self
    }

    /// Whether the program will be loaded.
    pub fn autoload(&self) -> bool {
        self.autoload
    }

    /// Loads the program or not; a program not loaded has no fd after load.
    pub fn set_autoload(&mut self, autoload: bool) -> &mut OpenProg {
        self.autoload = autoload;
        self
    }
}

/// A map of an open skeleton: settings that can change before load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenMap {
    max_entries: u32,
}

impl OpenMap {
    /// A map whose object declares `max_entries`.
    pub const fn new(max_entries: u32) -> OpenMap {
        OpenMap { max_entries }
    }

    /// The `max_entries` the map will be created with.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// Creates the map with `max_entries` instead of the object's value. 0 keeps the object's.
    pub fn set_max_entries(&mut self, max_entries: u32) -> &mut OpenMap {
        self.max_entries = max_entries;
        self
    }
}

/// The compile-time half of a skeleton.
#[derive(Debug)]
pub struct SkelSpec {
    /// The object's name.
    pub name: &'static str,
    /// The loader's data blob.
    pub data: &'static [u8],
    /// The loader program.
    pub insns: &'static [u8],
    /// Number of maps (ctx map descriptors).
    pub n_maps: usize,
    /// Number of programs (ctx program descriptors).
    pub n_progs: usize,
    /// Indexes of the read-only data maps (`.rodata`, `.rodata.*`): bound to every program
    /// after load, as libbpf does, so they live as long as the programs and tools list them.
    pub rodata_maps: &'static [usize],
    /// The `.kconfig` map, when the object has `__kconfig` externs.
    pub kconfig: Option<SkelKconfig>,
    /// What each loader step does: a failure at step n is reported as `steps[n - 1]`.
    pub steps: &'static [&'static str],
    /// Programs whose attach target is set at load time, in ctx entry order: (program index,
    /// BTF name prefix such as `btf_trace_`).
    pub targets: &'static [(usize, &'static str)],
}

/// Where the `.kconfig` map is and what goes in it.
#[derive(Debug)]
pub struct SkelKconfig {
    /// The map's index.
    pub map: usize,
    /// Its value size.
    pub size: usize,
    /// The externs stored in it.
    pub externs: &'static [KconfigExtern],
}

/// The fds of a loaded skeleton, in object order.
#[derive(Debug)]
pub struct SkelFds {
    /// One per map.
    pub maps: Vec<OwnedFd>,
    /// One per program; `None` for a program not loaded (autoload off).
    pub progs: Vec<Option<OwnedFd>>,
}

/// Names the failed step of a loader error. Only BTF and program loads write a log; for any
/// other step the log buffer holds an earlier step's log, which would mislead.
fn name_step(e: Error, spec: &SkelSpec) -> Error {
    match e {
        Error::Loader {
            errno, step, log, ..
        } => {
            let what = (step as usize)
                .checked_sub(1)
                .and_then(|i| spec.steps.get(i))
                .copied();
            let logs = what.is_some_and(|w| w.starts_with("load "));
            Error::Loader {
                errno,
                step,
                what,
                log: log.filter(|_| logs),
            }
        }
        other => other,
    }
}

/// Runs the loader of `spec` with the open skeleton's settings: `max_entries` per map index,
/// the address of the user's copy of each global data section, and whether to load each
/// program (autoload; an empty slice loads all).
pub fn load(
    spec: &SkelSpec,
    max_entries: &[(usize, u32)],
    initial: &[(usize, u64)],
    progs: &[&OpenProg],
    opts: &LoadOptions,
) -> Result<SkelFds> {
    let mut ctx = LoaderCtx::with_targets(spec.n_maps, spec.n_progs, spec.targets.len());
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
            ctx.set_attach_target(k, name.as_ptr() as u64, name.len() as u32);
        }
    }
    for (k, &(j, _)) in spec.targets.iter().enumerate() {
        if let Some((fd, btf_id)) = progs.get(j).and_then(|p| p.target_prog) {
            ctx.set_attach_target_prog(k, fd, btf_id);
        }
    }
    ctx.set_possible_cpus(crate::map::possible_cpus()? as u32);
    for (j, &on) in autoload.iter().enumerate() {
        ctx.set_autoload(j, on);
    }
    for &(i, n) in max_entries {
        ctx.set_max_entries(i, n);
    }
    for &(i, addr) in initial {
        ctx.set_initial_value(i, addr);
    }
    // Values of the running kernel, computed now so one binary is right on every kernel.
    let kconfig = match &spec.kconfig {
        Some(k) => {
            let mut value = vec![0u8; k.size];
            fill(&mut value, k.externs)?;
            ctx.set_initial_value(k.map, value.as_ptr() as u64);
            Some(value)
        }
        None => None,
    };
    let fds =
        bpf_load_and_run(&mut ctx, spec.data, spec.insns, opts).map_err(|e| name_step(e, spec))?;
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
    for prog in progs.iter().flatten() {
        for &i in spec.rodata_maps {
            // Like libbpf, a kernel that cannot bind is not a reason to fail the load.
            let _ = prog_bind_map(prog.as_fd(), maps[i].as_fd());
        }
    }
    Ok(SkelFds { maps, progs })
}
