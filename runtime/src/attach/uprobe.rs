//! User-space probes: uprobe / uretprobe on a binary or shared library, by symbol or offset.

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::trace::attach_perf;
use super::{failed, not_found, Link};
use crate::elf::Elf;
use crate::sys::perf::{self, UprobeEvent};
use crate::{Error, Result};

const UPROBE_PMU_TYPE: &str = "/sys/bus/event_source/devices/uprobe/type";

/// Library directories searched for a shared library given by name, after the process's maps
/// and `LD_LIBRARY_PATH`.
const LIB_DIRS: &[&str] = &[
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
];

/// Where a uprobe goes.
///
/// ```no_run
/// # fn f(prog: std::os::fd::BorrowedFd<'_>) -> lskel::Result<()> {
/// use lskel::attach::{uprobe, UprobeTarget};
/// let link = uprobe(prog, &UprobeTarget::new("libc.so.6").func("malloc"))?;
/// let ret = uprobe(prog, &UprobeTarget::new("/proc/self/exe").func("my_fn").retprobe(true).pid(std::process::id() as i32))?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeTarget {
    /// A path (anything with a `/`), or a shared library's name (`libc.so.6`: found in the
    /// process's `/proc/<pid>/maps`, `LD_LIBRARY_PATH` or the usual library directories), or a
    /// program name (found on `PATH`).
    pub binary: PathBuf,
    /// A function symbol of the binary (from `.symtab`, then `.dynsym`); `None`: `offset` is a
    /// file offset.
    pub func: Option<String>,
    /// Bytes past the function (with `func`), or the file offset of the probed instruction.
    pub offset: u64,
    /// Only this process; `None` (pid -1): every process running the binary.
    pub pid: Option<i32>,
    /// A return probe.
    pub retprobe: bool,
}

impl UprobeTarget {
    /// A probe on `binary` at file offset 0, every process, not a return probe: set the
    /// function, offset, pid and kind with the builder methods.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        UprobeTarget {
            binary: binary.into(),
            func: None,
            offset: 0,
            pid: None,
            retprobe: false,
        }
    }

    /// Probes function `func` (its symbol).
    pub fn func(mut self, func: impl Into<String>) -> Self {
        self.func = Some(func.into());
        self
    }

    /// Bytes past the function, or a file offset without one.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Only process `pid` (-1 or a negative value: every process).
    pub fn pid(mut self, pid: i32) -> Self {
        self.pid = (pid >= 0).then_some(pid);
        self
    }

    /// A return probe.
    pub fn retprobe(mut self, retprobe: bool) -> Self {
        self.retprobe = retprobe;
        self
    }
}

/// The library mapped by process `pid` (`None`: this one) whose file name is `name` or
/// starts with `name.` (`libc.so` finds `libc.so.6`).
fn find_in_maps(name: &str, pid: Option<i32>) -> Option<PathBuf> {
    let maps = match pid {
        Some(p) => format!("/proc/{p}/maps"),
        None => "/proc/self/maps".to_string(),
    };
    let text = std::fs::read_to_string(maps).ok()?;
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .find(|p| {
            let file = p.rsplit('/').next().unwrap_or(p);
            file == name || file.strip_prefix(name).is_some_and(|r| r.starts_with('.'))
        })
        .map(PathBuf::from)
}

/// The file a uprobe on `binary` probes: a path as is (made absolute, symlinks such as
/// `/proc/self/exe` resolved), a shared library (a name with `.so`) from the maps of `pid`,
/// `LD_LIBRARY_PATH` and the usual library directories, any other name from `PATH`.
pub fn resolve_binary(binary: &Path, pid: Option<i32>) -> Result<PathBuf> {
    let s = binary.to_string_lossy();
    if s.contains('/') {
        return std::fs::canonicalize(binary)
            .map_err(|e| not_found(format!("uprobe binary {s}: {e}")));
    }
    let candidates: Vec<PathBuf> = if s.contains(".so") {
        if let Some(p) = find_in_maps(&s, pid) {
            return Ok(p);
        }
        let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
        ld.split(':')
            .filter(|d| !d.is_empty())
            .map(String::from)
            .chain(LIB_DIRS.iter().map(|d| d.to_string()))
            .map(|d| Path::new(&d).join(binary))
            .collect()
    } else {
        std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(binary))
            .collect()
    };
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            not_found(format!(
                "uprobe binary {s} not found (looked in the process's maps, library directories and PATH)"
            ))
        })
}

/// The file offset of function `func` + `offset` in the ELF file `data`.
pub(crate) fn symbol_offset(data: &[u8], func: &str, offset: u64) -> Result<u64, String> {
    let elf = Elf::parse(data)?;
    let addr = elf
        .function_symbol(func)?
        .ok_or_else(|| format!("no function symbol `{func}` in .symtab or .dynsym"))?;
    Ok(elf.exec_addr_to_offset(addr)? + offset)
}

fn uprobe_pmu_type() -> Result<u32> {
    std::fs::read_to_string(UPROBE_PMU_TYPE)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| not_found(format!("no uprobe PMU ({UPROBE_PMU_TYPE} is missing)")))
}

/// Attaches a uprobe (or uretprobe) program to `target`: the binary is resolved
/// ([`resolve_binary`]), the function symbol turned into a file offset from the binary's ELF
/// symbol tables, and a uprobe PMU perf event opened and linked.
pub fn uprobe(prog: BorrowedFd<'_>, target: &UprobeTarget) -> Result<Link> {
    let path = resolve_binary(&target.binary, target.pid)?;
    let kind = if target.retprobe {
        "uretprobe"
    } else {
        "uprobe"
    };
    let at = match &target.func {
        Some(f) => format!("{f}+{:#x}", target.offset),
        None => format!("{:#x}", target.offset),
    };
    let what = format!("{kind} {}:{at}", path.display());
    let offset = match &target.func {
        None => target.offset,
        Some(func) => {
            let data = std::fs::read(&path).map_err(|e| not_found(format!("{what}: {e}")))?;
            symbol_offset(&data, func, target.offset)
                .map_err(|why| not_found(format!("{what}: {why}")))?
        }
    };
    let pmu_type = uprobe_pmu_type()?;
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::InvalidArgument("binary path contains NUL"))?;
    let perf = perf::uprobe_open(&UprobeEvent {
        pmu_type,
        path: &cpath,
        offset,
        ref_ctr_offset: 0,
        retprobe: target.retprobe,
        pid: target.pid,
    })
    .map_err(|e| failed(format!("{what}: perf_event_open"), e))?;
    attach_perf(prog, perf, &what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_is_found_by_name() {
        let p = resolve_binary(Path::new("libc.so.6"), None).unwrap();
        assert!(p.to_string_lossy().contains("libc.so"), "{p:?}");
        let data = std::fs::read(&p).unwrap();
        assert!(symbol_offset(&data, "getpid", 0).unwrap() > 0);
    }

    #[test]
    fn missing_things_are_named() {
        let e = resolve_binary(Path::new("libnope_xyz.so.9"), None).unwrap_err();
        assert!(e.to_string().contains("libnope_xyz.so.9"), "{e}");
        let data = std::fs::read("/proc/self/exe").unwrap();
        let e = symbol_offset(&data, "no_such_fn_abc", 0).unwrap_err();
        assert!(e.contains("no_such_fn_abc"), "{e}");
    }

    #[test]
    fn builder() {
        let t = UprobeTarget::new("/bin/true")
            .func("main")
            .offset(4)
            .pid(-1)
            .retprobe(true);
        assert_eq!(t.pid, None);
        assert_eq!(t.offset, 4);
        assert!(t.retprobe);
    }
}
