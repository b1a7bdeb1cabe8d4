//! The kernel config: finding and reading it (`LSKEL_KCONFIG_PATH`, `/proc/config.gz`, `/boot`),
//! and applying its `CONFIG_X=value` lines to the externs.

use std::collections::HashMap;
use std::io::Read;

use super::value::{parse_u64, set_num, set_str, set_tri};
use super::{err, slot, KconfigExtern, Kind, KCONFIG_PATH_ENV, MAX_CONFIG_SIZE};
use crate::{gzip, Result};

/// One line of a kernel config, as libbpf reads it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// `CONFIG_NAME=value` (`value` is never empty).
    Set { name: &'a [u8], value: &'a [u8] },
    /// `# CONFIG_NAME is not set`.
    NotSet { name: &'a [u8] },
    /// A comment, a blank line, anything not starting with `CONFIG_`.
    Other,
}

/// Parses one line (without its `\n`). Errors are libbpf's: a `CONFIG_` line without `=` or value.
pub(super) fn parse_line(line: &[u8]) -> Result<Line<'_>, &'static str> {
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
pub(super) fn set_value(ext: &KconfigExtern, out: &mut [u8], value: &[u8]) -> Result<(), String> {
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

pub(super) fn apply_config(
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

pub(super) fn show(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

pub(super) const PROC_CONFIG: &str = "/proc/config.gz";

pub(super) fn read_bounded(path: &str) -> std::io::Result<Vec<u8>> {
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
pub(super) fn read_system_config(needed_by: &str) -> Result<(String, Vec<u8>)> {
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
pub(super) fn decode(bytes: &[u8], source: &str) -> Result<Vec<u8>> {
    if bytes.starts_with(&gzip::GZIP_MAGIC) {
        gzip::gunzip(bytes, MAX_CONFIG_SIZE).map_err(|e| err(source, format!("bad gzip data: {e}")))
    } else {
        Ok(bytes.to_vec())
    }
}
