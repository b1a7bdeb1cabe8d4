//! What generated skeletons are built from: the open-time map settings and the load step
//! that turns the loader's ctx into owned fds.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::LoaderCtx;
use crate::kconfig::{fill, KconfigExtern};
use crate::load::{load_and_run_reusing, LoadOptions};
use crate::sys::bpf::prog_bind_map;
use crate::sys::trusted::TrustedLoader;
use crate::{Error, Result, VerifierLog};

/// A program of an open skeleton: whether to load it, and what it attaches to.
#[derive(Clone, Debug)]
pub struct OpenProg {
    autoload: bool,
    attach_target: Option<String>,
    /// A duplicate of the target program's fd (ours: it cannot be closed and reused under
    /// us before load), and the BTF id.
    target_prog: Option<(Arc<OwnedFd>, u32)>,
}

/// Two settings are equal when they set the same values and the same target program (the
/// same duplicated fd).
impl PartialEq for OpenProg {
    fn eq(&self, other: &OpenProg) -> bool {
        let target_eq = match (&self.target_prog, &other.target_prog) {
            (None, None) => true,
            (Some((a, x)), Some((b, y))) => Arc::ptr_eq(a, b) && x == y,
            _ => false,
        };
        (self.autoload, &self.attach_target) == (other.autoload, &other.attach_target) && target_eq
    }
}

impl Eq for OpenProg {}

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
    /// its `btf_ids` module). The fd is duplicated, so `prog` need not outlive this call.
    pub fn set_attach_target_prog(
        &mut self,
        prog: impl AsFd,
        btf_id: u32,
    ) -> Result<&mut OpenProg> {
        let fd = prog.as_fd().try_clone_to_owned().map_err(|e| Error::Io {
            path: "the target program fd (dup)",
            source: e,
        })?;
        self.target_prog = Some((Arc::new(fd), btf_id));
        Ok(self)
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

/// A map of an open skeleton: settings that can change before load, as libbpf's
/// `bpf_map__set_*` setters. Each goes to the loader through the ctx; what is not set keeps
/// the object's value.
#[derive(Clone, Debug)]
pub struct OpenMap {
    max_entries: u32,
    key_size: Option<u32>,
    value_size: Option<u32>,
    map_flags: Option<u32>,
    numa_node: Option<u32>,
    map_extra: Option<u64>,
    inner_map: Option<Arc<OwnedFd>>,
    reuse: Option<Arc<OwnedFd>>,
    pin_path: Option<PathBuf>,
    pin_root: Option<PathBuf>,
}

impl OpenMap {
    /// A map whose object declares `max_entries`.
    pub const fn new(max_entries: u32) -> OpenMap {
        OpenMap {
            max_entries,
            key_size: None,
            value_size: None,
            map_flags: None,
            numa_node: None,
            map_extra: None,
            inner_map: None,
            reuse: None,
            pin_path: None,
            pin_root: None,
        }
    }

    /// Uses the existing map `map` instead of creating one (libbpf's `bpf_map__reuse_fd`):
    /// the programs of this skeleton then share it with whoever else holds it. The fd is
    /// duplicated, so `map` need not outlive this call; the loaded skeleton owns its own
    /// descriptor of the map.
    ///
    /// At load the map is checked against what the skeleton would create (its type, key and
    /// value size, `max_entries`, map flags and `map_extra`, with the settings made here): a
    /// difference fails the load with [`Error::MapReuse`] naming the field and both values.
    /// The map is used as it is: nothing is written to it. A map pinned at this map's pin path
    /// (see [`set_pin_path`](Self::set_pin_path)) takes precedence, as in libbpf; when nothing is
    /// pinned there, the reused map is pinned there after load. struct_ops maps cannot be
    /// reused.
    pub fn reuse_fd(&mut self, map: impl AsFd) -> Result<&mut OpenMap> {
        let fd = map.as_fd().try_clone_to_owned().map_err(|e| Error::Io {
            path: "the map fd to reuse (dup)",
            source: e,
        })?;
        self.reuse = Some(Arc::new(fd));
        Ok(self)
    }

    /// Whether a map to reuse was given with [`reuse_fd`](Self::reuse_fd).
    pub fn reused(&self) -> bool {
        self.reuse.is_some()
    }

    /// Pins the map at `path`, a file in a BPF file system (libbpf's `bpf_map__set_pin_path`),
    /// whether or not the object declares `__uint(pinning, LIBBPF_PIN_BY_NAME)`: at load, a map
    /// already pinned there is opened, checked as [`reuse_fd`](Self::reuse_fd) checks, and
    /// reused; otherwise the new map is pinned there after a successful load.
    pub fn set_pin_path(&mut self, path: impl Into<PathBuf>) -> &mut OpenMap {
        self.pin_path = Some(path.into());
        self
    }

    /// Sets the directory under which a map declared `__uint(pinning, LIBBPF_PIN_BY_NAME)` is
    /// pinned, as `<root>/<map name>` (default [`DEFAULT_PIN_ROOT`]). A path set with
    /// [`set_pin_path`](Self::set_pin_path) wins. The generated `OpenSkel::set_pin_root` sets it
    /// for every map.
    pub fn set_pin_root(&mut self, root: impl Into<PathBuf>) -> &mut OpenMap {
        self.pin_root = Some(root.into());
        self
    }

    /// Where the map named `name` is pinned at load (`None`: it is not), given whether the
    /// object declares it `LIBBPF_PIN_BY_NAME`.
    fn pin_path(&self, name: &str, pin_by_name: bool) -> Option<PathBuf> {
        if let Some(p) = &self.pin_path {
            return Some(p.clone());
        }
        pin_by_name.then(|| {
            (self.pin_root.as_deref())
                .unwrap_or(Path::new(DEFAULT_PIN_ROOT))
                .join(name)
        })
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

    /// The key size set with [`set_key_size`](Self::set_key_size).
    pub fn key_size(&self) -> Option<u32> {
        self.key_size
    }

    /// Creates the map with keys of `size` bytes. The object's BTF key and value types
    /// describe its own sizes, so the map is then created without them.
    pub fn set_key_size(&mut self, size: u32) -> &mut OpenMap {
        self.key_size = Some(size);
        self
    }

    /// The value size set with [`set_value_size`](Self::set_value_size).
    pub fn value_size(&self) -> Option<u32> {
        self.value_size
    }

    /// Creates the map with values of `size` bytes (e.g. a `STACK_TRACE` map sized for the
    /// stack depth chosen at run time). The map is then created without BTF key/value types.
    pub fn set_value_size(&mut self, size: u32) -> &mut OpenMap {
        self.value_size = Some(size);
        self
    }

    /// The map flags set with [`set_map_flags`](Self::set_map_flags).
    pub fn map_flags(&self) -> Option<u32> {
        self.map_flags
    }

    /// Creates the map with `map_flags` (`BPF_F_*`) instead of the object's.
    pub fn set_map_flags(&mut self, flags: u32) -> &mut OpenMap {
        self.map_flags = Some(flags);
        self
    }

    /// The NUMA node set with [`set_numa_node`](Self::set_numa_node).
    pub fn numa_node(&self) -> Option<u32> {
        self.numa_node
    }

    /// Creates the map on NUMA node `node`; the kernel uses it only when the map flags
    /// include `BPF_F_NUMA_NODE`.
    pub fn set_numa_node(&mut self, node: u32) -> &mut OpenMap {
        self.numa_node = Some(node);
        self
    }

    /// The `map_extra` set with [`set_map_extra`](Self::set_map_extra).
    pub fn map_extra(&self) -> Option<u64> {
        self.map_extra
    }

    /// Creates the map with `map_extra` (a bloom filter's hash count, an arena's address).
    pub fn set_map_extra(&mut self, extra: u64) -> &mut OpenMap {
        self.map_extra = Some(extra);
        self
    }

    /// Gives a map-in-map its inner map: `map` is the template the kernel checks every
    /// inner map against (what libbpf's `bpf_map__set_inner_map_fd` does). Required for a
    /// map-in-map the object declares without `__array(values, ...)`; for one that has it,
    /// `map` is used instead of the object's definition. The fd is duplicated, so `map`
    /// need not outlive this call.
    pub fn set_inner_map(&mut self, map: impl AsFd) -> Result<&mut OpenMap> {
        let fd = map.as_fd().try_clone_to_owned().map_err(|e| Error::Io {
            path: "the inner map fd (dup)",
            source: e,
        })?;
        self.inner_map = Some(Arc::new(fd));
        Ok(self)
    }

    /// Writes these settings into map `i`'s ctx descriptor.
    fn apply(&self, ctx: &mut LoaderCtx, i: usize) {
        use std::os::fd::AsRawFd;
        ctx.set_max_entries(i, self.max_entries);
        if let Some(n) = self.key_size {
            ctx.set_key_size(i, n);
        }
        if let Some(n) = self.value_size {
            ctx.set_value_size(i, n);
        }
        if let Some(n) = self.map_flags {
            ctx.set_map_flags(i, n);
        }
        if let Some(n) = self.numa_node {
            ctx.set_numa_node(i, n);
        }
        if let Some(n) = self.map_extra {
            ctx.set_map_extra(i, n);
        }
        if let Some(fd) = &self.inner_map {
            ctx.set_inner_map_fd(i, fd.as_raw_fd());
        }
    }
}

/// Two settings are equal when they set the same values and the same inner map and map to
/// reuse (the same duplicated fd, not merely a map of the same shape).
impl PartialEq for OpenMap {
    fn eq(&self, other: &OpenMap) -> bool {
        let inner_eq = match (&self.inner_map, &other.inner_map) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let reuse_eq = match (&self.reuse, &other.reuse) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        (
            self.max_entries,
            self.key_size,
            self.value_size,
            self.map_flags,
        ) == (
            other.max_entries,
            other.key_size,
            other.value_size,
            other.map_flags,
        ) && (self.numa_node, self.map_extra) == (other.numa_node, other.map_extra)
            && inner_eq
            && reuse_eq
            && (&self.pin_path, &self.pin_root) == (&other.pin_path, &other.pin_root)
    }
}

impl Eq for OpenMap {}

/// A struct_ops map of a skeleton, as the object declares it: what the runtime needs to lay
/// its value out as the running kernel's BTF says.
#[derive(Debug)]
pub struct SkelStructOps {
    /// The map's index.
    pub map: usize,
    /// The map (variable) name.
    pub name: &'static str,
    /// The kernel struct, e.g. `tcp_congestion_ops`.
    pub struct_name: &'static str,
    /// From `.struct_ops.link`: registered by a link at attach time, not by the value update.
    pub link: bool,
    /// The object's bytes of the struct (function pointers zero).
    pub data: &'static [u8],
    /// The object's members of the struct, in order.
    pub members: &'static [SkelStructOpsMember],
}

/// One member of a struct_ops struct in the object.
#[derive(Debug)]
pub struct SkelStructOpsMember {
    /// Member name, matched by name in the kernel's struct.
    pub name: &'static str,
    /// Byte offset in the object's struct.
    pub offset: u32,
    /// Byte size (0: a bitfield, not moved).
    pub size: u32,
    /// The program (by index) the member points at.
    pub func: Option<usize>,
}

/// (program index, byte offset of its fd in a struct_ops value).
type ProgSlot = (usize, usize);

/// The value of struct_ops map `so` in the running kernel's layout, and for each member that
/// points at a program: (program index, offset of its slot in the value).
fn struct_ops_value(so: &SkelStructOps) -> Result<(Vec<u8>, Vec<ProgSlot>)> {
    use crate::kbtf::{kernel_struct_ops_layout, ObjectMember};
    let in_map = |e: Error| match e {
        Error::KernelBtf { what } => Error::StructOps { map: so.name, what },
        other => other,
    };
    let layout = kernel_struct_ops_layout(so.struct_name).map_err(in_map)?;
    let members: Vec<ObjectMember<'_>> = (so.members.iter())
        .map(|m| ObjectMember {
            name: m.name,
            offset: m.offset as usize,
            size: m.size as usize,
            is_func: m.func.is_some(),
        })
        .collect();
    let kernel = layout.translate(&members, so.data).map_err(in_map)?;
    let funcs = so.members.iter().filter_map(|m| Some((m.name, m.func?)));
    let mut slots = Vec::new();
    for ((name, j), off) in funcs.zip(kernel.func_offsets) {
        let off = off.ok_or_else(|| Error::StructOps {
            map: so.name,
            what: format!(
                "the object sets member `{name}` to a program, but the running kernel's `struct {}` has no such member",
                so.struct_name
            ),
        })?;
        slots.push((j, off));
    }
    Ok((kernel.value, slots))
}

/// A loaded struct_ops map's value: the kernel's layout with the program fds in their slots.
#[derive(Debug)]
pub struct StructOpsValue {
    /// The map's index.
    pub map: usize,
    /// Registered by a link (`.struct_ops.link`).
    pub link: bool,
    /// The value to write.
    pub value: Vec<u8>,
}

/// Registers struct_ops map `map` with its value: writes the value (the kernel checks and
/// copies it, and registers a map without `BPF_F_LINK` right there), then for a
/// `.struct_ops.link` map creates the link that registers it. Dropping the link unregisters
/// it. As libbpf does, values are written at attach time, not at load: some struct_ops
/// types (`bpf_dummy_ops`) take programs but refuse registration.
pub fn attach_struct_ops_value(
    map: BorrowedFd<'_>,
    value: &StructOpsValue,
) -> Result<Option<crate::Link>> {
    let sized = crate::sys::bpf::SizedMap::new(map)?;
    sized
        .update(&0u32.to_ne_bytes(), &value.value, 0)
        .map_err(|e| match e {
            Error::Syscall { errno, .. } => {
                Error::syscall("BPF_MAP_UPDATE_ELEM(struct_ops value)", errno)
            }
            other => other,
        })?;
    if value.link {
        crate::attach_struct_ops(map).map(Some)
    } else {
        Ok(None)
    }
}

/// The compile-time half of a skeleton. Its `loader` can only be made with an `unsafe`
/// constructor, whose contract also covers the other fields: they describe that loader.
#[derive(Debug)]
pub struct SkelSpec {
    /// The object's name.
    pub name: &'static str,
    /// The loader's data blob and program.
    pub loader: TrustedLoader,
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
    /// The struct_ops maps, in map order.
    pub struct_ops: &'static [SkelStructOps],
    /// Size of the ctx block the loader was generated for.
    pub ctx_size: usize,
    /// The data maps whose initial value the user may give, with the number of bytes the
    /// loader copies from it: (map index, value size).
    pub initial_sizes: &'static [(usize, usize)],
    /// Every map as the object defines it, in map order: what a map to reuse is checked
    /// against, and whether it is pinned by name.
    pub map_defs: &'static [SkelMapDef],
}

/// Where a map declared `__uint(pinning, LIBBPF_PIN_BY_NAME)` is pinned unless told otherwise:
/// `/sys/fs/bpf/<map name>`, as libbpf does.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf";

/// A map as the object defines it (before the settings of [`OpenMap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkelMapDef {
    /// The map's name in the object (the pin name of a map pinned by name).
    pub name: &'static str,
    /// `map_type`
    pub map_type: u32,
    /// `key_size`
    pub key_size: u32,
    /// `value_size`
    pub value_size: u32,
    /// `max_entries` (0 for a PERF_EVENT_ARRAY sized by the possible CPUs)
    pub max_entries: u32,
    /// `map_flags`
    pub map_flags: u32,
    /// `map_extra`
    pub map_extra: u64,
    /// Declared `__uint(pinning, LIBBPF_PIN_BY_NAME)`.
    pub pin_by_name: bool,
}

/// The user's copy of a global data section, borrowed until the loader has copied it.
#[derive(Clone, Copy, Debug)]
pub struct InitialValue<'a> {
    addr: u64,
    len: usize,
    _borrow: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> InitialValue<'a> {
    /// The bytes of `value`.
    pub fn of<T: crate::Pod>(value: &'a T) -> InitialValue<'a> {
        InitialValue {
            addr: std::ptr::from_ref(value) as u64,
            len: std::mem::size_of::<T>(),
            _borrow: std::marker::PhantomData,
        }
    }
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
    /// The struct_ops values, written when each map is attached.
    pub struct_ops: Vec<StructOpsValue>,
}

/// Names the failed step of a loader error (the loader reports its number; the skeleton
/// knows what each step does).
fn name_step(e: Error, spec: &SkelSpec) -> Error {
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
const LOG_MARKER: &str = "hdr_len not found";

/// The log of a failed step as far as it is that step's own. Only BTF and program loads
/// write one: any other step reports none. A program load refused before verification (the
/// EPERM of a locked-down program type, say) writes none either: the loader's marker is
/// still in the buffer, and that is reported as an empty log ("the kernel wrote no log for
/// this step") instead of an earlier step's log.
fn step_log(what: Option<&str>, log: VerifierLog) -> Option<VerifierLog> {
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
/// Safe because `spec.loader` is a [`TrustedLoader`]: every address this puts in the ctx
/// is borrowed until the loader has run.
pub fn load(
    spec: &SkelSpec,
    maps: &[(usize, &OpenMap)],
    initial: &[(usize, InitialValue<'_>)],
    progs: &[&OpenProg],
    opts: &LoadOptions,
) -> Result<SkelFds> {
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
    let reused: Vec<(usize, BorrowedFd<'_>)> =
        (reuse.fds.iter()).map(|(i, fd)| (*i, fd.as_fd())).collect();
    // struct_ops values in the running kernel's layout: their size goes to the map create.
    let mut struct_ops = Vec::with_capacity(spec.struct_ops.len());
    for so in spec.struct_ops {
        let (value, slots) = struct_ops_value(so)?;
        ctx.set_value_size(so.map, value.len() as u32);
        struct_ops.push((so, value, slots));
    }
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
    let fds = load_and_run_reusing(
        &mut ctx,
        spec.loader.data(),
        spec.loader.insns(),
        opts,
        &reused,
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
    for prog in progs.iter().flatten() {
        for &i in spec.rodata_maps {
            // Like libbpf, a kernel that cannot bind is not a reason to fail the load.
            let _ = prog_bind_map(prog.as_fd(), maps[i].as_fd());
        }
    }
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

/// The maps of one load that are reused or pinned.
struct ReusePlan {
    /// (map index, the map to reuse): given with `reuse_fd` or opened at its pin path.
    fds: Vec<(usize, Arc<OwnedFd>)>,
    /// (map index, pin path): nothing pinned there yet, so pinned after the load.
    to_pin: Vec<(usize, PathBuf, std::ffi::CString)>,
}

fn reuse_error(map: &'static str, what: String, errno: Option<crate::Errno>) -> Error {
    Error::MapReuse { map, what, errno }
}

fn c_path(path: &Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::InvalidArgument("a pin path contains a NUL byte"))
}

/// For each map with settings: the map to reuse (a pinned one at its pin path wins over one
/// given with `reuse_fd`, as in libbpf), checked against what the loader would create; and
/// the pin paths where nothing is pinned yet.
fn plan_reuse(spec: &SkelSpec, maps: &[(usize, &OpenMap)]) -> Result<ReusePlan> {
    let mut plan = ReusePlan {
        fds: Vec::new(),
        to_pin: Vec::new(),
    };
    for &(i, open) in maps {
        let Some(def) = spec.map_defs.get(i) else {
            continue;
        };
        let path = open.pin_path(def.name, def.pin_by_name);
        if path.is_none() && open.reuse.is_none() {
            continue;
        }
        if spec.struct_ops.iter().any(|so| so.map == i) {
            return Err(reuse_error(
                def.name,
                "a struct_ops map cannot be reused or pinned".into(),
                None,
            ));
        }
        let mut found = None;
        if let Some(path) = path {
            let c = c_path(&path)?;
            match crate::sys::bpf::obj_get(&c) {
                Ok(fd) => {
                    found = Some((
                        Arc::new(fd),
                        format!("the map pinned at {}", path.display()),
                    ))
                }
                Err(crate::Errno::NOENT) => plan.to_pin.push((i, path, c)),
                Err(e) => {
                    return Err(reuse_error(
                        def.name,
                        format!("opening the pin {} failed: {e}", path.display()),
                        Some(e),
                    ))
                }
            }
        }
        let (fd, what) = match (found, &open.reuse) {
            (Some(f), _) => f,
            (None, Some(fd)) => (fd.clone(), "the map given to reuse_fd".to_string()),
            (None, None) => continue,
        };
        check_reuse(def, open, fd.as_fd(), &what)?;
        plan.fds.push((i, fd));
    }
    Ok(plan)
}

/// What the loader would create for map `def` with the settings of `open`: (field, value).
fn expected_shape(def: &SkelMapDef, open: &OpenMap) -> Result<[(&'static str, u64); 6]> {
    const PERF_EVENT_ARRAY: u32 = 4;
    let mut max_entries = if open.max_entries != 0 {
        open.max_entries
    } else {
        def.max_entries
    };
    if def.map_type == PERF_EVENT_ARRAY && max_entries == 0 {
        max_entries = crate::cpus::possible_cpus()? as u32;
    }
    Ok([
        ("type", u64::from(def.map_type)),
        ("key_size", u64::from(open.key_size.unwrap_or(def.key_size))),
        (
            "value_size",
            u64::from(open.value_size.unwrap_or(def.value_size)),
        ),
        ("max_entries", u64::from(max_entries)),
        (
            "map_flags",
            u64::from(open.map_flags.unwrap_or(def.map_flags)),
        ),
        ("map_extra", open.map_extra.unwrap_or(def.map_extra)),
    ])
}

/// The first field in which `actual` differs from `expected`, as an error message about
/// `what` (e.g. "the map pinned at /sys/fs/bpf/counts").
fn shape_mismatch(
    what: &str,
    expected: &[(&'static str, u64); 6],
    actual: &[u64; 6],
) -> Option<String> {
    let (k, (field, want)) = (expected.iter().enumerate()).find(|&(k, &(_, v))| actual[k] != v)?;
    Some(format!(
        "{what} has {field} {}, but this skeleton's map has {field} {want}: it cannot be reused",
        actual[k]
    ))
}

/// Checks the map `fd` against what the loader would create for `def` (BPF_OBJ_GET_INFO_BY_FD).
fn check_reuse(def: &SkelMapDef, open: &OpenMap, fd: BorrowedFd<'_>, what: &str) -> Result<()> {
    let info = crate::sys::bpf::map_info(fd).map_err(|e| {
        reuse_error(
            def.name,
            format!("{what} is not a BPF map (BPF_OBJ_GET_INFO_BY_FD: {e})"),
            Some(e),
        )
    })?;
    let actual = [
        u64::from(info.map_type),
        u64::from(info.key_size),
        u64::from(info.value_size),
        u64::from(info.max_entries),
        u64::from(info.map_flags),
        info.map_extra,
    ];
    match shape_mismatch(what, &expected_shape(def, open)?, &actual) {
        Some(msg) => Err(reuse_error(def.name, msg, None)),
        None => Ok(()),
    }
}

/// Pins the maps created by this load at their pin paths. A failure unpins what this load
/// pinned before returning the error, so no pin is left half-way.
fn pin_new_maps(
    spec: &SkelSpec,
    maps: &[OwnedFd],
    to_pin: &[(usize, PathBuf, std::ffi::CString)],
) -> Result<()> {
    for (n, (i, path, c)) in to_pin.iter().enumerate() {
        let fd = maps.get(*i).ok_or(Error::InvalidArgument(
            "a map to pin is not a map of the skeleton",
        ))?;
        if let Err(e) = crate::sys::bpf::obj_pin(fd.as_fd(), c) {
            for (_, done, _) in &to_pin[..n] {
                let _ = std::fs::remove_file(done);
            }
            let name = spec.map_defs.get(*i).map_or("?", |d| d.name);
            return Err(reuse_error(
                name,
                format!("pinning at {} failed: {e}", path.display()),
                Some(e),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod reuse_tests {
    use super::*;

    const DEF: SkelMapDef = SkelMapDef {
        name: "counts",
        map_type: 1,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        map_flags: 0,
        map_extra: 0,
        pin_by_name: true,
    };

    #[test]
    fn expected_shape_follows_the_settings() {
        let mut open = OpenMap::new(16);
        assert_eq!(
            expected_shape(&DEF, &open).unwrap().map(|(_, v)| v),
            [1, 4, 8, 16, 0, 0]
        );
        open.set_max_entries(64).set_value_size(16).set_map_flags(1);
        assert_eq!(
            expected_shape(&DEF, &open).unwrap().map(|(_, v)| v),
            [1, 4, 16, 64, 1, 0]
        );
    }

    #[test]
    fn a_mismatch_names_the_field_and_both_values() {
        let open = OpenMap::new(16);
        let want = expected_shape(&DEF, &open).unwrap();
        assert_eq!(shape_mismatch("x", &want, &[1, 4, 8, 16, 0, 0]), None);
        let msg = shape_mismatch("the map pinned at /p", &want, &[1, 4, 8, 32, 0, 0]).unwrap();
        assert_eq!(
            msg,
            "the map pinned at /p has max_entries 32, but this skeleton's map has max_entries 16: it cannot be reused"
        );
        let msg = shape_mismatch("m", &want, &[2, 4, 8, 16, 0, 0]).unwrap();
        assert!(msg.contains("type 2") && msg.contains("type 1"), "{msg}");
    }

    #[test]
    fn pin_paths() {
        let mut open = OpenMap::new(1);
        assert_eq!(open.pin_path("counts", false), None);
        assert_eq!(
            open.pin_path("counts", true),
            Some(PathBuf::from("/sys/fs/bpf/counts"))
        );
        open.set_pin_root("/sys/fs/bpf/app");
        assert_eq!(
            open.pin_path("counts", true),
            Some(PathBuf::from("/sys/fs/bpf/app/counts"))
        );
        open.set_pin_path("/sys/fs/bpf/other");
        assert_eq!(
            open.pin_path("counts", false),
            Some(PathBuf::from("/sys/fs/bpf/other"))
        );
    }
}
