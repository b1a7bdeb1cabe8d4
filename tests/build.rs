//! Builds `bpf/counter.bpf.c` into OUT_DIR with lskel-build (vmlinux.h written from the
//! kernel's BTF, no bpftool), so a test can show `bpf_skeleton!("$OUT_DIR/...")` and
//! `bpf_skeleton!(concat!(env!("OUT_DIR"), "/..."))` work for objects a build script produces.
//! Without clang or kernel BTF it copies the committed object instead, with a warning (under
//! LSKEL_REQUIRE_KERNEL=1 that is an error).

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-env-changed=LSKEL_REQUIRE_KERNEL");
    let built = lskel_build::BpfBuilder::new("bpf/counter.bpf.c")
        .vmlinux_h(true)
        .flag("-mcpu=v3")
        .object_name("built_counter.bpf.o")
        .build();
    match built {
        Ok(_) => {}
        Err(e @ (lskel_build::Error::ClangNotFound { .. } | lskel_build::Error::Io { .. }))
            if std::env::var_os("LSKEL_REQUIRE_KERNEL").is_none_or(|v| v != "1") =>
        {
            println!("cargo:warning=using the committed bpf/counter.bpf.o: {e}");
            let src = "bpf/counter.bpf.o";
            println!("cargo:rerun-if-changed={src}");
            std::fs::copy(src, format!("{out}/built_counter.bpf.o"))
                .expect("copy fixture into OUT_DIR");
        }
        Err(e) => panic!("building bpf/counter.bpf.c: {e}"),
    }
    make_test_keys(&out);
}

/// Two throwaway RSA key pairs with self-signed certificates for the signing tests, made with
/// the `openssl` CLI: `signer` (signs the skeletons) and `other` ("another key"). Each as
/// `<name>.key.pem`, `<name>.crt.pem` and `<name>.crt.der` in OUT_DIR. Without openssl the
/// files are missing and the signing tests say so (under LSKEL_REQUIRE_KERNEL=1 this fails).
fn make_test_keys(out: &str) {
    use std::process::Command;
    for name in ["signer", "other"] {
        let key = format!("{out}/{name}.key.pem");
        let crt = format!("{out}/{name}.crt.pem");
        let der = format!("{out}/{name}.crt.der");
        if std::path::Path::new(&der).exists() {
            continue;
        }
        let subj = format!("/CN=lskel test {name}");
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-keyout", &key, "-out", &crt, "-subj", &subj])
            // A code-signing certificate as the kernel's PKCS#7 check expects of a key.
            .args(["-addext", "keyUsage=critical,digitalSignature"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .output()
            .and_then(|o| {
                if !o.status.success() {
                    return Err(std::io::Error::other(
                        String::from_utf8_lossy(&o.stderr).into_owned(),
                    ));
                }
                Command::new("openssl")
                    .args(["x509", "-in", &crt, "-outform", "DER", "-out", &der])
                    .status()
                    .and_then(|s| {
                        s.success().then_some(()).ok_or_else(|| {
                            std::io::Error::other("openssl x509 -outform DER failed")
                        })
                    })
            });
        match made {
            Ok(()) => {}
            Err(e) if std::env::var_os("LSKEL_REQUIRE_KERNEL").is_none_or(|v| v != "1") => {
                println!("cargo:warning=no test signing keys (openssl): {e}");
                return;
            }
            Err(e) => panic!("making test signing keys with openssl: {e}"),
        }
    }
}
