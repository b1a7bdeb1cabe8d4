//! Our PKCS#7 signature verifies with `openssl cms -verify` against the signing certificate
//! over exactly the signed bytes, and fails for one flipped byte. The key and certificate are
//! made with the openssl CLI for each run, in a directory of the test's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use lskel_gen::sign::{SignError, Signer};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("lskel-sign-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI runs (.ci/run installs it)")
}

/// A throwaway RSA key and self-signed certificate in `dir`: (key.pem, cert.pem) contents.
fn make_key(dir: &Path, alg: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let mut args = vec!["req", "-x509", "-newkey"];
    args.extend_from_slice(alg);
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-subj",
        "/CN=lskel test signing key",
    ]);
    let out = openssl(dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read(dir.join("key.pem")).unwrap(),
        std::fs::read(dir.join("cert.pem")).unwrap(),
    )
}

fn verify(dir: &Path, content: &[u8]) -> std::process::Output {
    std::fs::write(dir.join("content.bin"), content).unwrap();
    openssl(
        dir,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            "content.bin",
            "-certfile",
            "cert.pem",
            "-CAfile",
            "cert.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    )
}

#[test]
fn signature_verifies_with_openssl_over_exactly_the_insns() {
    let dir = tempdir("verify");
    let (key, cert) = make_key(&dir.0, &["rsa:2048"]);
    let signer = Signer::from_pem(&key, &cert).unwrap();
    let object = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/objects/map_settings.bpf.o"),
    )
    .unwrap();
    // `outer` takes its inner map from the ctx: only a skeleton with ctx overrides has it.
    let opts = lskel_gen::SignOptions {
        ctx_overrides: true,
    };
    let (skel, signed) =
        lskel_gen::generate_signed_with(&object, "map_settings", &signer, opts).unwrap();
    assert!(signed.ctx_overrides);
    let insns = skel.loader.insns;
    assert_eq!(signed.loader_sha256, lskel_gen::sign::sha256(&insns));
    assert_eq!(
        signed.blob_sha256,
        lskel_gen::sign::blob_sha256(&skel.loader.blob)
    );
    // The loader carries the blob's digest in its own (signed) instructions: each 8-byte
    // word as the two 32-bit immediates of an ld_imm64.
    for word in signed.blob_sha256.chunks_exact(8) {
        let (lo, hi) = (&word[..4], &word[4..]);
        let found = insns
            .chunks_exact(8)
            .zip(insns.chunks_exact(8).skip(1))
            .any(|(a, b)| a[0] == 0x18 && &a[4..] == lo && &b[4..] == hi);
        assert!(found, "blob digest word {word:02x?} not in the loader");
    }
    assert_eq!(
        signed.signature,
        signer.sign(&insns).unwrap(),
        "deterministic"
    );
    std::fs::write(dir.0.join("sig.der"), &signed.signature).unwrap();
    let ok = verify(&dir.0, &insns);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // No certificate travels in the signature (the kernel takes the key from a keyring).
    let certs = openssl(
        &dir.0,
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der",
        ],
    );
    // Whitespace-normalised, so the indentation of openssl's print does not matter.
    let printed = String::from_utf8_lossy(&certs.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(certs.status.success());
    for absent in [
        "certificates: <ABSENT>",
        "signedAttrs: <ABSENT>",
        "eContent: <ABSENT>",
    ] {
        assert!(printed.contains(absent), "no `{absent}` in {printed}");
    }
    assert!(printed.contains("issuerAndSerialNumber"), "{printed}");
    let mut flipped = insns.clone();
    flipped[8 * 3 + 4] ^= 1;
    let bad = verify(&dir.0, &flipped);
    assert!(!bad.status.success(), "a flipped insn byte still verified");
}

#[test]
fn refuses_a_certificate_of_another_key_and_non_rsa_keys() {
    let a = tempdir("a");
    let b = tempdir("b");
    let (key_a, _) = make_key(&a.0, &["rsa:2048"]);
    let (_, cert_b) = make_key(&b.0, &["rsa:2048"]);
    assert_eq!(
        Signer::from_pem(&key_a, &cert_b).unwrap_err(),
        SignError::Mismatch
    );
    let ec = tempdir("ec");
    let (key_ec, cert_ec) = make_key(&ec.0, &["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
    let e = Signer::from_pem(&key_ec, &cert_ec).unwrap_err();
    assert!(matches!(e, SignError::KeyType { .. }), "{e}");
    assert!(e.to_string().contains("EC (ECDSA)"), "{e}");
}
