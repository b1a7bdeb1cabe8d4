//! `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records.

use crate::error::{btf_ext_err, Result};

/// Records of one kind for one ELF section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionRecords {
    /// The section name (from `.BTF` strings).
    pub section: String,
    /// Raw records, `rec_size` bytes each; the first u32 of each is the instruction byte
    /// offset in the section.
    pub records: Vec<Vec<u8>>,
}

/// One kind of `.BTF.ext` info (func, line or CO-RE).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoKind {
    /// Size of each record.
    pub rec_size: u32,
    /// Per section.
    pub sections: Vec<SectionRecords>,
}

impl InfoKind {
    /// The records of `section`, if any.
    pub fn for_section(&self, section: &str) -> &[Vec<u8>] {
        self.sections
            .iter()
            .find(|s| s.section == section)
            .map(|s| s.records.as_slice())
            .unwrap_or(&[])
    }
}

/// Parsed `.BTF.ext`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// `bpf_func_info` records.
    pub func_info: InfoKind,
    /// `bpf_line_info` records.
    pub line_info: InfoKind,
    /// `bpf_core_relo` records.
    pub core_relo: InfoKind,
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    data.get(off..off.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl BtfExt {
    /// Parses `.BTF.ext`; `name` resolves a `.BTF` string offset.
    pub fn parse(data: &[u8], name: &dyn Fn(u32) -> Result<String>) -> Result<BtfExt> {
        if data.len() < 8 || data[0..2] != [0x9f, 0xeb] {
            return Err(btf_ext_err(
                "bad header or magic (expected little-endian 0xeb9f)",
            ));
        }
        let hdr_len = u32_at(data, 4).unwrap_or(0) as usize;
        if hdr_len < 24 || hdr_len > data.len() {
            return Err(btf_ext_err(format!(
                "header length {hdr_len} is invalid for a {}-byte section",
                data.len()
            )));
        }
        let body = &data[hdr_len..];
        let word = |off: usize| u32_at(data, off).unwrap_or(0) as usize;
        let info = |off_at: usize, what: &str, min_rec: u32| -> Result<InfoKind> {
            if off_at + 8 > hdr_len {
                return Ok(InfoKind::default());
            }
            let (off, len) = (word(off_at), word(off_at + 4));
            if len == 0 {
                return Ok(InfoKind::default());
            }
            let sub = off
                .checked_add(len)
                .and_then(|end| body.get(off..end))
                .ok_or_else(|| {
                    btf_ext_err(format!(
                        "the header puts {what} at bytes {}..{} of the section, but it has {} bytes: the section is truncated",
                        hdr_len + off,
                        (hdr_len + off).saturating_add(len),
                        data.len()
                    ))
                })?;
            parse_info(sub, hdr_len + off, what, min_rec, name)
        };
        Ok(BtfExt {
            func_info: info(8, "func_info", 8)?,
            line_info: info(16, "line_info", 16)?,
            core_relo: info(24, "core_relo", 16)?,
        })
    }
}

/// One info kind's records; `base` is where `data` starts in `.BTF.ext`, for messages.
fn parse_info(
    data: &[u8],
    base: usize,
    what: &str,
    min_rec: u32,
    name: &dyn Fn(u32) -> Result<String>,
) -> Result<InfoKind> {
    let rec_size = u32_at(data, 0).ok_or_else(|| btf_ext_err(format!("{what}: truncated")))?;
    if rec_size < min_rec || rec_size % 4 != 0 {
        return Err(btf_ext_err(format!(
            "{what}: record size {rec_size} is invalid (minimum {min_rec})"
        )));
    }
    let mut sections = Vec::new();
    let mut off = 4;
    while off < data.len() {
        let (name_off, num) = match (u32_at(data, off), u32_at(data, off + 4)) {
            (Some(a), Some(b)) => (a, b as usize),
            _ => {
                return Err(btf_ext_err(format!(
                    "{what}: section header at {off:#x} is truncated"
                )))
            }
        };
        off += 8;
        let section =
            name(name_off).map_err(|e| btf_ext_err(format!("{what}: section name: {e}")))?;
        let bytes = num
            .checked_mul(rec_size as usize)
            .filter(|&n| off + n <= data.len())
            .ok_or_else(|| {
                btf_ext_err(format!(
                    "{what} of section `{section}`: {num} records of {rec_size} bytes at byte {} need {} bytes, but only {} are left",
                    base + off,
                    (num as u64) * u64::from(rec_size),
                    data.len() - off
                ))
            })?;
        let records = data[off..off + bytes]
            .chunks_exact(rec_size as usize)
            .map(<[u8]>::to_vec)
            .collect();
        sections.push(SectionRecords { section, records });
        off += bytes;
    }
    Ok(InfoKind { rec_size, sections })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_survives_truncation() {
        let mut info = vec![];
        for w in [8u32, 1, 2, 0, 5, 8, 9] {
            info.extend_from_slice(&w.to_le_bytes());
        }
        let mut data = vec![0x9f, 0xeb, 1, 0];
        for w in [32u32, 0, info.len() as u32, 0, 0, 0, 0] {
            data.extend_from_slice(&w.to_le_bytes());
        }
        data.extend(&info);
        let name = |off: u32| Ok(format!("s{off}"));
        let ext = BtfExt::parse(&data, &name).unwrap();
        assert_eq!(ext.func_info.rec_size, 8);
        assert_eq!(ext.func_info.for_section("s1").len(), 2);
        for cut in 0..data.len() {
            let _ = BtfExt::parse(&data[..cut], &name);
        }
    }
}
