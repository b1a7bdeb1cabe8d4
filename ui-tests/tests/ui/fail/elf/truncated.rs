// The first 100 bytes of a valid object: the header is there, the section table is not.
lskel::bpf_skeleton!("objects/truncated.bpf.o");

fn main() {}
