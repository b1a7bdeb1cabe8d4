// A signed skeleton compiles, and carries its signature and digests (made at build time with
// the throwaway test key of `keys/`; nothing here loads it). In a crate that denies unsafe
// code and warnings, as an unsigned one.
#![deny(unsafe_code, warnings)]

lskel::bpf_skeleton!(
    "../tests/bpf/counter.bpf.o",
    sign(key = "keys/test-only-key.pem", cert = "keys/test-only-cert.pem")
);

// `ctx_overrides = true` is recorded for the runtime; `concat!` paths work as for the object.
lskel::bpf_skeleton!(
    "../tests/bpf/counter.bpf.o",
    name = counter_overridable,
    sign(
        key = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/test-only-key.pem"),
        cert = "keys/test-only-cert.pem",
        ctx_overrides = true,
    ),
);

fn main() {
    assert!(counter::SIGNED);
    let signing: &lskel::sign::Signing = counter::signing().expect("a signed skeleton has signing parts");
    // DER: a SEQUENCE (0x30) with a long-form length; an RSA 2048 signature alone is 256 bytes.
    assert_eq!(signing.signature[0], 0x30);
    assert!(signing.signature.len() > 256, "{} bytes", signing.signature.len());
    assert_ne!(signing.loader_sha256, [0; 32]);
    assert_ne!(signing.blob_sha256, [0; 32]);
    assert_ne!(signing.loader_sha256, signing.blob_sha256);
    assert!(!signing.ctx_overrides);

    let other = counter_overridable::signing().unwrap();
    assert!(other.ctx_overrides);
    assert_eq!(other.signature[0], 0x30);
}
