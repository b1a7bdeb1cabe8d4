//! The expansion of a signed skeleton: the unsigned one is untouched, the signed one carries
//! the signature and digests `generate_signed_with` made and hands them to its loader. The
//! key and certificate are made with the openssl CLI for each run.

use std::path::{Path, PathBuf};
use std::process::Command;

use lskel_gen::expand::skeleton::{expand, expand_signed};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A throwaway RSA key and certificate: (key.pem, cert.pem) contents.
fn make_key() -> (Vec<u8>, Vec<u8>) {
    let dir =
        TempDir(std::env::temp_dir().join(format!("lskel-expand-signed-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let out = Command::new("openssl")
        .current_dir(&dir.0)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
        ])
        .args([
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=lskel test signing key",
        ])
        .output()
        .expect("the openssl CLI runs (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read(dir.0.join("key.pem")).unwrap(),
        std::fs::read(dir.0.join("cert.pem")).unwrap(),
    )
}

#[test]
fn signed_expansion_carries_signing_and_unsigned_is_unchanged() {
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/objects/map_settings.bpf.o"),
    )
    .unwrap();
    let (key, cert) = make_key();
    let signer = lskel_gen::sign::Signer::from_pem(&key, &cert).unwrap();
    let opts = lskel_gen::SignOptions {
        ctx_overrides: true,
    };
    let (skel, signed) =
        lskel_gen::generate_signed_with(&data, "map_settings", &signer, opts).unwrap();
    let name = proc_macro2::Ident::new("map_settings", proc_macro2::Span::call_site());

    let unsigned = expand(&skel, &name, None).unwrap().to_string();
    assert_eq!(
        unsigned,
        expand_signed(&skel, &name, None, None).unwrap().to_string(),
        "without signing parts the expansion is the unsigned one"
    );
    for item in ["SIGNING", "SIGNATURE", "with_signing", "SIGNED"] {
        assert!(!unsigned.contains(item), "unsigned expansion has {item}");
    }

    let code = expand_signed(&skel, &name, None, Some(&signed)).unwrap();
    let text = code.to_string();
    syn::parse2::<syn::File>(code).expect("the signed expansion parses as Rust");
    assert!(
        text.contains(". with_signing (& SIGNING)"),
        "the loader carries SIGNING"
    );
    assert!(text.contains("pub const SIGNED : bool = true"));
    assert!(text.contains("pub fn signing ()"));
    assert!(text.contains("ctx_overrides : true"));
    // The signature and both digests are embedded byte for byte.
    let bytes = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x}u8"))
            .collect::<Vec<_>>()
            .join(" , ")
    };
    assert!(text.contains(&format!(
        "loader_sha256 : [{}]",
        bytes(&signed.loader_sha256)
    )));
    assert!(text.contains(&format!("blob_sha256 : [{}]", bytes(&signed.blob_sha256))));
    let signature = proc_macro2::Literal::byte_string(&signed.signature).to_string();
    assert!(text.contains(&format!("static SIGNATURE : & [u8] = {signature}")));
    assert_eq!(signed.signature[0], 0x30, "DER SEQUENCE");
    // Everything else is the unsigned expansion's.
    assert!(text.len() > unsigned.len() + signed.signature.len());
}
