// A text file with a BPF object's name.
lskel::bpf_skeleton!("objects/not_elf.bpf.o");

fn main() {}
