// src/minimal.bpf.c with its .BTF changed: the FUNC `minimal` has a name offset past the string section.
lskel::bpf_skeleton!("objects/bad_string_offset.bpf.o");

fn main() {}
