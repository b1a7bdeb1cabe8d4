//! What generated skeletons are built from: the open-time map settings and the load step
//! that turns the loader's ctx into owned fds.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::LoaderCtx;
use crate::{Error, Result};

mod load;
mod open_data;
mod reuse;
mod spec;
mod struct_ops;

pub use load::*;
pub use open_data::OpenData;
pub use spec::*;
pub use struct_ops::*;

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
