//! Auto-attach: what a program's section says about where it attaches ([`AutoAttach`], filled
//! in by lskel-gen at compile time) and [`auto_attach`], which a skeleton's `attach()` calls.

use std::os::fd::BorrowedFd;
use std::path::Path;

use super::{
    iter, kprobe, kprobe_multi, ksyscall, raw_tp, tracepoint, tracing, uprobe, KprobeMultiTarget,
    Link, UprobeTarget,
};
use crate::usdt::UsdtManager;
use crate::{Error, Result};

/// Where a program attaches, as its section says (libbpf's auto-attach rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAttach {
    /// The section does not say where (`xdp`, `tc`, `kprobe` without a function, ...):
    /// `attach()` skips the program.
    None,
    /// `tracepoint/<category>/<name>`, `tp/...`.
    Tracepoint {
        /// The category (`syscalls`).
        category: &'static str,
        /// The tracepoint (`sys_enter_getpid`).
        name: &'static str,
    },
    /// `raw_tp/<name>`, `raw_tracepoint/<name>` (and `.w`/`.s` forms).
    RawTp {
        /// The tracepoint (`sys_enter`).
        name: &'static str,
    },
    /// `tp_btf`, `fentry`, `fexit`, `fmod_ret`, `lsm` (and `.s`): the target was given at load.
    Tracing,
    /// `iter/...`.
    Iter,
    /// `kprobe/<func>[+<offset>]`, `kretprobe/<func>`.
    Kprobe {
        /// The function.
        func: &'static str,
        /// Bytes into it.
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// `kprobe.multi/<pattern>`, `kretprobe.multi/<pattern>`.
    KprobeMulti {
        /// The glob.
        pattern: &'static str,
        /// Return probes.
        ret: bool,
    },
    /// `ksyscall/<syscall>`, `kretsyscall/<syscall>`.
    Ksyscall {
        /// The syscall (`openat`).
        name: &'static str,
        /// A return probe.
        ret: bool,
    },
    /// `uprobe/<path>:<func>[+<offset>]`, `uretprobe/...` (a raw `<path>:<offset>` has an
    /// empty `func`), every process.
    Uprobe {
        /// The binary (a path or a library name).
        path: &'static str,
        /// The function, or empty for a raw offset.
        func: &'static str,
        /// Bytes past `func`, or the file offset.
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// `usdt/<path>:<provider>:<name>`, every process.
    Usdt {
        /// The binary.
        path: &'static str,
        /// The provider.
        provider: &'static str,
        /// The probe.
        name: &'static str,
    },
}

impl AutoAttach {
    /// Whether the section says where to attach.
    pub fn is_some(&self) -> bool {
        !matches!(self, AutoAttach::None)
    }
}

/// Attaches `prog` as `how` says; `Ok(None)` for [`AutoAttach::None`]. `usdt` is the manager
/// of the object's `__bpf_usdt_specs` map, needed for USDT programs.
pub fn auto_attach(
    prog: BorrowedFd<'_>,
    how: &AutoAttach,
    usdt: Option<&UsdtManager<'_>>,
) -> Result<Option<Link>> {
    let link = match *how {
        AutoAttach::None => return Ok(None),
        AutoAttach::Tracepoint { category, name } => tracepoint(prog, category, name)?,
        AutoAttach::RawTp { name } => raw_tp(prog, name)?,
        AutoAttach::Tracing => tracing(prog)?,
        AutoAttach::Iter => iter(prog)?,
        AutoAttach::Kprobe { func, offset, ret } => kprobe(prog, func, offset, ret)?,
        AutoAttach::KprobeMulti { pattern, ret } => {
            kprobe_multi(prog, KprobeMultiTarget::Pattern(pattern), ret)?
        }
        AutoAttach::Ksyscall { name, ret } => ksyscall(prog, name, ret)?,
        AutoAttach::Uprobe {
            path,
            func,
            offset,
            ret,
        } => {
            let mut t = UprobeTarget::new(path).offset(offset).retprobe(ret);
            if !func.is_empty() {
                t = t.func(func);
            }
            uprobe(prog, &t)?
        }
        AutoAttach::Usdt {
            path,
            provider,
            name,
        } => {
            let usdt = usdt.ok_or(Error::InvalidArgument(
                "a usdt program needs the object's __bpf_usdt_specs map",
            ))?;
            let binary = super::resolve_binary(Path::new(path), None)?;
            let links = usdt
                .attach(prog, None, &binary, provider, name, 0)
                .map_err(|e| super::not_found(format!("usdt {path}:{provider}:{name}: {e}")))?;
            Link::from_usdt(links)
        }
    };
    Ok(Some(link))
}

/// A manager of the `__bpf_usdt_specs` map `specs` for one `attach()`: the spec ids of the
/// USDT links already held (`held`) stay taken.
pub fn usdt_manager<'fd>(
    specs: BorrowedFd<'fd>,
    held: &[Option<&Link>],
) -> Result<UsdtManager<'fd>> {
    let m = UsdtManager::new(specs).map_err(|e| super::not_found(format!("usdt: {e}")))?;
    for l in held.iter().flatten() {
        m.reserve(l.usdt_spec_ids());
    }
    Ok(m)
}
