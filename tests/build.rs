//! Copies a fixture into OUT_DIR so a test can show `bpf_skeleton!("$OUT_DIR/...")` works for
//! objects a build script produces.

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let src = "bpf/counter.bpf.o";
    println!("cargo:rerun-if-changed={src}");
    std::fs::copy(src, format!("{out}/built_counter.bpf.o")).expect("copy fixture into OUT_DIR");
}
