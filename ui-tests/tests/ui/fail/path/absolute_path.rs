// Absolute paths are refused: they only work on the machine that wrote them.
lskel::bpf_skeleton!("/opt/bpf/counter.bpf.o");

fn main() {}
