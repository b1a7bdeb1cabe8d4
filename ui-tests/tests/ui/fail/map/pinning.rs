// A map declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`: a light skeleton does not pin.
lskel::bpf_skeleton!("objects/pinning.bpf.o");

fn main() {}
