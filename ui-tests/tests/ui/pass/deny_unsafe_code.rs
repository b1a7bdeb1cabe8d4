// A crate that denies unsafe code can still use skeletons: the expansion's few `unsafe` items
// (Pod impls of the C types, the trusted loader) carry their own `allow` and SAFETY comment.
#![deny(unsafe_code)]

lskel::bpf_skeleton!("../tests/bpf/nested_types.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/globals.bpf.o");

fn main() {
    let open = globals::open();
    let _ = open.maps;
    let _ = nested_types::open();
}
