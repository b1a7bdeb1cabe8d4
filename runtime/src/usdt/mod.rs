//! USDT (statically defined user-space tracepoints, `<sys/sdt.h>` probes): what libbpf's `usdt.c` does, for
//! programs written with libbpf's `<bpf/usdt.bpf.h>` (`SEC("usdt")`, `BPF_USDT(...)`, `bpf_usdt_arg`).
//!
//! [`UsdtManager::attach`] (or [`attach_usdt`]) reads the `.note.stapsdt` ELF notes of the *target* binary,
//! keeps the probes named `provider:name`, turns each probe's address into a file offset (applying the
//! `.stapsdt.base` prelink adjustment), parses its x86-64 argument string (`-4@%eax 8@-8(%rbp) 4@$5`) into
//! libbpf's `struct __bpf_usdt_spec`, writes that spec into the object's `__bpf_usdt_specs` map at a free
//! spec id, and attaches the program with one uprobe perf event per probe location whose BPF cookie is that
//! spec id. A probe's semaphore is incremented by the kernel while the uprobe is installed (the uprobe
//! PMU's `ref_ctr_offset`), as libbpf does.
//!
//! ```no_run
//! # fn f(prog: std::os::fd::BorrowedFd<'_>, specs: std::os::fd::BorrowedFd<'_>) -> Result<(), lskel::usdt::UsdtError> {
//! let usdt = lskel::usdt::UsdtManager::new(specs)?;
//! let links = usdt.attach(prog, None, "/usr/bin/python3".as_ref(), "python", "function__entry", 0)?;
//! println!("{} probe locations", links.len());
//! # Ok(()) }
//! ```
//!
//! BPF cookies are required (Linux 5.15+): the `__bpf_usdt_ip_to_spec_id` fallback of older kernels is not
//! filled. Only 64-bit little-endian ELF files and x86-64 argument specs are supported.

use std::fmt;
use std::path::PathBuf;

mod args;
mod attach;
mod notes;

pub use args::*;
pub use attach::*;
pub use notes::*;

/// `BPF_USDT_MAX_ARG_CNT` of `usdt.bpf.h`.
pub const USDT_MAX_ARG_CNT: usize = 12;
/// Size of `struct __bpf_usdt_arg_spec`.
pub const USDT_ARG_SPEC_SIZE: usize = 16;
/// Size of `struct __bpf_usdt_spec` (the value size of `__bpf_usdt_specs`).
pub const USDT_SPEC_SIZE: usize = 208;

const NOTE_SECTION: &[u8] = b".note.stapsdt";
const BASE_SECTION: &[u8] = b".stapsdt.base";
const NOTE_NAME: &[u8] = b"stapsdt";
const NOTE_TYPE: u32 = 3;
const UPROBE_PMU_TYPE: &str = "/sys/bus/event_source/devices/uprobe/type";
const UPROBE_REF_CTR_FORMAT: &str = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset";

/// Why a USDT attachment failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum UsdtError {
    /// Reading a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The target binary is not an ELF file this module understands, or its notes are malformed.
    Elf {
        /// The binary.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No probe `provider:name` in the binary.
    NotFound {
        /// The binary.
        path: PathBuf,
        /// `provider:name`.
        probe: String,
    },
    /// An argument spec string could not be parsed.
    Arg {
        /// `provider:name`.
        probe: String,
        /// The whole argument string of the note.
        args: String,
        /// What is wrong.
        what: String,
    },
    /// Every spec id of `__bpf_usdt_specs` is taken.
    TooManySpecs {
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// The probe has a semaphore, and this kernel cannot count it (no uprobe `ref_ctr_offset`).
    NoSemaphoreSupport {
        /// `provider:name`.
        probe: String,
    },
    /// A system call failed.
    Sys(crate::Error),
}

impl fmt::Display for UsdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsdtError::Io { path, source } => {
                write!(f, "usdt: reading {}: {source}", path.display())
            }
            UsdtError::Elf { path, what } => write!(f, "usdt: ELF file {}: {what}", path.display()),
            UsdtError::NotFound { path, probe } => {
                write!(f, "usdt: no probe `{probe}` in {}", path.display())
            }
            UsdtError::Arg { probe, args, what } => {
                write!(f, "usdt: probe `{probe}`, arguments `{args}`: {what}")
            }
            UsdtError::TooManySpecs { max_entries } => {
                write!(
                    f,
                    "usdt: all {max_entries} entries of __bpf_usdt_specs are in use"
                )
            }
            UsdtError::NoSemaphoreSupport { probe } => write!(
                f,
                "usdt: probe `{probe}` has a semaphore and the kernel has no uprobe ref_ctr_offset"
            ),
            UsdtError::Sys(e) => write!(f, "usdt: {e}"),
        }
    }
}

impl std::error::Error for UsdtError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UsdtError::Io { source, .. } => Some(source),
            UsdtError::Sys(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for UsdtError {
    fn from(e: crate::Error) -> Self {
        UsdtError::Sys(e)
    }
}

#[cfg(test)]
mod tests;
