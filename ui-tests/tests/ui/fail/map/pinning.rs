// A map declared with `__uint(pinning, 2)`: only LIBBPF_PIN_NONE (0) and LIBBPF_PIN_BY_NAME (1) exist.
lskel::bpf_skeleton!("objects/pinning.bpf.o");

fn main() {}
