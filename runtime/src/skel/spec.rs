//! The compile-time half of a skeleton: its spec, map definitions, initial values and `.kconfig` layout.

use std::os::fd::OwnedFd;

use super::struct_ops::{SkelStructOps, StructOpsValue};
use crate::kconfig::KconfigExtern;
use crate::sys::trusted::TrustedLoader;

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

/// A map as the object defines it (before the settings of [`OpenMap`](super::OpenMap)).
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
    pub(super) addr: u64,
    pub(super) len: usize,
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
