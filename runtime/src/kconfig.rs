//! Values of `.kconfig` externs, computed on the running kernel as libbpf computes them.
//!
//! A BPF object may declare externs such as
//!
//! ```c
//! extern unsigned int LINUX_KERNEL_VERSION __kconfig;
//! extern bool CONFIG_BPF_SYSCALL __kconfig;
//! extern int CONFIG_HZ __kconfig __weak;
//! extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
//! ```
//!
//! They live in the object's `.kconfig` map, whose value user space fills before the programs are loaded.
//! The generator knows the layout ([`KconfigExtern`]: name, offset, kind, weakness); [`fill`] writes the
//! values, following libbpf's `bpf_object__resolve_externs` and `bpf_object__process_kconfig_line`:
//!
//! - `LINUX_KERNEL_VERSION`: `KERNEL_VERSION(a, b, min(c, 255))`, from `/proc/version_signature` on
//!   Ubuntu (`"Ubuntu 5.4.0-12.15-generic 5.4.8"` gives 5.4.8), from `uname -v` on Debian
//!   (`"#1 SMP Debian 4.19.260-1 (2022-09-29)"` gives 4.19.260), else from `uname -r` (`"a.b.c…"`).
//! - `LINUX_HAS_BPF_COOKIE`: whether the kernel loads a tracepoint program calling
//!   `bpf_get_attach_cookie` (libbpf's probe, made once per process).
//! - `LINUX_HAS_SYSCALL_WRAPPER`: whether `/proc/kallsyms` lists the architecture's `sys_bpf` wrapper
//!   (`__x64_sys_bpf`, `__arm64_sys_bpf`, `__s390x_sys_bpf`, …).
//! - Any other `LINUX_*` name: 0 if `__weak`, else an error; a name with neither prefix is always an
//!   error (libbpf only knows `CONFIG_*` and `LINUX_*` externs).
//! - `CONFIG_*`: read from the kernel config: the file named by `LSKEL_KCONFIG_PATH` if set, else
//!   `/proc/config.gz`, else `/boot/config-$(uname -r)`; plain text or gzip, told apart by the gzip magic.
//!   Lines `CONFIG_X=value` set `CONFIG_X` (the first line for a name wins); `# CONFIG_X is not set` and
//!   absent names leave it unset: 0 if `__weak`, else an error. Any `CONFIG_` line without `=` or without
//!   a value makes the whole file an error, as in libbpf. The config is only read if some extern needs it,
//!   and then it must exist even if every `CONFIG_*` extern is `__weak` (libbpf fails the same way).
//!
//! Value conversion ([`KconfigType`]), as libbpf's `set_kcfg_value_tri/str/num`:
//!
//! | value | `Bool` | `Tristate` | `Char` (and `Int` of size 1) | `Int` | `Str` |
//! |---|---|---|---|---|---|
//! | `y` / `n` / `m` (first letter) | 1 / 0 / error | 1 / 0 / 2 | the letter | error | error |
//! | `"text"` | error | error | error | error | the bytes between the quotes, as is (no unescaping), NUL-terminated, truncated to `len - 1` bytes |
//! | number (`strtoull` base 0: `123`, `0x1f`, `017`, `-1`) | error | error | range-checked | range-checked | error |
//!
//! A number fits if it is representable in the extern's size and signedness; a negative number is taken
//! as its two's complement, so `-1` fits any signed integer. Values are stored in native byte order.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use crate::gzip;
use crate::{Error, Result};

/// How one `.kconfig` extern is stored (libbpf's `enum kcfg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KconfigType {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `enum libbpf_tristate`: four bytes, [`TRI_NO`] 0, [`TRI_YES`] 1, [`TRI_MODULE`] 2.
    Tristate,
    /// `char`: one signed byte. (`signed char`/`unsigned char`/`__u8`: use `Int { size: 1, .. }`, which
    /// libbpf treats as a char of that signedness.)
    Char,
    /// An integer of 1, 2, 4 or 8 bytes.
    Int {
        /// Size in bytes.
        size: usize,
        /// Whether the C type is signed.
        signed: bool,
    },
    /// `char[len]`: a NUL-terminated string of at most `len - 1` bytes.
    Str {
        /// Array length in bytes (at least 1).
        len: usize,
    },
}

/// `TRI_NO` of `enum libbpf_tristate`.
pub const TRI_NO: u32 = 0;
/// `TRI_YES` of `enum libbpf_tristate`.
pub const TRI_YES: u32 = 1;
/// `TRI_MODULE` of `enum libbpf_tristate`.
pub const TRI_MODULE: u32 = 2;

/// The environment variable naming a kernel config file to read instead of the system's.
pub const KCONFIG_PATH_ENV: &str = "LSKEL_KCONFIG_PATH";

/// The largest kernel config accepted, compressed or not (a real one is a few hundred KiB).
pub const MAX_CONFIG_SIZE: usize = 64 << 20;

impl KconfigType {
    /// Bytes the extern occupies in the `.kconfig` value.
    pub fn size(&self) -> usize {
        match *self {
            KconfigType::Bool | KconfigType::Char => 1,
            KconfigType::Tristate => 4,
            KconfigType::Int { size, .. } => size,
            KconfigType::Str { len } => len,
        }
    }

    /// libbpf's kind: a one-byte integer is a char there.
    fn kind(&self) -> Kind {
        match *self {
            KconfigType::Bool => Kind::Bool,
            KconfigType::Tristate => Kind::Tristate,
            KconfigType::Char => Kind::Char { signed: true },
            KconfigType::Int { size: 1, signed } => Kind::Char { signed },
            KconfigType::Int { size, signed } => Kind::Int { size, signed },
            KconfigType::Str { len } => Kind::Str { len },
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Tristate,
    Char { signed: bool },
    Int { size: usize, signed: bool },
    Str { len: usize },
}

/// One `.kconfig` extern: where it lives in the map value and how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KconfigExtern {
    /// The C name, e.g. `"CONFIG_HZ"` or `"LINUX_KERNEL_VERSION"`.
    pub name: &'static str,
    /// Byte offset in the `.kconfig` value.
    pub offset: usize,
    /// How the value is stored.
    pub ty: KconfigType,
    /// Declared `__weak`: may stay 0 when the kernel config does not set it.
    pub weak: bool,
}

fn err(name: impl Into<String>, what: impl Into<String>) -> Error {
    Error::Kconfig {
        name: name.into(),
        what: what.into(),
    }
}

/// Fills `value` (the whole `.kconfig` section, zeroed) for `externs` from the running kernel.
///
/// See the [module docs](self) for where each value comes from. Bytes of `value` that belong to no extern
/// are left as they are; every extern's own bytes are written (zeros when a weak one stays unset).
pub fn fill(value: &mut [u8], externs: &[KconfigExtern]) -> Result<()> {
    fill_impl(value, externs, ConfigSource::System)
}

/// Like [`fill`], but `CONFIG_*` externs come from `config`, the text of a kernel config (plain or gzip),
/// instead of the system's; `LINUX_*` externs still come from the running kernel.
pub fn fill_with_config(value: &mut [u8], externs: &[KconfigExtern], config: &[u8]) -> Result<()> {
    fill_impl(value, externs, ConfigSource::Given(config))
}

enum ConfigSource<'a> {
    System,
    Given(&'a [u8]),
}

fn fill_impl(value: &mut [u8], externs: &[KconfigExtern], source: ConfigSource<'_>) -> Result<()> {
    for ext in externs {
        check_layout(value.len(), ext)?;
    }
    for ext in externs {
        value[ext.offset..ext.offset + ext.ty.size()].fill(0);
    }

    let mut set = vec![false; externs.len()];
    let mut need_config = false;
    for (i, ext) in externs.iter().enumerate() {
        if ext.name.starts_with("CONFIG_") {
            need_config = true;
            continue;
        }
        let v = match ext.name {
            "LINUX_KERNEL_VERSION" => match kernel_version() {
                Ok(v) if v != 0 => u64::from(v),
                Ok(_) => return Err(err(ext.name, "failed to get the kernel version")),
                Err(e) => {
                    return Err(err(
                        ext.name,
                        format!("failed to get the kernel version: {e}"),
                    ))
                }
            },
            "LINUX_HAS_BPF_COOKIE" => u64::from(has_bpf_cookie()),
            "LINUX_HAS_SYSCALL_WRAPPER" => u64::from(has_syscall_wrapper()),
            name if name.starts_with("LINUX_") && ext.weak => 0,
            _ => {
                return Err(err(
                    ext.name,
                    "unrecognized virtual extern (only CONFIG_* and LINUX_KERNEL_VERSION, \
                     LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER are known)",
                ))
            }
        };
        set_num(ext, slot(value, ext), v).map_err(|what| err(ext.name, what))?;
        set[i] = true;
    }
    if !need_config {
        return Ok(());
    }

    let (source_name, text) = match source {
        ConfigSource::Given(bytes) => (
            "the given kernel config".to_string(),
            decode(bytes, "the given kernel config")?,
        ),
        ConfigSource::System => {
            let first = externs
                .iter()
                .find(|e| e.name.starts_with("CONFIG_"))
                .map_or("CONFIG_*", |e| e.name);
            let (path, bytes) = read_system_config(first)?;
            let text = decode(&bytes, &path)?;
            (path, text)
        }
    };
    apply_config(value, externs, &mut set, &text, &source_name)?;

    for (ext, &is_set) in externs.iter().zip(&set) {
        if !is_set && !ext.weak {
            return Err(err(
                ext.name,
                format!("not set in {source_name} and not __weak"),
            ));
        }
    }
    Ok(())
}

fn check_layout(value_len: usize, ext: &KconfigExtern) -> Result<()> {
    match ext.ty {
        KconfigType::Int { size, .. } if !matches!(size, 1 | 2 | 4 | 8) => {
            return Err(err(ext.name, format!("unsupported integer size {size}")));
        }
        KconfigType::Str { len: 0 } => {
            return Err(err(ext.name, "zero-length char array"));
        }
        _ => {}
    }
    let size = ext.ty.size();
    match ext.offset.checked_add(size) {
        Some(end) if end <= value_len => Ok(()),
        _ => Err(err(
            ext.name,
            format!(
                "{size} bytes at offset {} do not fit in the {value_len}-byte .kconfig value",
                ext.offset
            ),
        )),
    }
}

fn slot<'v>(value: &'v mut [u8], ext: &KconfigExtern) -> &'v mut [u8] {
    &mut value[ext.offset..ext.offset + ext.ty.size()]
}

// ---------------------------------------------------------------------------------------------------------
// Value conversion (libbpf's set_kcfg_value_tri / _str / _num). Errors are the text after "NAME: ".

fn set_tri(ext: &KconfigExtern, out: &mut [u8], v: u8) -> Result<(), String> {
    let c = char::from(v);
    match ext.ty.kind() {
        Kind::Bool => {
            if v == b'm' {
                return Err(format!("value '{c}' implies tristate or char type"));
            }
            out[0] = u8::from(v == b'y');
        }
        Kind::Tristate => {
            let t = match v {
                b'y' => TRI_YES,
                b'm' => TRI_MODULE,
                _ => TRI_NO,
            };
            out.copy_from_slice(&t.to_ne_bytes());
        }
        Kind::Char { .. } => out[0] = v,
        Kind::Int { .. } | Kind::Str { .. } => {
            return Err(format!("value '{c}' implies bool, tristate, or char type"));
        }
    }
    Ok(())
}

fn set_str(ext: &KconfigExtern, out: &mut [u8], value: &[u8]) -> Result<(), String> {
    let Kind::Str { len: sz } = ext.ty.kind() else {
        return Err(format!("value '{}' implies char array type", show(value)));
    };
    if value.len() < 2 || value.last() != Some(&b'"') {
        return Err(format!("invalid string config '{}'", show(value)));
    }
    let inner = &value[1..value.len() - 1];
    // libbpf truncates (with a warning) to sz - 1 bytes.
    let n = inner.len().min(sz - 1);
    out[..n].copy_from_slice(&inner[..n]);
    out[n] = 0;
    Ok(())
}

fn in_range(v: u64, size: usize, signed: bool) -> bool {
    if size == 8 {
        return true;
    }
    let bits = size as u32 * 8;
    if signed {
        v.wrapping_add(1u64 << (bits - 1)) < (1u64 << bits)
    } else {
        v >> bits == 0
    }
}

fn set_num(ext: &KconfigExtern, out: &mut [u8], v: u64) -> Result<(), String> {
    let (size, signed) = match ext.ty.kind() {
        Kind::Bool => {
            if v > 1 {
                return Err(format!("value '{v}' isn't boolean compatible"));
            }
            (1, false)
        }
        Kind::Char { signed } => (1, signed),
        Kind::Int { size, signed } => (size, signed),
        Kind::Tristate | Kind::Str { .. } => {
            return Err(format!(
                "value '{v}' implies integer, char, or boolean type"
            ));
        }
    };
    if !in_range(v, size, signed) {
        return Err(format!("value '{v}' doesn't fit in {size} bytes"));
    }
    match size {
        1 => out.copy_from_slice(&(v as u8).to_ne_bytes()),
        2 => out.copy_from_slice(&(v as u16).to_ne_bytes()),
        4 => out.copy_from_slice(&(v as u32).to_ne_bytes()),
        _ => out.copy_from_slice(&v.to_ne_bytes()),
    }
    Ok(())
}

/// `strtoull(s, &end, 0)` that must consume all of `s`: leading white space, an optional sign (a minus
/// negates in two's complement), `0x`/`0X` hex, `0` octal, else decimal.
fn parse_u64(s: &[u8]) -> Result<u64, &'static str> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let base: u64 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(base as u32)) {
        v = v
            .checked_mul(base)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or("out of range")?;
        i += 1;
    }
    if i == start || i != s.len() {
        return Err("not an integer");
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

// ---------------------------------------------------------------------------------------------------------
// Config lines.

/// One line of a kernel config, as libbpf reads it.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// `CONFIG_NAME=value` (`value` is never empty).
    Set { name: &'a [u8], value: &'a [u8] },
    /// `# CONFIG_NAME is not set`.
    NotSet { name: &'a [u8] },
    /// A comment, a blank line, anything not starting with `CONFIG_`.
    Other,
}

/// Parses one line (without its `\n`). Errors are libbpf's: a `CONFIG_` line without `=` or value.
fn parse_line(line: &[u8]) -> Result<Line<'_>, &'static str> {
    if !line.starts_with(b"CONFIG_") {
        if let Some(rest) = line.strip_prefix(b"# ") {
            if let Some(name) = rest.strip_suffix(b" is not set") {
                if name.starts_with(b"CONFIG_") && !name.contains(&b' ') {
                    return Ok(Line::NotSet { name });
                }
            }
        }
        return Ok(Line::Other);
    }
    let Some(eq) = line.iter().position(|&b| b == b'=') else {
        return Err("no separator");
    };
    let (name, value) = (&line[..eq], &line[eq + 1..]);
    if value.is_empty() {
        return Err("no value");
    }
    Ok(Line::Set { name, value })
}

/// Converts `value` for `ext` into `out` (libbpf's `bpf_object__process_kconfig_line` after the lookup).
fn set_value(ext: &KconfigExtern, out: &mut [u8], value: &[u8]) -> Result<(), String> {
    match value[0] {
        b'y' | b'n' | b'm' => set_tri(ext, out, value[0]),
        b'"' => set_str(ext, out, value),
        _ => {
            let v = parse_u64(value)
                .map_err(|why| format!("value '{}' isn't a valid integer ({why})", show(value)))?;
            if !matches!(ext.ty.kind(), Kind::Int { .. } | Kind::Char { .. }) {
                return Err(format!("value '{}' implies integer type", show(value)));
            }
            set_num(ext, out, v)
        }
    }
}

fn apply_config(
    value: &mut [u8],
    externs: &[KconfigExtern],
    set: &mut [bool],
    text: &[u8],
    source: &str,
) -> Result<()> {
    let by_name: HashMap<&[u8], usize> = externs
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name.starts_with("CONFIG_"))
        .map(|(i, e)| (e.name.as_bytes(), i))
        .collect();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let (name, v) = match parse_line(line) {
            Ok(Line::Set { name, value }) => (name, value),
            Ok(_) => continue,
            Err(why) => {
                return Err(err(
                    source,
                    format!("line {}: failed to parse '{}': {why}", n + 1, show(line)),
                ))
            }
        };
        let Some(&i) = by_name.get(name) else {
            continue;
        };
        if set[i] {
            continue;
        }
        let ext = &externs[i];
        set_value(ext, slot(value, ext), v)
            .map_err(|what| err(ext.name, format!("{what} (line {} of {source})", n + 1)))?;
        set[i] = true;
    }
    Ok(())
}

fn show(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

// ---------------------------------------------------------------------------------------------------------
// Config files.

const PROC_CONFIG: &str = "/proc/config.gz";

fn read_bounded(path: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_SIZE as u64 + 1)
        .read_to_end(&mut buf)?;
    if buf.len() > MAX_CONFIG_SIZE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_CONFIG_SIZE} bytes"),
        ));
    }
    Ok(buf)
}

/// The config file's path and bytes: `$LSKEL_KCONFIG_PATH`, else `/proc/config.gz`, else
/// `/boot/config-$(uname -r)`. `needed_by` names the extern in the error when there is none.
fn read_system_config(needed_by: &str) -> Result<(String, Vec<u8>)> {
    if let Some(path) = std::env::var_os(KCONFIG_PATH_ENV).filter(|p| !p.is_empty()) {
        let path = path.to_string_lossy().into_owned();
        return match read_bounded(&path) {
            Ok(bytes) => Ok((path, bytes)),
            Err(e) => Err(err(
                path,
                format!("reading the kernel config ({KCONFIG_PATH_ENV}) failed: {e}"),
            )),
        };
    }
    let proc_err = match read_bounded(PROC_CONFIG) {
        Ok(bytes) => return Ok((PROC_CONFIG.to_string(), bytes)),
        Err(e) => e,
    };
    let boot = crate::sys::uname::uname()
        .map(|u| format!("/boot/config-{}", u.release))
        .map_err(|e| {
            err(
                needed_by,
                format!("no kernel config: {PROC_CONFIG}: {proc_err}; uname: {e}"),
            )
        })?;
    match read_bounded(&boot) {
        Ok(bytes) => Ok((boot, bytes)),
        Err(e) => Err(err(
            needed_by,
            format!(
                "no kernel config: {PROC_CONFIG}: {proc_err}; {boot}: {e} \
                 (set {KCONFIG_PATH_ENV} to a config file)"
            ),
        )),
    }
}

/// Plain text as is; gzip (by its magic) decompressed.
fn decode(bytes: &[u8], source: &str) -> Result<Vec<u8>> {
    if bytes.starts_with(&gzip::GZIP_MAGIC) {
        gzip::gunzip(bytes, MAX_CONFIG_SIZE).map_err(|e| err(source, format!("bad gzip data: {e}")))
    } else {
        Ok(bytes.to_vec())
    }
}

// ---------------------------------------------------------------------------------------------------------
// LINUX_* virtual externs.

/// `KERNEL_VERSION(a, b, c)` of `<linux/version.h>`: `(a << 16) + (b << 8) + min(c, 255)`.
pub const fn kernel_version_code(a: u32, b: u32, c: u32) -> u32 {
    (a << 16)
        .wrapping_add(b << 8)
        .wrapping_add(if c > 255 { 255 } else { c })
}

/// `sscanf(s, "%u.%u.%u")` as used by libbpf: three numbers separated by dots, each optionally preceded by
/// white space; anything may follow the third.
fn scan_version(s: &str) -> Option<(u32, u32, u32)> {
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
fn ubuntu_version(signature: &str) -> Option<u32> {
    let third = signature.split_whitespace().nth(2)?;
    scan_version(third).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// Debian: `"Debian a.b.c"` inside `uname -v` (`"#1 SMP Debian 4.19.260-1 (2022-09-29)"`).
fn debian_version(uts_version: &str) -> Option<u32> {
    let at = uts_version.find("Debian ")?;
    scan_version(&uts_version[at + "Debian".len()..]).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// libbpf's `get_kernel_version` from its inputs; 0 when none of them parses.
fn kernel_version_from(version_signature: Option<&str>, uts_version: &str, release: &str) -> u32 {
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
const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;
/// `BPF_FUNC_get_attach_cookie`.
const BPF_FUNC_GET_ATTACH_COOKIE: u8 = 174;

/// libbpf's `probe_kern_bpf_cookie`: can a tracepoint program call `bpf_get_attach_cookie`?
fn has_bpf_cookie() -> bool {
    static CACHE: OnceLock<bool> = OnceLock::new();
    *CACHE.get_or_init(|| {
        let insns: [u8; 16] = [
            0x85,
            0,
            0,
            0,
            BPF_FUNC_GET_ATTACH_COOKIE,
            0,
            0,
            0, // call bpf_get_attach_cookie
            0x95,
            0,
            0,
            0,
            0,
            0,
            0,
            0, // exit
        ];
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
fn syscall_prefix() -> Option<&'static str> {
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
fn kallsyms_has(kallsyms: impl std::io::BufRead, symbol: &str) -> bool {
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
fn has_syscall_wrapper() -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &'static str, ty: KconfigType) -> KconfigExtern {
        KconfigExtern {
            name,
            offset: 0,
            ty,
            weak: false,
        }
    }

    /// Converts `value` for an extern of type `ty`; the bytes written or the error text.
    fn conv(ty: KconfigType, value: &str) -> Result<Vec<u8>, String> {
        let e = ext("CONFIG_X", ty);
        let mut out = vec![0xaa; ty.size()];
        set_value(&e, &mut out, value.as_bytes())?;
        Ok(out)
    }

    const I8: KconfigType = KconfigType::Int {
        size: 1,
        signed: true,
    };
    const U8: KconfigType = KconfigType::Int {
        size: 1,
        signed: false,
    };
    const I16: KconfigType = KconfigType::Int {
        size: 2,
        signed: true,
    };
    const U16: KconfigType = KconfigType::Int {
        size: 2,
        signed: false,
    };
    const I32: KconfigType = KconfigType::Int {
        size: 4,
        signed: true,
    };
    const U32: KconfigType = KconfigType::Int {
        size: 4,
        signed: false,
    };
    const U64: KconfigType = KconfigType::Int {
        size: 8,
        signed: false,
    };
    const I64: KconfigType = KconfigType::Int {
        size: 8,
        signed: true,
    };

    #[test]
    fn parse_lines() {
        assert_eq!(
            parse_line(b"CONFIG_BPF=y"),
            Ok(Line::Set {
                name: b"CONFIG_BPF",
                value: b"y"
            })
        );
        assert_eq!(
            parse_line(b"CONFIG_HOST=\"a=b\""),
            Ok(Line::Set {
                name: b"CONFIG_HOST",
                value: b"\"a=b\""
            })
        );
        assert_eq!(
            parse_line(b"# CONFIG_FOO is not set"),
            Ok(Line::NotSet {
                name: b"CONFIG_FOO"
            })
        );
        assert_eq!(
            parse_line(b"# Automatically generated file"),
            Ok(Line::Other)
        );
        assert_eq!(parse_line(b"#"), Ok(Line::Other));
        assert_eq!(parse_line(b""), Ok(Line::Other));
        assert_eq!(parse_line(b"  CONFIG_INDENTED"), Ok(Line::Other));
        assert_eq!(parse_line(b"CONFIG_NOSEP"), Err("no separator"));
        assert_eq!(parse_line(b"CONFIG_NOVALUE="), Err("no value"));
    }

    #[test]
    fn parse_u64_like_strtoull() {
        assert_eq!(parse_u64(b"123"), Ok(123));
        assert_eq!(parse_u64(b"0x1f"), Ok(0x1f));
        assert_eq!(parse_u64(b"0X1F"), Ok(0x1f));
        assert_eq!(parse_u64(b"017"), Ok(0o17));
        assert_eq!(parse_u64(b"0"), Ok(0));
        assert_eq!(parse_u64(b" +5"), Ok(5));
        assert_eq!(parse_u64(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), Err("out of range"));
        assert_eq!(parse_u64(b"08"), Err("not an integer"));
        assert_eq!(parse_u64(b"0x"), Err("not an integer"));
        assert_eq!(parse_u64(b"12a"), Err("not an integer"));
        assert_eq!(parse_u64(b"-"), Err("not an integer"));
        assert_eq!(parse_u64(b"1 "), Err("not an integer"));
    }

    #[test]
    fn tristate_letters() {
        use KconfigType::*;
        assert_eq!(conv(Bool, "y"), Ok(vec![1]));
        assert_eq!(conv(Bool, "n"), Ok(vec![0]));
        assert_eq!(
            conv(Bool, "m"),
            Err("value 'm' implies tristate or char type".into())
        );
        assert_eq!(conv(Tristate, "y"), Ok(TRI_YES.to_ne_bytes().to_vec()));
        assert_eq!(conv(Tristate, "m"), Ok(TRI_MODULE.to_ne_bytes().to_vec()));
        assert_eq!(conv(Tristate, "n"), Ok(TRI_NO.to_ne_bytes().to_vec()));
        assert_eq!(conv(Char, "y"), Ok(vec![b'y']));
        assert_eq!(conv(Char, "m"), Ok(vec![b'm']));
        assert_eq!(conv(U8, "n"), Ok(vec![b'n']));
        // Only the first letter counts, as in libbpf.
        assert_eq!(conv(Bool, "yes"), Ok(vec![1]));
        for ty in [I32, U64, Str { len: 4 }] {
            assert_eq!(
                conv(ty, "y"),
                Err("value 'y' implies bool, tristate, or char type".into())
            );
        }
    }

    #[test]
    fn strings() {
        use KconfigType::*;
        assert_eq!(
            conv(Str { len: 8 }, "\"none\""),
            Ok(b"none\0\xaa\xaa\xaa".to_vec())
        );
        assert_eq!(conv(Str { len: 5 }, "\"none\""), Ok(b"none\0".to_vec()));
        // Too long: truncated to len - 1 bytes plus NUL.
        assert_eq!(conv(Str { len: 4 }, "\"none\""), Ok(b"non\0".to_vec()));
        assert_eq!(conv(Str { len: 1 }, "\"none\""), Ok(b"\0".to_vec()));
        assert_eq!(conv(Str { len: 3 }, "\"\""), Ok(b"\0\xaa\xaa".to_vec()));
        // Escapes are kept as written, as libbpf does.
        assert_eq!(
            conv(Str { len: 16 }, r#""a\"b\\c""#),
            Ok(b"a\\\"b\\\\c\0\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa".to_vec())
        );
        assert_eq!(
            conv(Str { len: 4 }, "\""),
            Err("invalid string config '\"'".into())
        );
        assert_eq!(
            conv(Str { len: 4 }, "\"abc"),
            Err("invalid string config '\"abc'".into())
        );
        for ty in [Bool, Tristate, Char, I32] {
            assert_eq!(
                conv(ty, "\"x\""),
                Err("value '\"x\"' implies char array type".into())
            );
        }
    }

    #[test]
    fn numbers() {
        use KconfigType::*;
        assert_eq!(conv(I32, "1000"), Ok(1000i32.to_ne_bytes().to_vec()));
        assert_eq!(conv(U32, "0x1f"), Ok(0x1fu32.to_ne_bytes().to_vec()));
        assert_eq!(conv(I32, "-1"), Ok((-1i32).to_ne_bytes().to_vec()));
        assert_eq!(conv(I16, "-32768"), Ok((-32768i16).to_ne_bytes().to_vec()));
        assert_eq!(
            conv(I16, "-32769"),
            Err("value '18446744073709518847' doesn't fit in 2 bytes".into())
        );
        assert_eq!(conv(I16, "32767"), Ok(32767i16.to_ne_bytes().to_vec()));
        assert!(conv(I16, "32768").is_err());
        assert_eq!(conv(U16, "65535"), Ok(65535u16.to_ne_bytes().to_vec()));
        assert_eq!(
            conv(U16, "65536"),
            Err("value '65536' doesn't fit in 2 bytes".into())
        );
        assert!(conv(U16, "-1").is_err());
        assert_eq!(conv(U64, "-1"), Ok(u64::MAX.to_ne_bytes().to_vec()));
        assert_eq!(
            conv(I64, "0xffffffffffffffff"),
            Ok(u64::MAX.to_ne_bytes().to_vec())
        );
        assert_eq!(conv(U32, "4294967295"), Ok(u32::MAX.to_ne_bytes().to_vec()));
        assert!(conv(U32, "4294967296").is_err());
        assert!(conv(I32, "2147483648").is_err());
        // Char is signed; Int of size 1 is a char of its own signedness.
        assert_eq!(conv(Char, "127"), Ok(vec![127]));
        assert!(conv(Char, "128").is_err());
        assert_eq!(conv(Char, "-128"), Ok(vec![0x80]));
        assert_eq!(conv(U8, "255"), Ok(vec![255]));
        assert!(conv(U8, "256").is_err());
        assert!(conv(I8, "128").is_err());
        // Numbers need an integer or char type.
        for ty in [Bool, Tristate, Str { len: 8 }] {
            assert_eq!(conv(ty, "1"), Err("value '1' implies integer type".into()));
        }
        assert_eq!(
            conv(I32, "12abc"),
            Err("value '12abc' isn't a valid integer (not an integer)".into())
        );
        assert!(conv(I32, "99999999999999999999").is_err());
    }

    #[test]
    fn virtual_numbers() {
        use KconfigType::*;
        let mut b = [0u8; 1];
        assert_eq!(set_num(&ext("LINUX_B", Bool), &mut b, 1), Ok(()));
        assert_eq!(b, [1]);
        assert_eq!(
            set_num(&ext("LINUX_B", Bool), &mut b, 2),
            Err("value '2' isn't boolean compatible".into())
        );
        let mut t = [0u8; 4];
        assert_eq!(
            set_num(&ext("LINUX_T", Tristate), &mut t, 1),
            Err("value '1' implies integer, char, or boolean type".into())
        );
        assert_eq!(set_num(&ext("LINUX_U", U32), &mut t, 0x06_12_2c), Ok(()));
        assert_eq!(t, 0x06_12_2cu32.to_ne_bytes());
    }

    #[test]
    fn kernel_versions_from_strings() {
        assert_eq!(
            kernel_version_from_release("6.18.44-fc-v782"),
            Some(kernel_version_code(6, 18, 44))
        );
        assert_eq!(kernel_version_code(6, 18, 44), 0x06122c);
        assert_eq!(kernel_version_from_release("5.15.0"), Some(0x050f00));
        assert_eq!(kernel_version_from_release("4.19.300-1"), Some(0x0413ff));
        assert_eq!(kernel_version_from_release("5.10.255"), Some(0x050aff));
        assert_eq!(kernel_version_from_release("6.1.0-rc3+"), Some(0x060100));
        assert_eq!(kernel_version_from_release("6.18"), None);
        assert_eq!(kernel_version_from_release("6.18-rc1"), None);
        assert_eq!(kernel_version_from_release("v6.1.0"), None);
        assert_eq!(kernel_version_from_release(""), None);

        // Ubuntu: /proc/version_signature wins over uname.
        assert_eq!(
            kernel_version_from(
                Some("Ubuntu 5.4.0-12.15-generic 5.4.8\n"),
                "#13-Ubuntu SMP",
                "5.4.0-12-generic"
            ),
            kernel_version_code(5, 4, 8)
        );
        // Debian: uname -v.
        assert_eq!(
            kernel_version_from(
                None,
                "#1 SMP Debian 4.19.260-1 (2022-09-29)",
                "4.19.0-22-amd64"
            ),
            kernel_version_code(4, 19, 260)
        );
        // Debian with a patch level over 255 is clamped.
        assert_eq!(
            kernel_version_from(
                None,
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.300-1",
                "6.1.0-9-amd64"
            ),
            kernel_version_code(6, 1, 255)
        );
        // A version signature that does not parse falls through to Debian, then to the release.
        assert_eq!(
            kernel_version_from(Some("garbage"), "#1 SMP", "6.6.7-arch1"),
            kernel_version_code(6, 6, 7)
        );
        // "Debian" not followed by a version: not a Debian kernel.
        assert_eq!(
            kernel_version_from(None, "#1 SMP Debian", "6.6.7"),
            kernel_version_code(6, 6, 7)
        );
        assert_eq!(kernel_version_from(None, "#1", "garbage"), 0);
    }

    #[test]
    fn kallsyms_lookup() {
        let text = b"ffffffff81000000 T _stext\n\
            ffffffff81234560 T __x64_sys_bpf\n\
            ffffffffc0000000 t __x64_sys_bpf_helper\t[some_mod]\n\
            0000000000000000 T __arm64_sys_bpf\t[a_module]\n";
        assert!(kallsyms_has(&text[..], "__x64_sys_bpf"));
        assert!(kallsyms_has(&text[..], "_stext"));
        assert!(!kallsyms_has(&text[..], "__x64_sys_bp"));
        assert!(!kallsyms_has(&text[..], "__arm64_sys_bpf"));
        assert!(!kallsyms_has(&b""[..], "__x64_sys_bpf"));
    }

    fn run(externs: &[KconfigExtern], size: usize, config: &str) -> Result<Vec<u8>> {
        let mut v = vec![0u8; size];
        fill_with_config(&mut v, externs, config.as_bytes())?;
        Ok(v)
    }

    fn kerr(r: Result<Vec<u8>>) -> (String, String) {
        match r {
            Err(Error::Kconfig { name, what }) => (name, what),
            other => panic!("expected a Kconfig error, got {other:?}"),
        }
    }

    #[test]
    fn fill_from_a_config() {
        use KconfigType::*;
        let config = "\
# Automatically generated file; DO NOT EDIT.
CONFIG_BPF_SYSCALL=y
CONFIG_HZ=250
# CONFIG_FOO is not set
CONFIG_DEFAULT_HOSTNAME=\"(none)\"
CONFIG_MOD=m
CONFIG_HZ=1000
CONFIG_OTHER=\"ignored, no extern\"
";
        let externs = [
            KconfigExtern {
                name: "CONFIG_BPF_SYSCALL",
                offset: 0,
                ty: Bool,
                weak: false,
            },
            KconfigExtern {
                name: "CONFIG_MOD",
                offset: 4,
                ty: Tristate,
                weak: false,
            },
            KconfigExtern {
                name: "CONFIG_HZ",
                offset: 8,
                ty: I32,
                weak: true,
            },
            KconfigExtern {
                name: "CONFIG_DEFAULT_HOSTNAME",
                offset: 12,
                ty: Str { len: 16 },
                weak: false,
            },
            KconfigExtern {
                name: "CONFIG_FOO",
                offset: 28,
                ty: Bool,
                weak: true,
            },
            KconfigExtern {
                name: "CONFIG_MISSING",
                offset: 32,
                ty: U64,
                weak: true,
            },
        ];
        let v = run(&externs, 40, config).unwrap();
        assert_eq!(v[0], 1);
        assert_eq!(v[4..8], TRI_MODULE.to_ne_bytes());
        // The first line for a name wins.
        assert_eq!(v[8..12], 250i32.to_ne_bytes());
        assert_eq!(&v[12..28], b"(none)\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(v[28], 0);
        assert_eq!(v[32..40], [0; 8]);

        // Strong and not set, either by "is not set" or by absence.
        let strong = [KconfigExtern {
            name: "CONFIG_FOO",
            offset: 0,
            ty: Bool,
            weak: false,
        }];
        assert_eq!(
            kerr(run(&strong, 1, config)),
            (
                "CONFIG_FOO".into(),
                "not set in the given kernel config and not __weak".into()
            )
        );
        let strong = [KconfigExtern {
            name: "CONFIG_NOPE",
            offset: 0,
            ty: Bool,
            weak: false,
        }];
        assert_eq!(kerr(run(&strong, 1, config)).0, "CONFIG_NOPE");

        // A bad value names the extern, the value and the line.
        let bad = [KconfigExtern {
            name: "CONFIG_MOD",
            offset: 0,
            ty: Bool,
            weak: true,
        }];
        assert_eq!(
            kerr(run(&bad, 1, config)),
            (
                "CONFIG_MOD".into(),
                "value 'm' implies tristate or char type (line 6 of the given kernel config)"
                    .into()
            )
        );
        // A malformed CONFIG_ line fails the whole file, extern or not.
        let (name, what) = kerr(run(
            &externs[..1],
            1,
            "CONFIG_BPF_SYSCALL=y\nCONFIG_BROKEN\n",
        ));
        assert_eq!(name, "the given kernel config");
        assert!(
            what.contains("line 2")
                && what.contains("CONFIG_BROKEN")
                && what.contains("no separator"),
            "{what}"
        );
    }

    #[test]
    fn fill_checks_layout_and_names() {
        use KconfigType::*;
        let e = [KconfigExtern {
            name: "CONFIG_X",
            offset: 2,
            ty: I32,
            weak: true,
        }];
        assert!(kerr(run(&e, 4, "")).1.contains("do not fit"));
        let e = [KconfigExtern {
            name: "CONFIG_X",
            offset: 0,
            ty: Int {
                size: 3,
                signed: false,
            },
            weak: true,
        }];
        assert!(kerr(run(&e, 4, "")).1.contains("integer size 3"));
        let e = [KconfigExtern {
            name: "CONFIG_X",
            offset: usize::MAX,
            ty: Bool,
            weak: true,
        }];
        assert!(kerr(run(&e, 4, "")).1.contains("do not fit"));
        // Unknown virtual externs: LINUX_* weak is 0, strong is an error; other prefixes always fail.
        let e = [KconfigExtern {
            name: "LINUX_UNKNOWN",
            offset: 0,
            ty: U32,
            weak: true,
        }];
        assert_eq!(run(&e, 4, "").unwrap(), [0; 4]);
        let e = [KconfigExtern {
            name: "LINUX_UNKNOWN",
            offset: 0,
            ty: U32,
            weak: false,
        }];
        assert_eq!(kerr(run(&e, 4, "")).0, "LINUX_UNKNOWN");
        let e = [KconfigExtern {
            name: "OTHER_THING",
            offset: 0,
            ty: U32,
            weak: true,
        }];
        assert_eq!(kerr(run(&e, 4, "")).0, "OTHER_THING");
        // Weak unknown LINUX_* of a non-numeric type: libbpf's set_kcfg_value_num refuses it.
        let e = [KconfigExtern {
            name: "LINUX_UNKNOWN",
            offset: 0,
            ty: Str { len: 4 },
            weak: true,
        }];
        assert_eq!(kerr(run(&e, 4, "")).0, "LINUX_UNKNOWN");
    }
}
