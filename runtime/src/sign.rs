//! What a signed light skeleton carries besides its loader: the signature the kernel checks
//! over the loader's instructions, and the digests that tie the loader map to the loader.
//!
//! The runtime does no cryptography: `lskel-gen` computed every byte here at build time; the
//! runtime passes them to the kernel (`BPF_MAP_CREATE` `excl_prog_hash`, `BPF_PROG_LOAD`
//! `signature`) and the signed loader itself compares the map's hash.

/// The signing parts `lskel-gen` emitted with a signed loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signing {
    /// Detached PKCS#7 (CMS `SignedData`, DER) over the loader's instruction bytes, exactly
    /// the bytes passed as `BPF_PROG_LOAD` `insns`.
    pub signature: &'static [u8],
    /// SHA-256 of the loader's instruction bytes: the loader map is created exclusive to the
    /// program with this digest (`excl_prog_hash`).
    pub loader_sha256: [u8; 32],
    /// SHA-256 of the blob as the kernel hashes the loader map (its value, padded with zeros
    /// to the array's 8-byte element size); the loader compares the map's hash with it.
    pub blob_sha256: [u8; 32],
    /// Whether the loader takes map sizes and initial values from the (unsigned) ctx: off
    /// unless the skeleton was signed with `ctx_overrides = true`.
    pub ctx_overrides: bool,
}
