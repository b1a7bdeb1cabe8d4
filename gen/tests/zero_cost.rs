//! Zero costs nothing: a 16 MiB `.bss` adds nothing to the embedded skeleton.

use std::path::PathBuf;

#[test]
fn a_16_mib_bss_embeds_in_under_64_kib() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/objects/big_bss.bpf.o");
    let skel = lskel_gen::generate(&std::fs::read(&path).unwrap(), "big_bss").unwrap();
    let bss = skel.plan.maps.iter().find(|m| m.name == ".bss").unwrap();
    assert!(
        bss.value_size >= 16 << 20,
        "the fixture's .bss is {} bytes",
        bss.value_size
    );
    // What bpf_skeleton! embeds: the blob and the loader, plus the generated Rust source.
    let name = proc_macro2::Ident::new("big_bss", proc_macro2::Span::call_site());
    let code = lskel_gen::expand::skeleton::expand(&skel, &name, None)
        .unwrap()
        .to_string();
    let embedded = skel.loader.blob.len() + skel.loader.insns.len();
    eprintln!(
        "16 MiB .bss: blob {} bytes, loader {} bytes, generated code {} bytes",
        skel.loader.blob.len(),
        skel.loader.insns.len(),
        code.len()
    );
    assert!(embedded < 64 << 10, "embeds {embedded} bytes");
    // The blob literal is inside the code: all of it stays small.
    assert!(
        code.len() < 4 * (64 << 10),
        "generated code is {} bytes",
        code.len()
    );
    assert!(
        skel.loader.data_init.iter().all(Option::is_none),
        "no initial value is carried"
    );
}
