//! Kernel probes: kprobe / kretprobe (kprobe PMU), kprobe.multi links, syscall probes.

use std::ffi::CString;
use std::io::BufRead;
use std::os::fd::BorrowedFd;

use super::trace::attach_perf;
use super::{failed, not_found, Link};
use crate::sys::perf_attach::{self, PerfScope};
use crate::{Errno, Error, Result};

const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";
const FILTER_FUNCTIONS: [&str; 2] = [
    "/sys/kernel/tracing/available_filter_functions",
    "/sys/kernel/debug/tracing/available_filter_functions",
];
const KALLSYMS: &str = "/proc/kallsyms";

/// The bit a PMU `format/<field>` file names (`"config:0"` gives 0).
pub fn parse_format_bit(s: &str) -> Option<u32> {
    let bit = s.trim().strip_prefix("config:")?;
    let bit = bit.split('-').next()?;
    bit.parse().ok().filter(|&b| b < 64)
}

fn read_trimmed(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path).map(|s| s.trim().to_string())
}

/// The kprobe PMU's type and its `config` value for a return probe.
fn kprobe_pmu(what: &str) -> Result<(u32, u64)> {
    let ty = read_trimmed(&format!("{KPROBE_PMU}/type"))
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            not_found(format!(
                "{what}: this kernel has no kprobe PMU ({KPROBE_PMU}/type is missing: built without CONFIG_KPROBES?)"
            ))
        })?;
    let bit = read_trimmed(&format!("{KPROBE_PMU}/format/retprobe"))
        .ok()
        .and_then(|s| parse_format_bit(&s))
        .unwrap_or(0);
    Ok((ty, 1u64 << bit))
}

/// Attaches a kprobe program to kernel function `func` at byte `offset` (0: its entry), or a
/// return probe when `retprobe`, through the kprobe PMU (`perf_event_open`), then links it.
pub fn kprobe(prog: BorrowedFd<'_>, func: &str, offset: u64, retprobe: bool) -> Result<Link> {
    let kind = if retprobe { "kretprobe" } else { "kprobe" };
    let what = format!("{kind} {func}+{offset:#x}");
    let (pmu, ret_config) = kprobe_pmu(&what)?;
    let name =
        CString::new(func).map_err(|_| Error::InvalidArgument("function name contains NUL"))?;
    let config = if retprobe { ret_config } else { 0 };
    let perf =
        perf_attach::kprobe_open(pmu, config, &name, offset, PerfScope { pid: None, cpu: 0 })
            .map_err(|e| match e {
                Errno::NOENT | Errno::INVAL => {
                    failed(format!("{what}: function not found or not probeable"), e)
                }
                e => failed(format!("{what}: perf_event_open"), e),
            })?;
    attach_perf(prog, perf, &what)
}

/// What a `kprobe.multi` link attaches to.
#[derive(Debug, Clone, Copy)]
pub enum KprobeMultiTarget<'a> {
    /// These functions.
    Symbols(&'a [&'a str]),
    /// Every traceable function matching a glob (`*` and `?`), from tracefs
    /// `available_filter_functions` or, without tracefs, `/proc/kallsyms`.
    Pattern(&'a str),
}

/// Whether `name` matches glob `pat` (`*`: any run, `?`: one character).
pub fn glob_match(pat: &str, name: &str) -> bool {
    let (p, n) = (pat.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The functions of `available_filter_functions` (or of `/proc/kallsyms`, text symbols)
/// matching `pattern`, sorted and without duplicates.
fn resolve_pattern(pattern: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut read_any = false;
    for path in FILTER_FUNCTIONS {
        if let Ok(f) = std::fs::File::open(path) {
            read_any = true;
            for line in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
                if let Some(name) = line.split_whitespace().next() {
                    if glob_match(pattern, name) {
                        out.push(name.to_string());
                    }
                }
            }
            break;
        }
    }
    if !read_any {
        let f = std::fs::File::open(KALLSYMS)
            .map_err(|_| not_found(format!("kprobe.multi {pattern}: cannot read {KALLSYMS}")))?;
        for line in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
            let mut it = line.split_whitespace();
            let (_, ty, name) = (it.next(), it.next(), it.next());
            if let (Some(ty), Some(name)) = (ty, name) {
                if (ty == "t" || ty == "T") && glob_match(pattern, name) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Attaches a `kprobe.multi` program to several kernel functions with one
/// `BPF_TRACE_KPROBE_MULTI` link (return probes when `retprobe`).
pub fn kprobe_multi(
    prog: BorrowedFd<'_>,
    target: KprobeMultiTarget<'_>,
    retprobe: bool,
) -> Result<Link> {
    let (names, what): (Vec<String>, String) = match target {
        KprobeMultiTarget::Symbols(s) => (
            s.iter().map(|s| s.to_string()).collect(),
            format!("kprobe.multi {}", s.join(",")),
        ),
        KprobeMultiTarget::Pattern(p) => (resolve_pattern(p)?, format!("kprobe.multi {p}")),
    };
    if names.is_empty() {
        return Err(not_found(format!("{what}: no function matches")));
    }
    let cs: Vec<CString> = names
        .iter()
        .map(|n| CString::new(n.as_str()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::InvalidArgument("function name contains NUL"))?;
    let refs: Vec<&std::ffi::CStr> = cs.iter().map(|c| c.as_c_str()).collect();
    perf_attach::link_create_kprobe_multi(prog, &refs, retprobe)
        .map(Link::from_fd)
        .map_err(|e| failed(format!("{what} ({} functions)", names.len()), e))
}

/// The arch prefix of syscall wrappers (`__x64_` on x86-64), as libbpf names them.
fn arch_prefix() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some("__x64_")
    } else if cfg!(target_arch = "aarch64") {
        Some("__arm64_")
    } else if cfg!(target_arch = "s390x") {
        Some("__s390x_")
    } else if cfg!(target_arch = "riscv64") {
        Some("__riscv_")
    } else if cfg!(target_arch = "powerpc64") {
        Some("__powerpc_")
    } else {
        None
    }
}

/// The kernel function a `ksyscall` probe of `syscall` attaches to: `<arch prefix>sys_<name>`
/// when the kernel has syscall wrappers (`wrapper` is the arch prefix), plain `sys_<name>`
/// otherwise.
pub fn ksyscall_function(syscall: &str, wrapper: Option<&str>) -> String {
    match wrapper {
        Some(prefix) => format!("{prefix}sys_{syscall}"),
        None => format!("sys_{syscall}"),
    }
}

/// Whether the kernel has the syscall wrapper `<prefix>sys_bpf` (from `/proc/kallsyms`).
fn has_syscall_wrapper(prefix: &str) -> bool {
    let want = format!("{prefix}sys_bpf");
    let Ok(f) = std::fs::File::open(KALLSYMS) else {
        return false;
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(|l| l.ok())
        .any(|l| l.split_whitespace().nth(2) == Some(want.as_str()))
}

/// Attaches a `ksyscall`/`kretsyscall` program to syscall `syscall` (`"openat"`): a kprobe on
/// the arch-specific wrapper (`__x64_sys_openat`) when the kernel has them, as libbpf decides.
pub fn ksyscall(prog: BorrowedFd<'_>, syscall: &str, retprobe: bool) -> Result<Link> {
    let wrapper = arch_prefix().filter(|p| has_syscall_wrapper(p));
    kprobe(prog, &ksyscall_function(syscall, wrapper), 0, retprobe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bits() {
        assert_eq!(parse_format_bit("config:0\n"), Some(0));
        assert_eq!(parse_format_bit("config:12"), Some(12));
        assert_eq!(parse_format_bit("config:32-63"), Some(32));
        assert_eq!(parse_format_bit("config1:0"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("tcp_*", "tcp_sendmsg"));
        assert!(glob_match("*sendmsg", "tcp_sendmsg"));
        assert!(glob_match("tcp_?endmsg", "tcp_sendmsg"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("tcp_*", "udp_sendmsg"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn patterns_resolve_from_tracefs_or_kallsyms() {
        if !FILTER_FUNCTIONS
            .iter()
            .any(|p| std::fs::File::open(p).is_ok())
            && std::fs::File::open(KALLSYMS).is_err()
        {
            return;
        }
        let names = resolve_pattern("vfs_rea?").unwrap();
        assert!(names.iter().any(|n| n == "vfs_read"), "{names:?}");
        assert!(names.iter().all(|n| glob_match("vfs_rea?", n)));
        assert!(resolve_pattern("no_such_function_*_xyz")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn syscall_function_names() {
        assert_eq!(
            ksyscall_function("openat", Some("__x64_")),
            "__x64_sys_openat"
        );
        assert_eq!(ksyscall_function("openat", None), "sys_openat");
    }

    #[test]
    fn kprobe_without_pmu_names_the_function() {
        if std::path::Path::new(KPROBE_PMU).exists() {
            return;
        }
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let e = kprobe(std::os::fd::AsFd::as_fd(&f), "do_sys_openat2", 0, false).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("kprobe do_sys_openat2") && s.contains("CONFIG_KPROBES"),
            "{s}"
        );
    }
}
