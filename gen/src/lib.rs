//! `lskel-gen`: turns a compiled BPF object into a light skeleton: a data blob, a loader
//! program (`BPF_PROG_TYPE_SYSCALL`) that does in the kernel what libbpf's loader does in user
//! space, and the Rust tokens of a typed API around them.
//!
//! Pure and deterministic: the same object gives the same bytes, and bad input gives an
//! [`Error`] naming the section, symbol or offset, never a panic. Apart from
//! [`generate`] and [`Skeleton`], the modules are internals shared with `lskel-macros` and the
//! `lskel` command-line tool; they follow no semver promise.

#![deny(missing_docs)]

pub mod abi;
pub mod btf;
pub mod diag;
pub mod disasm;
pub mod elf;
pub mod error;
pub mod expand;
pub mod externs;
pub mod interp;
pub mod loader;
pub mod maps;
pub mod plan;
pub mod program;
pub mod reloc;
pub mod section;
pub mod sign;
pub mod struct_ops;
pub mod target;
#[cfg(test)]
mod testobj;

pub use error::{Error, Result};
pub use loader::Loader;
pub use plan::Plan;

/// A generated light skeleton.
#[derive(Clone, Debug)]
pub struct Skeleton {
    /// What the object holds, linked and fixed up.
    pub plan: Plan,
    /// The loader program and its blob.
    pub loader: Loader,
}

impl Skeleton {
    /// The loader disassembly with step names, then the blob map: the snapshot format.
    pub fn dump(&self) -> String {
        let notes = &self.loader.notes;
        let mut out = format!(
            "# loader: {} insns, blob {} bytes, ctx {} bytes\n",
            self.loader.insns.len() / 8,
            self.loader.blob.len(),
            self.loader.ctx_size
        );
        out.push_str(&disasm::disassemble(&self.loader.insns, &|i| {
            notes.get(&i).cloned()
        }));
        if let Some((off, n)) = self.loader.ops {
            let (start, end) = (off as usize, off as usize + n * interp::ops::OP_SIZE);
            out.push_str(&format!("# op table: {n} ops at {off:#x}\n"));
            out.push_str(&interp::ops::dump(&self.loader.blob[start..end]));
        }
        out.push_str(&format!(
            "# blob (FNV-1a 64 of its bytes: {:016x})\n",
            fnv1a64(&self.loader.blob)
        ));
        for (off, len, what) in &self.loader.blob_map {
            out.push_str(&format!("{off:#08x} {len:>8}  {what}\n"));
        }
        out
    }
}

/// FNV-1a, 64-bit: a stable fingerprint of the blob bytes for snapshots.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Which loader [`generate_with`] emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoaderKind {
    /// Straight-line code, one instruction sequence per step (grows with the object).
    StraightLine,
    /// The fixed interpreter over an op table ([`interp`]) for every object it covers (all
    /// but those with kernel symbols, attach targets resolved in the kernel or set before
    /// load, and struct_ops), the straight-line loader for the others. Needs `may_goto`
    /// (Linux 6.9).
    Interp,
}

impl LoaderKind {
    /// The default, [`LoaderKind::Interp`]; `LSKEL_LOADER=straight` at generation time
    /// selects [`LoaderKind::StraightLine`] (`LSKEL_LOADER=interp` the default explicitly).
    pub fn from_env() -> LoaderKind {
        match std::env::var("LSKEL_LOADER").as_deref() {
            Ok("straight") => LoaderKind::StraightLine,
            _ => LoaderKind::Interp,
        }
    }
}

/// Builds the skeleton of object `data`, named `name`, with the loader [`LoaderKind::from_env`]
/// selects.
pub fn generate(data: &[u8], name: &str) -> Result<Skeleton> {
    generate_with(data, name, LoaderKind::from_env())
}

/// Builds the skeleton of object `data`, named `name`, with a loader of `kind`.
pub fn generate_with(data: &[u8], name: &str, kind: LoaderKind) -> Result<Skeleton> {
    let plan = Plan::build(data, name)?;
    let kernel = plan.for_kernel()?;
    let loader = match kind {
        LoaderKind::Interp if interp::unsupported(&kernel).is_none() => interp::emit(&kernel)?,
        _ => loader::emit(&kernel)?,
    };
    Ok(Skeleton { plan, loader })
}

/// How [`generate_signed_with`] signs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// Let the loader take the user's map settings from the ctx, as an unsigned loader does.
    /// The ctx is unsigned input: whoever runs the loader writes it, and the signature does
    /// not cover it. Off by default; see [`generate_signed_with`] for what turning it on
    /// gives away.
    pub ctx_overrides: bool,
}

/// Builds the skeleton of object `data`, named `name`, with a signed interpreter loader and
/// the default [`SignOptions`] (no ctx overrides).
pub fn generate_signed(
    data: &[u8],
    name: &str,
    signer: &sign::Signer,
) -> Result<(Skeleton, sign::Signed)> {
    generate_signed_with(data, name, signer, SignOptions::default())
}

/// Builds the skeleton of object `data`, named `name`, with a signed interpreter loader:
/// one that first checks the loader map's SHA-256 against its blob's, and the signature and
/// digests for it ([`sign::Signed`]). The straight-line loader has no signed form
/// (`LSKEL_LOADER=straight` is refused here).
///
/// The signature covers the loader's instructions, the hash check the blob; the ctx the
/// loader is run with is covered by neither. So with `opts.ctx_overrides = false` (the
/// default) the loader reads none of these ctx fields, and the settings they carry have no
/// effect:
/// - a map's `max_entries`, `key_size`, `value_size`, `map_flags` and `map_extra`: every
///   map is created with the object's shape;
/// - a map to reuse (`map_fd` with `REUSE`): every map is created new;
/// - a user's inner map (`inner_map_fd`): a map-in-map without an inner map definition in
///   the object is refused ([`Error::Map`]);
/// - the `initial_value` of `.rodata`, `.data` and other data sections: their contents are
///   the blob's, as signed.
///
/// It still takes from the ctx what cannot be known when signing, or does not change what
/// the programs compute: the NUMA node, a struct_ops map's value size (that of the running
/// kernel's `bpf_struct_ops_*` type, which the kernel checks the value against), the number
/// of possible CPUs (a perf event array's size), which programs to leave unloaded, the
/// verifier log, attach targets set before load, and the `.kconfig` values. Those describe
/// the running kernel and are computed by the runtime at load time, so they cannot be
/// signed; a caller can make the programs see another kernel config or version than the
/// running one's, which is what running the same signed skeleton on another kernel does
/// anyway. Programs must not rely on `.kconfig` values for their security.
///
/// With `opts.ctx_overrides = true` the loader is the unsigned one behind the hash check,
/// and whoever runs it can resize maps (and change their key and value sizes and flags),
/// hand it a map of their own to use in place of one it would create (filled by them, and
/// not frozen by the loader), give the inner map of a map-in-map, and replace the initial
/// values of `.rodata` and `.data`, that is, change the constants the signed programs rely
/// on.
pub fn generate_signed_with(
    data: &[u8],
    name: &str,
    signer: &sign::Signer,
    opts: SignOptions,
) -> Result<(Skeleton, sign::Signed)> {
    if LoaderKind::from_env() == LoaderKind::StraightLine {
        return Err(Error::Unsupported {
            what: "a signed straight-line loader (LSKEL_LOADER=straight)".into(),
            why: "only the interpreter loader checks its map's hash; unset LSKEL_LOADER".into(),
        });
    }
    let plan = Plan::build(data, name)?;
    let loader = interp::emit_with(&plan.for_kernel()?, Some(opts))?;
    let mut signed = signer.sign_loader(&loader.insns, &loader.blob)?;
    signed.ctx_overrides = opts.ctx_overrides;
    Ok((Skeleton { plan, loader }, signed))
}
