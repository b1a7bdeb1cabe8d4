// Built without `-g`: no .BTF section.
lskel::bpf_skeleton!("objects/no_btf.bpf.o");

fn main() {}
