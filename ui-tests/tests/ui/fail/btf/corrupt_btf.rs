// src/minimal.bpf.c with its .BTF changed: the VAR `runs` refers to type [9999], which does not exist.
lskel::bpf_skeleton!("objects/missing_type_btf.bpf.o");

fn main() {}
