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
}
