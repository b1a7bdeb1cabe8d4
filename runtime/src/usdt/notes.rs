//! USDT probes of an ELF file: its `.note.stapsdt` notes, and the probe addresses they give.

use super::{BASE_SECTION, NOTE_NAME, NOTE_SECTION, NOTE_TYPE};
use crate::elf::Elf;

/// One `.note.stapsdt` note: a probe site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    /// The provider, e.g. `"python"`.
    pub provider: String,
    /// The probe name, e.g. `"function__entry"`.
    pub name: String,
    /// Link-time address of the probe's `nop`.
    pub loc_addr: u64,
    /// Link-time address of `_.stapsdt.base` recorded in the note (0: none).
    pub base_addr: u64,
    /// Link-time address of the probe's semaphore (0: none).
    pub sema_addr: u64,
    /// The argument string, e.g. `"-4@%eax 8@-8(%rbp)"`.
    pub args: String,
}

/// A probe site resolved to what a uprobe needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtTarget {
    /// The note.
    pub note: UsdtNote,
    /// File offset of the probed instruction.
    pub offset: u64,
    /// File offset of the semaphore (0: none).
    pub sema_offset: u64,
}

pub(super) fn cstr_at(data: &[u8], off: usize) -> Option<(String, usize)> {
    let rest = data.get(off..)?;
    let len = rest.iter().position(|&c| c == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..len]).into_owned(),
        off + len + 1,
    ))
}

pub(super) fn parse_notes(elf: &Elf<'_>, off: u64, size: u64) -> Result<Vec<UsdtNote>, String> {
    let bad = || "malformed .note.stapsdt".to_string();
    let data = elf.bytes(off, size).ok_or_else(bad)?;
    let align4 = |x: usize| (x + 3) & !3;
    let mut notes = Vec::new();
    let mut pos = 0usize;
    while pos + 12 <= data.len() {
        let word = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap()) as usize;
        let (namesz, descsz, ty) = (word(pos), word(pos + 4), word(pos + 8) as u32);
        let name_off = pos + 12;
        let desc_off = align4(name_off + namesz);
        let next = align4(desc_off + descsz);
        if next > data.len() || desc_off > data.len() {
            return Err(bad());
        }
        pos = next;
        let name = &data[name_off..name_off + namesz];
        if ty != NOTE_TYPE || name.strip_suffix(b"\0").unwrap_or(name) != NOTE_NAME {
            continue;
        }
        let desc = &data[desc_off..desc_off + descsz];
        if desc.len() < 24 + 3 {
            return Err(bad());
        }
        let addr = |i: usize| u64::from_le_bytes(desc[i * 8..i * 8 + 8].try_into().unwrap());
        let (provider, o) = cstr_at(desc, 24).ok_or_else(bad)?;
        let (name, o) = cstr_at(desc, o).ok_or_else(bad)?;
        let (args, _) = cstr_at(desc, o).ok_or_else(bad)?;
        notes.push(UsdtNote {
            provider,
            name,
            loc_addr: addr(0),
            base_addr: addr(1),
            sema_addr: addr(2),
            args,
        });
    }
    Ok(notes)
}

/// Reads every USDT probe of the ELF file `data` whose provider and name match (`None`: any), and resolves
/// each to file offsets as libbpf does: the address is adjusted by `.stapsdt.base`'s address minus the
/// base recorded in the note (prelink), then translated through the executable PT_LOAD segment holding it;
/// the semaphore through the (non-executable) segment holding it.
pub fn find_usdt_targets(
    data: &[u8],
    provider: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<UsdtTarget>, String> {
    let elf = Elf::parse(data)?;
    let sections = elf.sections().ok_or("malformed section headers")?;
    let segments = elf.segments().ok_or("malformed program headers")?;
    let Some(notes) = sections.iter().find(
        |s| s.name == NOTE_SECTION && s.sh_type == 7, /* SHT_NOTE */
    ) else {
        return Err("no .note.stapsdt section".into());
    };
    let base = sections
        .iter()
        .find(|s| s.name == BASE_SECTION)
        .map_or(0, |s| s.addr);
    let find_seg = |addr: u64| {
        segments
            .iter()
            .find(|s| s.vaddr <= addr && addr < s.vaddr.wrapping_add(s.memsz))
    };
    let mut out = Vec::new();
    for note in parse_notes(&elf, notes.offset, notes.size)? {
        if provider.is_some_and(|p| p != note.provider) || name.is_some_and(|n| n != note.name) {
            continue;
        }
        let probe = format!("{}:{}", note.provider, note.name);
        let mut ip = note.loc_addr;
        let mut sema = note.sema_addr;
        if base != 0 && note.base_addr != 0 {
            let delta = base.wrapping_sub(note.base_addr);
            ip = ip.wrapping_add(delta);
            if sema != 0 {
                sema = sema.wrapping_add(delta);
            }
        }
        let seg = find_seg(ip)
            .ok_or_else(|| format!("`{probe}` at {ip:#x} is in no loadable segment"))?;
        if !seg.exec {
            return Err(format!(
                "`{probe}` at {ip:#x} is in a non-executable segment"
            ));
        }
        let offset = ip - seg.vaddr + seg.offset;
        let sema_offset = if sema == 0 {
            0
        } else {
            let seg = find_seg(sema).ok_or_else(|| {
                format!("the semaphore of `{probe}` at {sema:#x} is in no loadable segment")
            })?;
            if seg.exec {
                return Err(format!(
                    "the semaphore of `{probe}` at {sema:#x} is in an executable segment"
                ));
            }
            sema - seg.vaddr + seg.offset
        };
        out.push(UsdtTarget {
            note,
            offset,
            sema_offset,
        });
    }
    Ok(out)
}
