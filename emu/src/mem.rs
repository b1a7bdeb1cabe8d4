//! Tagged memory: every region lives at its own fixed base address, so a pointer is a plain
//! `u64` that survives being stored into memory (an attr in the blob, say) and read back.
//! Nothing outside a region is addressable.

use std::fmt;

/// Base address of the ctx region.
pub const CTX_BASE: u64 = 0xffff_c900_0000_0000;
/// Base address of the blob (the loader map's value).
pub const BLOB_BASE: u64 = 0xffff_c910_0000_0000;
/// Base address of the stack of call depth 0; depth `d` is at `STACK_BASE + d * STACK_STRIDE`.
pub const STACK_BASE: u64 = 0xffff_c920_0000_0000;
/// Distance between the stacks of two call depths.
pub const STACK_STRIDE: u64 = 1 << 20;
/// Size of one stack frame.
pub const STACK_SIZE: usize = 512;
/// Base address of the first user memory region; region `i` is at `USER_BASE + i * USER_STRIDE`.
pub const USER_BASE: u64 = 0x0000_7f00_0000_0000;
/// Distance between two user regions.
pub const USER_STRIDE: u64 = 1 << 32;
/// Address of the loader map's `struct bpf_map` (`ld_imm64` with `BPF_PSEUDO_MAP_IDX`); only
/// its first field, `u8 sha[SHA256_DIGEST_SIZE]`, is modeled (32 bytes).
pub const MAP_BASE: u64 = 0xffff_c930_0000_0000;

/// What a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// The loader ctx (r1 at entry).
    Ctx,
    /// The data blob (value of the loader map).
    Blob,
    /// The stack of one call depth.
    Stack(usize),
    /// User memory registered with [`crate::MockKernel::add_user_mem`].
    User(usize),
    /// The loader map's `struct bpf_map`, of which only `sha` is modeled; read-only (the
    /// verifier lets a program read a map's fields, never write them).
    Map,
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionKind::Ctx => write!(f, "ctx"),
            RegionKind::Blob => write!(f, "blob"),
            RegionKind::Stack(0) => write!(f, "stack"),
            RegionKind::Stack(d) => write!(f, "stack#{d}"),
            RegionKind::User(i) => write!(f, "user#{i}"),
            RegionKind::Map => write!(f, "struct bpf_map"),
        }
    }
}

/// One addressable byte range.
#[derive(Clone, Debug)]
pub struct Region {
    /// What it is.
    pub kind: RegionKind,
    /// First address.
    pub base: u64,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// A set of regions.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    regions: Vec<Region>,
}

/// Why an access failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Address of the access.
    pub addr: u64,
    /// Length of the access.
    pub len: u64,
    /// Human-readable description.
    pub why: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes at {:#x}: {}", self.len, self.addr, self.why)
    }
}

/// What the kernel's `BPF_PROG_TYPE_SYSCALL` ctx check allows (`syscall_prog_is_valid_access`):
/// an offset below `U16_MAX` that is a multiple of the access size. (That the access lies
/// inside the ctx block given to test_run is the bounds check of every region.)
fn ctx_rules(addr: u64, off: u64, len: u64) -> Result<(), Fault> {
    let why = if off >= u64::from(u16::MAX) {
        format!("invalid bpf_context access off={off} size={len}: beyond the 65535-byte ctx")
    } else if len == 0 || off % len != 0 {
        format!("invalid bpf_context access off={off} size={len}: not aligned to its size")
    } else {
        return Ok(());
    };
    Err(Fault { addr, len, why })
}

impl Memory {
    /// Adds a region.
    pub fn add(&mut self, kind: RegionKind, base: u64, bytes: Vec<u8>) {
        self.regions.push(Region { kind, base, bytes });
    }

    /// The region of `kind`.
    pub fn region(&self, kind: RegionKind) -> Option<&Region> {
        self.regions.iter().find(|r| r.kind == kind)
    }

    /// The region of `kind`, mutable.
    pub fn region_mut(&mut self, kind: RegionKind) -> Option<&mut Region> {
        self.regions.iter_mut().find(|r| r.kind == kind)
    }

    /// Removes and returns the region of `kind`.
    pub fn take(&mut self, kind: RegionKind) -> Option<Region> {
        let i = self.regions.iter().position(|r| r.kind == kind)?;
        Some(self.regions.remove(i))
    }

    /// `addr` as `region+offset`, or the raw number when it is in no region.
    pub fn describe(&self, addr: u64) -> String {
        for r in &self.regions {
            if addr >= r.base && addr - r.base <= r.bytes.len() as u64 {
                return format!("{}+{:#x}", r.kind, addr - r.base);
            }
        }
        format!("{addr:#x}")
    }

    /// The region holding `addr` (its end included), if any.
    pub fn kind_of(&self, addr: u64) -> Option<RegionKind> {
        self.regions
            .iter()
            .find(|r| addr >= r.base && addr - r.base <= r.bytes.len() as u64)
            .map(|r| r.kind)
    }

    fn locate(&self, addr: u64, len: u64) -> Result<(usize, usize), Fault> {
        for (i, r) in self.regions.iter().enumerate() {
            // Stacks are reached from r10 downwards, so allow any address in their span.
            if addr >= r.base && addr - r.base <= r.bytes.len() as u64 {
                let off = addr - r.base;
                if off
                    .checked_add(len)
                    .is_none_or(|end| end > r.bytes.len() as u64)
                {
                    return Err(Fault {
                        addr,
                        len,
                        why: format!(
                            "out of bounds: {}+{:#x}..+{:#x}, but {} is {} bytes",
                            r.kind,
                            off,
                            off.saturating_add(len),
                            r.kind,
                            r.bytes.len()
                        ),
                    });
                }
                if r.kind == RegionKind::Ctx {
                    ctx_rules(addr, off, len)?;
                }
                return Ok((i, off as usize));
            }
        }
        Err(Fault {
            addr,
            len,
            why: if addr == 0 {
                "NULL pointer".into()
            } else {
                "address in no region".into()
            },
        })
    }

    /// Reads `len` bytes.
    pub fn read(&self, addr: u64, len: u64) -> Result<&[u8], Fault> {
        let (i, off) = self.locate(addr, len)?;
        Ok(&self.regions[i].bytes[off..off + len as usize])
    }

    /// Writes `data`.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let (i, off) = self.locate(addr, data.len() as u64)?;
        if self.regions[i].kind == RegionKind::Map {
            return Err(Fault {
                addr,
                len: data.len() as u64,
                why: "struct bpf_map is read-only to a program".into(),
            });
        }
        self.regions[i].bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// Reads a little-endian unsigned value of 1, 2, 4 or 8 bytes.
    pub fn read_uint(&self, addr: u64, len: u64) -> Result<u64, Fault> {
        let b = self.read(addr, len)?;
        let mut v = [0u8; 8];
        v[..b.len()].copy_from_slice(b);
        Ok(u64::from_le_bytes(v))
    }

    /// Writes the low `len` bytes of `v`, little-endian.
    pub fn write_uint(&mut self, addr: u64, len: u64, v: u64) -> Result<(), Fault> {
        self.write(addr, &v.to_le_bytes()[..len as usize])
    }

    /// Reads a NUL-terminated string of at most `max` bytes before the NUL.
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Fault> {
        let (i, off) = self.locate(addr, 0)?;
        let bytes = &self.regions[i].bytes[off..];
        match bytes.iter().take(max + 1).position(|&b| b == 0) {
            Some(n) => Ok(bytes[..n].to_vec()),
            None => Err(Fault {
                addr,
                len: bytes.len().min(max + 1) as u64,
                why: format!("no NUL within {} bytes", (max + 1).min(bytes.len())),
            }),
        }
    }
}
