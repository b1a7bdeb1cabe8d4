// A program in SEC("nonsense/foo"), which is none of libbpf's section names.
lskel::bpf_skeleton!("objects/unknown_section.bpf.o");

fn main() {}
