//! `lskel-emu`: runs an lskel loader program (a `BPF_PROG_TYPE_SYSCALL` program) in an eBPF
//! interpreter, with a mock kernel behind its helper calls. Test support only; its one
//! dependency is `sha2`, for the hash the kernel computes of the loader map.
//!
//! ```text
//! let mut k = MockKernel::new();
//! k.add_vmlinux_type("btf_trace_sys_enter", kind::TYPEDEF, 1234)
//!  .add_module("mod_a", &[("mod_kfunc", kind::FUNC, 77)])
//!  .fail_nth(Cmd::MapCreate, 2, ENOMEM);
//! let mut ctx = new_ctx(n_maps, n_progs);
//! let out = lskel_emu::run(&loader.insns, &loader.blob, &mut ctx, &mut k)?;
//! out.retval; k.syscalls(); k.events(); k.open_fds();
//! ```
//!
//! # Interpreter
//! The whole ISA a loader could use: ALU/ALU64 (signed div/mod, `movsx`, byte swaps), JMP and
//! JMP32 with every condition, `gotol`, `may_goto` (never taken), LDX/ST/STX of every size,
//! MEMSX loads, atomics (add/or/and/xor with and without fetch, xchg, cmpxchg,
//! load-acquire/store-release), `ld_imm64` with `src_reg` 0, 5 (`map_idx[0]`, the loader map's
//! `struct bpf_map`, see [`MapHash`]) and 6 (`map_idx_value[0] + off`, the blob), helper calls,
//! bpf-to-bpf calls and `exit`. Reading a register that is not
//! initialized (r1-r5 after a call, say) is an error, as it is for the verifier.
//!
//! # Memory
//! Regions at fixed tagged addresses ([`CTX_BASE`], [`BLOB_BASE`], [`STACK_BASE`] (512 bytes
//! below r10), [`USER_BASE`] for user memory registered with [`MockKernel::add_user_mem`]), and
//! nothing else. The program can reach the ctx, blob and stack; the kernel's `bpf_sys_bpf`
//! reads attr pointers as kernel memory (ctx, blob, stack), `copy_from_user` and the log
//! buffers use user memory. Every access is bounds-checked; a bad one is an [`Error`] naming
//! the instruction, never a silent -EFAULT: it is a loader bug.
//!
//! # Mock kernel
//! See [`MockKernel`]: an fd table (lowest free number from 3, reused after close), objects
//! made by BTF_LOAD, MAP_CREATE, MAP_UPDATE_ELEM / MAP_DELETE_ELEM, MAP_FREEZE and PROG_LOAD
//! with the kernel's checks (attr tail zero, names, sizes, BTF key/value sizes, func_info and
//! line_info against the subprogram layout, CO-RE record offsets, `fd_array` map and kfunc
//! slots, attach targets), a vmlinux / module BTF namespace for `btf_find_by_name_kind`,
//! kallsyms, failure injection ([`MockKernel::fail_nth`]) and a record of every call
//! ([`MockKernel::syscalls`], [`MockKernel::events`]).

#![deny(missing_docs)]

pub mod btf;
pub mod consts;
mod kernel;
pub mod mem;
mod vm;

use std::fmt;

pub use consts::*;
pub use kernel::{
    BtfObject, Cmd, Event, MapObject, MockKernel, Object, Op, Pointees, ProgObject, SysCall,
};
pub use mem::{BLOB_BASE, CTX_BASE, MAP_BASE, STACK_BASE, USER_BASE};

use mem::{Memory, RegionKind};

/// What kind of emulator error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input to [`run`] (not a loader bug).
    Setup,
    /// An invalid instruction or jump.
    Insn,
    /// A read of an uninitialized register, or a write to r10.
    Register,
    /// An out-of-bounds or unknown-region memory access.
    Memory,
    /// The instruction limit or call depth was exceeded.
    Limit,
    /// An unknown helper or kfunc call.
    Helper,
    /// The loader misused a kernel interface (user pointer in an attr, closing stdio...).
    Kernel,
}

/// An emulator error: a loader bug (or bad setup), with the instruction it happened at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Loader instruction index.
    pub insn: Option<usize>,
    /// Kind.
    pub kind: ErrorKind,
    /// Description.
    pub msg: String,
}

impl Error {
    pub(crate) fn at(insn: usize, kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error {
            insn: Some(insn),
            kind,
            msg: msg.into(),
        }
    }
    pub(crate) fn setup(msg: impl Into<String>) -> Error {
        Error {
            insn: None,
            kind: ErrorKind::Setup,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.insn {
            Some(i) => write!(f, "loader insn {i}: {:?}: {}", self.kind, self.msg),
            None => write!(f, "{:?}: {}", self.kind, self.msg),
        }
    }
}

impl std::error::Error for Error {}

/// What the loader map's `struct bpf_map.sha` holds when the loader runs: the SHA-256 the
/// kernel caches there the first time `BPF_OBJ_GET_INFO_BY_FD` asks a frozen map for its
/// `hash` (of the array's value, padded with zeros to its 8-byte element size), zeros until
/// then. A signed loader reads it through `ld_imm64` with `BPF_PSEUDO_MAP_IDX` 0 ([`MAP_BASE`]):
/// 8-byte loads at offsets 0, 8, 16 and 24.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapHash {
    /// The map was not hashed (or not frozen first): `sha` reads as zeros.
    #[default]
    Unhashed,
    /// The runtime froze the map and asked for its hash: the SHA-256 of the blob given to
    /// [`run`], computed here as the kernel does.
    Hashed,
    /// `sha` holds these bytes (a map hashed with other contents, say).
    Given([u8; 32]),
}

impl MapHash {
    /// The 32 bytes of `struct bpf_map.sha` for a loader map holding `blob`.
    pub fn sha(self, blob: &[u8]) -> [u8; 32] {
        match self {
            MapHash::Unhashed => [0; 32],
            MapHash::Hashed => map_sha256(blob),
            MapHash::Given(sha) => sha,
        }
    }
}

/// The SHA-256 the kernel gives a one-element array map whose value is `value`: the array
/// hashes `max_entries` elements of `round_up(value_size, 8)` bytes each, the tail of each
/// element zero.
pub fn map_sha256(value: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(value);
    h.update(&[0u8; 8][..value.len().next_multiple_of(8) - value.len()]);
    h.finalize().into()
}

/// Run options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Most instructions executed before giving up (a loop).
    pub insn_limit: u64,
    /// What the loader map's `sha` holds (a signed loader checks it first).
    pub map_hash: MapHash,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insn_limit: 1_000_000,
            map_hash: MapHash::Unhashed,
        }
    }
}

/// The result of a run that reached its final `exit`.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// r0 at exit, as the signed value test_run reports.
    pub retval: i64,
    /// Instructions executed.
    pub executed: u64,
    /// The blob (loader map value) as the loader left it.
    pub blob: Vec<u8>,
}

/// Runs the loader with default [`Options`]. `ctx` is updated in place (as test_run copies
/// the ctx back), also when the run fails.
pub fn run(
    insns: &[u8],
    blob: &[u8],
    ctx: &mut [u8],
    k: &mut MockKernel,
) -> Result<Outcome, Error> {
    run_with(&Options::default(), insns, blob, ctx, k)
}

/// Runs the loader.
pub fn run_with(
    opts: &Options,
    insns: &[u8],
    blob: &[u8],
    ctx: &mut [u8],
    k: &mut MockKernel,
) -> Result<Outcome, Error> {
    if ctx.len() > 65535 {
        return Err(Error::setup(format!(
            "ctx of {} bytes: test_run accepts at most 65535",
            ctx.len()
        )));
    }
    if blob.is_empty() {
        return Err(Error::setup(
            "empty blob: the loader map needs value_size > 0",
        ));
    }
    let mut mem = Memory::default();
    mem.add(RegionKind::Ctx, CTX_BASE, ctx.to_vec());
    mem.add(RegionKind::Blob, BLOB_BASE, blob.to_vec());
    mem.add(RegionKind::Map, MAP_BASE, opts.map_hash.sha(blob).to_vec());
    let mut vm = vm::Vm::new(insns, mem)?;
    vm.set_reg(1, CTX_BASE);
    let res = vm.run(k, opts.insn_limit);
    if let Some(r) = vm.mem.region(RegionKind::Ctx) {
        ctx.copy_from_slice(&r.bytes);
    }
    let r0 = res?;
    let blob = vm
        .mem
        .take(RegionKind::Blob)
        .map(|r| r.bytes)
        .unwrap_or_default();
    Ok(Outcome {
        retval: r0 as i64,
        executed: vm.executed,
        blob,
    })
}

/// A zeroed ctx block for `n_maps` maps and `n_progs` programs, with `sz` set.
pub fn new_ctx(n_maps: usize, n_progs: usize) -> Vec<u8> {
    let size = ctx::size(n_maps, n_progs);
    let mut v = vec![0; size];
    v[..4].copy_from_slice(&(size as u32).to_le_bytes());
    v
}

/// The u32 at `off` of a ctx block.
pub fn ctx_u32(ctx: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(ctx[off..off + 4].try_into().expect("4 bytes"))
}

/// Sets the u32 at `off` of a ctx block.
pub fn set_ctx_u32(ctx: &mut [u8], off: usize, v: u32) {
    ctx[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Sets the u64 at `off` of a ctx block.
pub fn set_ctx_u64(ctx: &mut [u8], off: usize, v: u64) {
    ctx[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Map `i`'s fd in a ctx block.
pub fn ctx_map_fd(ctx: &[u8], i: usize) -> i32 {
    ctx_u32(ctx, ctx::map_fd(i)) as i32
}

/// Program `j`'s fd in a ctx block with `n_maps` maps.
pub fn ctx_prog_fd(ctx: &[u8], n_maps: usize, j: usize) -> i32 {
    ctx_u32(ctx, ctx::prog_fd(n_maps, j)) as i32
}
