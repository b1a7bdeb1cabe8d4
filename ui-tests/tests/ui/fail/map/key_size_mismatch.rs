// A map declared with `__uint(key_size, 8)` and `__type(key, __u32)`: the two sizes disagree.
lskel::bpf_skeleton!("objects/key_size_mismatch.bpf.o");

fn main() {}
