// The options are `name = ident` and `sign`; a misspelt key is an error, not ignored.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", nmae = my_counter);

fn main() {}
