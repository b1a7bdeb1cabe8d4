//! Runtime of lskel: loads eBPF *light skeletons* from Rust, with no libbpf and no ELF parsing at run time.
//!
//! A light skeleton is a data blob plus a loader program, both produced at compile time by `lskel-gen`
//! and embedded by the `bpf_skeleton!` macro. At run time [`bpf_load_and_run`] hands them to the kernel:
//! the loader program, run once with `BPF_PROG_TEST_RUN`, creates the object's maps and loads its programs
//! and returns their descriptors in a [`LoaderCtx`](abi::LoaderCtx). The rest of this crate owns those
//! descriptors and makes them usable: [`MappedData`] for global variables, [`Map`] for map elements
//! (and the typed [`TypedMap`], [`PerCpuMap`], [`Queue`], [`BloomFilter`] that skeletons return),
//! [`RingBuffer`] for ring buffers, [`Link`] for attachments.
//!
//! ```no_run
//! use lskel::{abi::LoaderCtx, bpf_load_and_run, LoadOptions};
//! # let (data, insns): (&[u8], &[u8]) = (&[], &[]);
//! let mut ctx = LoaderCtx::new(1, 1);
//! ctx.set_max_entries(0, 1024);
//! // SAFETY: `data` and `insns` are the loader lskel-gen generated for one map and one
//! // program, and the ctx holds no addresses.
//! let fds = unsafe { bpf_load_and_run(&mut ctx, data, insns, &LoadOptions::default()) }?;
//! # Ok::<(), lskel::Error>(())
//! ```
//!
//! Running loader bytes is `unsafe` ([`bpf_load_and_run`]): a loader makes the kernel read and
//! write process memory and returns descriptors. A generated skeleton's `open().load()` is the
//! safe path: its loader is a [`TrustedLoader`](sys::trusted::TrustedLoader).
//!
//! All `unsafe` code lives in [`sys`].
//!
//! # What `bpf_skeleton!` generates
//!
//! [`example_skeleton`] is the module `bpf_skeleton!("doc/example.bpf.o", name =
//! example_skeleton)` generates for a small object (`runtime/doc/example.bpf.c`: a hash map, a
//! ring buffer, `.rodata`/`.data`/`.bss` globals and one tracepoint program): `open()` returns
//! an `OpenSkel` (typed copies of the globals, per-map and per-program settings), whose `load()`
//! gives a `Skel` with `maps()`, `progs()`, and views of the globals (`bss()`, `data()`,
//! `rodata()`); the C types are in its `types` module. The object path may also be
//! `"$OUT_DIR/x.bpf.o"` or `concat!(env!("OUT_DIR"), "/x.bpf.o")` for objects a build script
//! wrote (see the `lskel-build` crate).
#![deny(unsafe_code, missing_docs)]

// Generated code names this crate `::lskel`, also in the documented example below.
#[cfg(doc)]
extern crate self as lskel;

// Built only for the docs, to show the generated API (C types without comments have no docs).
#[cfg(doc)]
#[allow(missing_docs)]
mod example {
    crate::bpf_skeleton!("doc/example.bpf.o", name = example_skeleton);
}
#[cfg(doc)]
pub use example::example_skeleton;

pub mod abi;
#[cfg(feature = "tokio")]
pub mod asyncbuf;
pub mod attach;
pub mod chars;
mod cpus;
mod elf;
mod error;
mod gzip;
mod kbtf;
pub mod kconfig;
mod load;
mod load_stats;
mod loader_cache;
pub mod map;
pub mod perfbuf;
pub mod ringbuf;
pub mod sign;
pub mod skel;
pub mod sys;
pub mod usdt;

#[cfg(feature = "tokio")]
pub use asyncbuf::{AsyncPerfBuffer, AsyncRingBuffer, PerfEvent};
pub use attach::{
    attach_link, attach_raw_tp, attach_struct_ops, iter_create, read_iter_to_string, Link,
    TcxDirection, UprobeTarget,
};
pub use error::{retry_on_intr, Errno, Error, Result, VerifierLog};
pub use load::{
    probe_kernel, LoadOptions, LoadedFds, DEFAULT_LOG_SIZE, LOADER_LICENSE, LOADER_MAP_NAME,
    LOADER_PROG_NAME,
};
pub use load_stats::LoadStats;
pub use loader_cache::drop_kept_loaders;
pub use map::{
    enable_stats, map_info, possible_cpus, prog_info, BloomFilter, Map, MapInfo, PerCpuMap,
    ProgInfo, Queue, TypedMap,
};
pub use perfbuf::{PerfBuffer, PerfRecord};
pub use ringbuf::{RingBuffer, RingBufferPoller, UserRingBuffer};
pub use sign::{Keyring, SignatureCheck};
pub use sys::mmap::{MappedData, MappedRoData, Pod, PodBytes};
pub use sys::trusted::{bpf_load_and_run, bpf_load_and_run_at};
pub use usdt::{attach_usdt, UsdtError, UsdtLinks, UsdtManager};

pub use lskel_macros::bpf_skeleton;
pub use skel::{OpenData, OpenMap, OpenProg, DEFAULT_PIN_ROOT};

/// What generated skeletons use. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::{self, LoaderCtx};
    pub use crate::attach::auto::{auto_attach, usdt_manager, AutoAttach};
    pub use crate::attach::{attach_link, attach_raw_tp, attach_struct_ops, Link};
    pub use crate::chars::{c_chars_str, set_c_chars};
    pub use crate::kconfig::{KconfigExtern, KconfigType};
    pub use crate::load::{LoadOptions, LoadedFds};
    pub use crate::load_stats::LoadStats;
    pub use crate::map::{possible_cpus, BloomFilter, Map, MapShape, PerCpuMap, Queue, TypedMap};
    pub use crate::ringbuf::RingBuffer;
    pub use crate::sign::Signing;
    pub use crate::skel::{
        attach_struct_ops_value, load, load_with_stats, InitialValue, OpenData, OpenMap, OpenProg,
        SkelFds, SkelKconfig, SkelMapDef, SkelSpec, SkelStructOps, SkelStructOpsMember,
        StructOpsValue,
    };
    pub use crate::sys::bpf;
    pub use crate::sys::mem::{pod_boxed, pod_copy, pod_read};
    pub use crate::sys::mmap::{
        array_mmap_len, page_size, MappedData, MappedRoData, Pod, PodBytes,
    };
    pub use crate::sys::trusted::TrustedLoader;
    pub use crate::usdt::UsdtManager;
    pub use crate::{Errno, Error, Result};
    pub use libc;
    pub use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
}
