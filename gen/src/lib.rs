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
    /// Let the loader take map sizes, flags, reused map fds and initial values from the ctx,
    /// which is unsigned input: whoever calls the loader can then change them without
    /// breaking the signature. Off by default.
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
/// Not yet done: `opts.ctx_overrides = false` is recorded in [`sign::Signed`] but the op
/// table still takes map sizes and initial values from the (unsigned) ctx exactly as an
/// unsigned loader does.
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
    let loader = interp::emit_with(&plan.for_kernel()?, true)?;
    let mut signed = signer.sign_loader(&loader.insns, &loader.blob)?;
    signed.ctx_overrides = opts.ctx_overrides;
    Ok((Skeleton { plan, loader }, signed))
}
