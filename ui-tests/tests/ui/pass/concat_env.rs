// The path may be written `concat!` of literals and `env!("VAR")`, the usual idiom for objects
// a build script writes (`concat!(env!("OUT_DIR"), "/x.bpf.o")`); CARGO_MANIFEST_DIR first
// means the crate root, as a plain literal does.
lskel::bpf_skeleton!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/bpf/", "counter.bpf.o"),
    name = counter_concat
);

fn main() {
    let open = counter_concat::open();
    assert_eq!(open.rodata.target_pid, 0);
}
