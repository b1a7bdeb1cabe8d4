//! The `LINUX_*` virtual externs: the kernel version code and the feature probes libbpf offers.

use std::sync::OnceLock;

use crate::{Error, Result};

/// `KERNEL_VERSION(a, b, c)` of `<linux/version.h>`: `(a << 16) + (b << 8) + min(c, 255)`.
pub const fn kernel_version_code(a: u32, b: u32, c: u32) -> u32 {
    (a << 16)
        .wrapping_add(b << 8)
        .wrapping_add(if c > 255 { 255 } else { c })
}

/// `sscanf(s, "%u.%u.%u")` as used by libbpf: three numbers separated by dots, each optionally preceded by
/// white space; anything may follow the third.
pub(super) fn scan_version(s: &str) -> Option<(u32, u32, u32)> {
    fn num(s: &str) -> Option<(u32, &str)> {
        let s = s.trim_start();
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let n = s[..end].parse().ok()?;
        Some((n, &s[end..]))
    }
    let (a, s) = num(s)?;
    let (b, s) = num(s.strip_prefix('.')?)?;
    let (c, _) = num(s.strip_prefix('.')?)?;
    Some((a, b, c))
}

/// Kernel version from `uname -r`, e.g. `"6.18.44-fc-v782"` → `KERNEL_VERSION(6, 18, 44)`.
pub fn kernel_version_from_release(release: &str) -> Option<u32> {
    scan_version(release).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// Ubuntu: the third field of `/proc/version_signature` (`"Ubuntu 5.4.0-12.15-generic 5.4.8"`).
pub(super) fn ubuntu_version(signature: &str) -> Option<u32> {
    let third = signature.split_whitespace().nth(2)?;
    scan_version(third).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// Debian: `"Debian a.b.c"` inside `uname -v` (`"#1 SMP Debian 4.19.260-1 (2022-09-29)"`).
pub(super) fn debian_version(uts_version: &str) -> Option<u32> {
    let at = uts_version.find("Debian ")?;
    scan_version(&uts_version[at + "Debian".len()..]).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// libbpf's `get_kernel_version` from its inputs; 0 when none of them parses.
pub(super) fn kernel_version_from(
    version_signature: Option<&str>,
    uts_version: &str,
    release: &str,
) -> u32 {
    version_signature
        .and_then(ubuntu_version)
        .or_else(|| debian_version(uts_version))
        .or_else(|| kernel_version_from_release(release))
        .unwrap_or(0)
}

/// The running kernel's `LINUX_VERSION_CODE`, as libbpf's `get_kernel_version` computes it (Ubuntu's
/// `/proc/version_signature`, then Debian's `uname -v`, then `uname -r`); 0 if it cannot be parsed.
pub fn kernel_version() -> Result<u32> {
    let uts = crate::sys::uname::uname().map_err(|e| Error::syscall("uname", e))?;
    let signature = std::fs::read_to_string("/proc/version_signature").ok();
    Ok(kernel_version_from(
        signature.as_deref(),
        &uts.version,
        &uts.release,
    ))
}

/// `BPF_PROG_TYPE_TRACEPOINT`.
pub(super) const BPF_PROG_TYPE_TRACEPOINT: u32 = lskel_abi::prog_type::TRACEPOINT;

/// libbpf's `probe_kern_bpf_cookie`: can a tracepoint program call `bpf_get_attach_cookie`?
pub(super) fn has_bpf_cookie() -> bool {
    static CACHE: OnceLock<bool> = OnceLock::new();
    *CACHE.get_or_init(|| {
        use lskel_abi::insn::{encode, BPF_EXIT, BPF_JMP, CALL};
        let mut insns = [0u8; 16];
        insns[..8].copy_from_slice(&encode(CALL, 0, 0, 0, lskel_abi::helper::GET_ATTACH_COOKIE));
        insns[8..].copy_from_slice(&encode(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        crate::sys::bpf::prog_load(&mut crate::sys::bpf::ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_TRACEPOINT,
            insns: &insns,
            license: Some(c"GPL"),
            ..Default::default()
        })
        .is_ok()
    })
}

/// libbpf's `arch_specific_syscall_pfx`.
pub(super) fn syscall_prefix() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some("x64")
    } else if cfg!(target_arch = "x86") {
        Some("ia32")
    } else if cfg!(target_arch = "s390x") {
        Some("s390x")
    } else if cfg!(target_arch = "arm") {
        Some("arm")
    } else if cfg!(target_arch = "aarch64") {
        Some("arm64")
    } else if cfg!(any(target_arch = "mips", target_arch = "mips64")) {
        Some("mips")
    } else if cfg!(any(target_arch = "riscv32", target_arch = "riscv64")) {
        Some("riscv")
    } else if cfg!(any(target_arch = "powerpc", target_arch = "powerpc64")) {
        Some("powerpc")
    } else {
        None
    }
}

/// Whether `kallsyms` (the text of `/proc/kallsyms`) lists `symbol` (a kernel symbol, not a module's).
pub(super) fn kallsyms_has(kallsyms: impl std::io::BufRead, symbol: &str) -> bool {
    kallsyms.split(b'\n').map_while(|l| l.ok()).any(|line| {
        let mut fields = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|f| !f.is_empty());
        let name = fields.nth(2);
        name == Some(symbol.as_bytes()) && fields.next().is_none()
    })
}

/// Whether the kernel wraps syscalls (`__x64_sys_bpf` and the like exist): libbpf's
/// `probe_kern_syscall_wrapper`, by `/proc/kallsyms` instead of a kprobe. False when unreadable.
pub(super) fn has_syscall_wrapper() -> bool {
    static CACHE: OnceLock<bool> = OnceLock::new();
    *CACHE.get_or_init(|| {
        let Some(pfx) = syscall_prefix() else {
            return false;
        };
        match std::fs::File::open("/proc/kallsyms") {
            Ok(f) => kallsyms_has(std::io::BufReader::new(f), &format!("__{pfx}_sys_bpf")),
            Err(_) => false,
        }
    })
}
