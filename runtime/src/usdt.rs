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

use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::elf::Elf;
use crate::sys::bpf;
use crate::sys::perf::{self, UprobeEvent};
use crate::{Link, Map};

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

// ---------------------------------------------------------------------------------------------------------
// ELF notes

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

fn cstr_at(data: &[u8], off: usize) -> Option<(String, usize)> {
    let rest = data.get(off..)?;
    let len = rest.iter().position(|&c| c == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..len]).into_owned(),
        off + len + 1,
    ))
}

fn parse_notes(elf: &Elf<'_>, off: u64, size: u64) -> Result<Vec<UsdtNote>, String> {
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

// ---------------------------------------------------------------------------------------------------------
// Argument specs

/// `enum __bpf_usdt_arg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum UsdtArgType {
    /// `BPF_USDT_ARG_CONST`: the value is `val_off`.
    Const = 0,
    /// `BPF_USDT_ARG_REG`: the value is the register at `reg_off` of `struct pt_regs`.
    Reg = 1,
    /// `BPF_USDT_ARG_REG_DEREF`: the value is read from user memory at register + `val_off`.
    RegDeref = 2,
}

/// `struct __bpf_usdt_arg_spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArgSpec {
    /// The constant, or the offset added to the register before the read.
    pub val_off: u64,
    /// Where the argument is.
    pub arg_type: UsdtArgType,
    /// Offset of the register in `struct pt_regs`.
    pub reg_off: i16,
    /// Whether the value is sign-extended.
    pub arg_signed: bool,
    /// `64 - 8 * size`: how far the value is shifted left then right.
    pub arg_bitshift: i8,
}

/// `struct __bpf_usdt_spec`: the arguments of one probe and the user's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSpec {
    /// At most [`USDT_MAX_ARG_CNT`].
    pub args: Vec<UsdtArgSpec>,
    /// What `bpf_usdt_cookie()` returns.
    pub usdt_cookie: u64,
}

impl UsdtSpec {
    /// The spec in the layout `usdt.bpf.h` reads: 12 × {u64 val_off; u32 arg_type; s16 reg_off;
    /// bool arg_signed; s8 arg_bitshift}, then u64 usdt_cookie, s16 arg_cnt, padding to 208 bytes.
    pub fn to_bytes(&self) -> [u8; USDT_SPEC_SIZE] {
        let mut b = [0u8; USDT_SPEC_SIZE];
        for (i, a) in self.args.iter().take(USDT_MAX_ARG_CNT).enumerate() {
            let o = i * USDT_ARG_SPEC_SIZE;
            b[o..o + 8].copy_from_slice(&a.val_off.to_le_bytes());
            b[o + 8..o + 12].copy_from_slice(&(a.arg_type as u32).to_le_bytes());
            b[o + 12..o + 14].copy_from_slice(&a.reg_off.to_le_bytes());
            b[o + 14] = u8::from(a.arg_signed);
            b[o + 15] = a.arg_bitshift as u8;
        }
        let o = USDT_MAX_ARG_CNT * USDT_ARG_SPEC_SIZE;
        b[o..o + 8].copy_from_slice(&self.usdt_cookie.to_le_bytes());
        let cnt = self.args.len().min(USDT_MAX_ARG_CNT) as i16;
        b[o + 8..o + 10].copy_from_slice(&cnt.to_le_bytes());
        b
    }
}

/// Offset in x86-64 `struct pt_regs` of a register, by any of its names (`rax`, `eax`, `ax`, `al`, ...).
pub fn x86_64_pt_regs_offset(reg: &str) -> Option<i16> {
    const MAP: &[([&str; 4], i16)] = &[
        (["rip", "eip", "", ""], 128),
        (["rax", "eax", "ax", "al"], 80),
        (["rbx", "ebx", "bx", "bl"], 40),
        (["rcx", "ecx", "cx", "cl"], 88),
        (["rdx", "edx", "dx", "dl"], 96),
        (["rsi", "esi", "si", "sil"], 104),
        (["rdi", "edi", "di", "dil"], 112),
        (["rbp", "ebp", "bp", "bpl"], 32),
        (["rsp", "esp", "sp", "spl"], 152),
        (["r8", "r8d", "r8w", "r8b"], 72),
        (["r9", "r9d", "r9w", "r9b"], 64),
        (["r10", "r10d", "r10w", "r10b"], 56),
        (["r11", "r11d", "r11w", "r11b"], 48),
        (["r12", "r12d", "r12w", "r12b"], 24),
        (["r13", "r13d", "r13w", "r13b"], 16),
        (["r14", "r14d", "r14w", "r14b"], 8),
        (["r15", "r15d", "r15w", "r15b"], 0),
    ];
    if reg.is_empty() {
        return None;
    }
    MAP.iter()
        .find(|(names, _)| names.contains(&reg))
        .map(|&(_, off)| off)
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()? as i64
    } else {
        digits.parse::<u64>().ok()? as i64
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

fn reg(s: &str) -> Result<i16, String> {
    let name = s
        .trim()
        .strip_prefix('%')
        .ok_or_else(|| format!("`{s}` is not a register"))?;
    x86_64_pt_regs_offset(name).ok_or_else(|| format!("unknown register `%{name}`"))
}

/// Parses one x86-64 argument spec: `SIZE@%reg`, `SIZE@OFF(%reg)`, `SIZE@(%reg)` or `SIZE@$CONST`
/// (SIZE 1, 2, 4 or 8, negative for signed). Scale-index-base operands (`1@-96(%rbp,%rax,8)`) are refused:
/// the spec layout of libbpf 1.1's `usdt.bpf.h` cannot express them.
pub fn parse_x86_64_arg(arg: &str) -> Result<UsdtArgSpec, String> {
    let (size, loc) = arg
        .split_once('@')
        .ok_or_else(|| format!("`{arg}`: no `@`"))?;
    let size = parse_int(size).ok_or_else(|| format!("`{arg}`: bad size"))?;
    let arg_signed = size < 0;
    let arg_bitshift = match size.unsigned_abs() {
        n @ (1 | 2 | 4 | 8) => (64 - 8 * n) as i8,
        _ => return Err(format!("`{arg}`: size must be 1, 2, 4 or 8")),
    };
    let loc = loc.trim();
    let (arg_type, val_off, reg_off) = if let Some(c) = loc.strip_prefix('$') {
        let v = parse_int(c).ok_or_else(|| format!("`{arg}`: bad constant"))?;
        (UsdtArgType::Const, v as u64, 0)
    } else if loc.starts_with('%') {
        (
            UsdtArgType::Reg,
            0,
            reg(loc).map_err(|e| format!("`{arg}`: {e}"))?,
        )
    } else if let Some((off, rest)) = loc.split_once('(') {
        let inner = rest
            .strip_suffix(')')
            .ok_or_else(|| format!("`{arg}`: no closing `)`"))?;
        if inner.contains(',') {
            return Err(format!(
                "`{arg}`: scale-index-base operands are not supported"
            ));
        }
        let off = if off.trim().is_empty() {
            0
        } else {
            parse_int(off).ok_or_else(|| format!("`{arg}`: bad offset"))?
        };
        (
            UsdtArgType::RegDeref,
            off as u64,
            reg(inner).map_err(|e| format!("`{arg}`: {e}"))?,
        )
    } else {
        return Err(format!("`{arg}`: unrecognized location"));
    };
    Ok(UsdtArgSpec {
        val_off,
        arg_type,
        reg_off,
        arg_signed,
        arg_bitshift,
    })
}

/// Parses a whole argument string (space-separated specs) into a [`UsdtSpec`] with `usdt_cookie`.
pub fn parse_x86_64_args(args: &str, usdt_cookie: u64) -> Result<UsdtSpec, String> {
    let args = args
        .split_ascii_whitespace()
        .map(parse_x86_64_arg)
        .collect::<Result<Vec<_>, _>>()?;
    if args.len() > USDT_MAX_ARG_CNT {
        return Err(format!(
            "{} arguments, at most {USDT_MAX_ARG_CNT} are supported",
            args.len()
        ));
    }
    Ok(UsdtSpec { args, usdt_cookie })
}

// ---------------------------------------------------------------------------------------------------------
// Attaching

/// Hands out the entries of one `__bpf_usdt_specs` map. Share one manager (it is cheap to clone) among all
/// attachments of programs using the same map, so their spec ids do not collide.
#[derive(Debug, Clone)]
pub struct UsdtManager<'fd> {
    specs: BorrowedFd<'fd>,
    max_entries: u32,
    used: Arc<Mutex<Vec<bool>>>,
}

/// The attachments of one [`UsdtManager::attach`]: one uprobe link per probe location. Dropping it
/// detaches them and frees their spec ids.
#[derive(Debug)]
pub struct UsdtLinks {
    links: Vec<Link>,
    targets: Vec<UsdtTarget>,
    spec_ids: Vec<u32>,
    used: Arc<Mutex<Vec<bool>>>,
}

impl UsdtLinks {
    /// A set with no links (what a detached [`Link`] keeps).
    pub(crate) fn empty() -> Self {
        UsdtLinks {
            links: Vec::new(),
            targets: Vec::new(),
            spec_ids: Vec::new(),
            used: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Takes the first location's link descriptor out; the spec ids stay in use (the link
    /// still reads them) and the other locations are detached.
    pub(crate) fn take_first_fd(&mut self) -> Option<std::os::fd::OwnedFd> {
        if self.links.is_empty() {
            return None;
        }
        self.spec_ids.clear();
        Some(self.links.remove(0).into_fd())
    }

    /// Number of probe locations attached.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether nothing is attached (never true for a successful attach).
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The probe locations, in the order of [`links`](Self::links).
    pub fn targets(&self) -> &[UsdtTarget] {
        &self.targets
    }

    /// The BPF links.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The spec ids (indexes of `__bpf_usdt_specs`) in use by these links.
    pub fn spec_ids(&self) -> &[u32] {
        &self.spec_ids
    }
}

impl Drop for UsdtLinks {
    fn drop(&mut self) {
        self.links.clear(); // detach first, then free the ids
        if let Ok(mut used) = self.used.lock() {
            for &id in &self.spec_ids {
                if let Some(u) = used.get_mut(id as usize) {
                    *u = false;
                }
            }
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, UsdtError> {
    std::fs::read(path).map_err(|source| UsdtError::Io {
        path: path.to_owned(),
        source,
    })
}

fn uprobe_pmu_type() -> Result<u32, UsdtError> {
    let io = |source| UsdtError::Io {
        path: UPROBE_PMU_TYPE.into(),
        source,
    };
    let s = std::fs::read_to_string(UPROBE_PMU_TYPE).map_err(io)?;
    s.trim().parse().map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a number: {s:?}"),
        ))
    })
}

impl<'fd> UsdtManager<'fd> {
    /// A manager for the `__bpf_usdt_specs` map `specs` (an array of [`USDT_SPEC_SIZE`]-byte values).
    pub fn new(specs: BorrowedFd<'fd>) -> Result<Self, UsdtError> {
        let info = bpf::map_info(specs)
            .map_err(|e| crate::Error::syscall("BPF_OBJ_GET_INFO_BY_FD(__bpf_usdt_specs)", e))?;
        if info.value_size as usize != USDT_SPEC_SIZE || info.key_size != 4 {
            return Err(crate::Error::ValueSize {
                value_size: info.value_size as usize,
                needed: USDT_SPEC_SIZE,
            }
            .into());
        }
        Ok(UsdtManager {
            specs,
            max_entries: info.max_entries,
            used: Arc::new(Mutex::new(vec![false; info.max_entries as usize])),
        })
    }

    /// Marks spec ids as taken (by links of an earlier manager of the same map).
    pub(crate) fn reserve(&self, ids: &[u32]) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        for &id in ids {
            if let Some(u) = used.get_mut(id as usize) {
                *u = true;
            }
        }
    }

    fn alloc_id(&self) -> Result<u32, UsdtError> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let id = used
            .iter()
            .position(|u| !u)
            .ok_or(UsdtError::TooManySpecs {
                max_entries: self.max_entries,
            })?;
        used[id] = true;
        Ok(id as u32)
    }

    /// Attaches `prog` (a `SEC("usdt")` program) to every location of probe `provider:name` in `binary`,
    /// for process `pid` (`None`: every process running the binary). `cookie` is what the program's
    /// `bpf_usdt_cookie()` returns. Fails if the binary has no such probe.
    pub fn attach(
        &self,
        prog: BorrowedFd<'_>,
        pid: Option<i32>,
        binary: &Path,
        provider: &str,
        name: &str,
        cookie: u64,
    ) -> Result<UsdtLinks, UsdtError> {
        let data = read_file(binary)?;
        let probe = format!("{provider}:{name}");
        let targets = find_usdt_targets(&data, Some(provider), Some(name)).map_err(|what| {
            UsdtError::Elf {
                path: binary.to_owned(),
                what,
            }
        })?;
        if targets.is_empty() {
            return Err(UsdtError::NotFound {
                path: binary.to_owned(),
                probe,
            });
        }
        if targets.iter().any(|t| t.sema_offset != 0) && !Path::new(UPROBE_REF_CTR_FORMAT).exists()
        {
            return Err(UsdtError::NoSemaphoreSupport { probe });
        }
        let pmu_type = uprobe_pmu_type()?;
        let path = CString::new(binary.as_os_str().as_bytes())
            .map_err(|_| crate::Error::InvalidArgument("binary path contains NUL"))?;
        let specs = Map::new(self.specs.as_fd())?;

        let mut out = UsdtLinks {
            links: Vec::with_capacity(targets.len()),
            targets: Vec::with_capacity(targets.len()),
            spec_ids: Vec::new(),
            used: Arc::clone(&self.used),
        };
        // One spec id per distinct argument string, as libbpf.
        let mut ids: HashMap<String, u32> = HashMap::new();
        for t in targets {
            let spec_id = match ids.get(&t.note.args) {
                Some(&id) => id,
                None => {
                    let spec =
                        parse_x86_64_args(&t.note.args, cookie).map_err(|what| UsdtError::Arg {
                            probe: probe.clone(),
                            args: t.note.args.clone(),
                            what,
                        })?;
                    let id = self.alloc_id()?;
                    out.spec_ids.push(id);
                    specs.update(&id.to_ne_bytes(), &spec.to_bytes(), 0)?;
                    ids.insert(t.note.args.clone(), id);
                    id
                }
            };
            let ref_ctr_offset = u32::try_from(t.sema_offset).map_err(|_| UsdtError::Elf {
                path: binary.to_owned(),
                what: format!(
                    "semaphore offset {:#x} of `{probe}` over 4 GiB",
                    t.sema_offset
                ),
            })?;
            let event = perf::uprobe_open(&UprobeEvent {
                pmu_type,
                path: &path,
                offset: t.offset,
                ref_ctr_offset,
                retprobe: false,
                pid,
            })
            .map_err(|e| crate::Error::syscall("perf_event_open(uprobe)", e))?;
            let link = bpf::link_create_perf_event(prog, event.as_fd(), u64::from(spec_id))
                .map_err(|e| crate::Error::syscall("BPF_LINK_CREATE(BPF_PERF_EVENT)", e))?;
            // The link holds its own reference to the perf event.
            drop(event);
            out.links.push(Link::from_fd(link));
            out.targets.push(t);
        }
        Ok(out)
    }
}

/// One-shot [`UsdtManager::attach`] with a manager of its own: the spec ids start at 0, so use it only once
/// per `__bpf_usdt_specs` map (keep a [`UsdtManager`] for several attachments).
pub fn attach_usdt(
    prog: BorrowedFd<'_>,
    specs: BorrowedFd<'_>,
    pid: Option<i32>,
    binary: &Path,
    provider: &str,
    name: &str,
    cookie: u64,
) -> Result<UsdtLinks, UsdtError> {
    UsdtManager::new(specs)?.attach(prog, pid, binary, provider, name, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(t: UsdtArgType, val_off: i64, reg_off: i16, signed: bool, shift: i8) -> UsdtArgSpec {
        UsdtArgSpec {
            val_off: val_off as u64,
            arg_type: t,
            reg_off,
            arg_signed: signed,
            arg_bitshift: shift,
        }
    }

    #[test]
    fn x86_64_arg_specs() {
        use UsdtArgType::*;
        let cases = [
            ("-4@%eax", a(Reg, 0, 80, true, 32)),
            ("8@-8(%rbp)", a(RegDeref, -8, 32, false, 0)),
            ("4@$5", a(Const, 5, 0, false, 32)),
            ("-8@%rdi", a(Reg, 0, 112, true, 0)),
            ("-4@$-9", a(Const, -9, 0, true, 32)),
            ("8@(%rsp)", a(RegDeref, 0, 152, false, 0)),
            ("1@%r8b", a(Reg, 0, 72, false, 56)),
            ("-2@0x10(%r15)", a(RegDeref, 16, 0, true, 48)),
            ("8@%rip", a(Reg, 0, 128, false, 0)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_x86_64_arg(s).unwrap(), want, "{s}");
        }
        for bad in [
            "3@%eax",
            "4@%xyz",
            "4@",
            "eax",
            "1@-96(%rbp,%rax,8)",
            "4@8(%rax",
        ] {
            assert!(parse_x86_64_arg(bad).is_err(), "{bad}");
        }
        let spec = parse_x86_64_args("-4@%eax  8@-8(%rbp) 4@$5", 7).unwrap();
        assert_eq!(spec.args.len(), 3);
        assert!(parse_x86_64_args("", 0).unwrap().args.is_empty());
        let many = vec!["8@%rax"; 13].join(" ");
        assert!(parse_x86_64_args(&many, 0).is_err());
    }

    #[test]
    fn spec_layout() {
        let spec = parse_x86_64_args("-4@%eax 8@-8(%rbp)", 0x1122).unwrap();
        let b = spec.to_bytes();
        assert_eq!(
            &b[0..16],
            &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 80, 0, 1, 32]
        );
        assert_eq!(&b[16..24], &(-8i64).to_le_bytes());
        assert_eq!(&b[24..32], &[2, 0, 0, 0, 32, 0, 0, 0]);
        assert_eq!(&b[192..200], &0x1122u64.to_le_bytes());
        assert_eq!(&b[200..202], &2i16.to_le_bytes());
        assert!(b[202..].iter().all(|&x| x == 0));
    }

    #[test]
    fn notes_of_a_handmade_elf() {
        // A minimal ELF64: header, one PT_LOAD (r-x, vaddr 0x400000 at offset 0), sections:
        // null, .note.stapsdt, .shstrtab.
        let mut desc = Vec::new();
        for addr in [0x400123u64, 0, 0] {
            desc.extend_from_slice(&addr.to_le_bytes());
        }
        desc.extend_from_slice(b"prov\0probe\0-4@%eax\0");
        let mut note = Vec::new();
        note.extend_from_slice(&8u32.to_le_bytes());
        note.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        note.extend_from_slice(&3u32.to_le_bytes());
        note.extend_from_slice(b"stapsdt\0");
        note.extend_from_slice(&desc);
        while note.len() % 4 != 0 {
            note.push(0);
        }
        let shstr = b"\0.note.stapsdt\0.shstrtab\0";
        let mut f = vec![0u8; 64 + 56];
        let note_off = f.len() as u64;
        f.extend_from_slice(&note);
        let str_off = f.len() as u64;
        f.extend_from_slice(shstr);
        while f.len() % 8 != 0 {
            f.push(0);
        }
        let shoff = f.len() as u64;
        let mut sh = |name: u32, ty: u32, off: u64, size: u64| {
            let mut h = [0u8; 64];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&ty.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&h);
        };
        sh(0, 0, 0, 0);
        sh(1, 7, note_off, note.len() as u64);
        sh(15, 3, str_off, shstr.len() as u64);
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
        let ph = 64;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes()); // R+X
        f[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes()); // offset
        f[ph + 16..ph + 24].copy_from_slice(&0x400000u64.to_le_bytes()); // vaddr
        f[ph + 40..ph + 48].copy_from_slice(&0x1000u64.to_le_bytes()); // memsz

        let t = find_usdt_targets(&f, Some("prov"), Some("probe")).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].note.args, "-4@%eax");
        assert_eq!(t[0].offset, 0x1123);
        assert_eq!(t[0].sema_offset, 0);
        assert!(find_usdt_targets(&f, Some("prov"), Some("other"))
            .unwrap()
            .is_empty());
        assert!(find_usdt_targets(b"not an elf", None, None).is_err());
    }
}
