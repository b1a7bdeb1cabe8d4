// src/minimal.bpf.c with its .BTF cut short: the header claims more type and string data than follows.
lskel::bpf_skeleton!("objects/truncated_btf.bpf.o");

fn main() {}
