// Built with `clang -target bpfeb`.
lskel::bpf_skeleton!("objects/big_endian.bpf.o");

fn main() {}
