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
//!   and then it must exist even if every `CONFIG_*` extern is `__weak` (libbpf fails the same way). The
//!   system's config is read, decoded and indexed once per process (later loads only look up their
//!   externs); a `LSKEL_KCONFIG_PATH` file is read again at each load.
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

use crate::{Error, Result};

mod config;
mod value;
mod version;

use config::*;
use value::*;
pub use version::*;

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

    let config = match source {
        ConfigSource::Given(bytes) => std::sync::Arc::new(ParsedConfig::parse(
            decode(bytes, "the given kernel config")?,
            "the given kernel config".to_string(),
        )?),
        ConfigSource::System => {
            let first = externs
                .iter()
                .find(|e| e.name.starts_with("CONFIG_"))
                .map_or("CONFIG_*", |e| e.name);
            system_config(first)?
        }
    };
    apply_config(value, externs, &mut set, &config)?;
    let source_name = &config.source;

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

#[cfg(test)]
mod tests;
