// src/minimal.bpf.c with a .BTF.ext whose func_info claims 1000 records for a section that holds one.
lskel::bpf_skeleton!("objects/corrupt_btf_ext.bpf.o");

fn main() {}
