//! Arbitrary bytes as a BPF object: `generate` must return `Ok` or `Err`, never panic, hang or
//! allocate without bound. On success the snapshot dump, the plan description and the token
//! expansion (everything `lskel dump` / `lskel gen` / `bpf_skeleton!` do) must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(skel) = lskel_gen::generate(data, "obj") else {
        return;
    };
    let _ = skel.dump();
    let _ = lskel_gen::expand::describe(&skel.plan);
    let ident = lskel_gen::expand::types::ident("obj");
    if let Ok(tokens) = lskel_gen::expand::skeleton::expand(&skel, &ident, None) {
        // Rendering walks every token, as the proc macro's output does.
        let _ = tokens.to_string();
    }
});
