// A certificate made for another key: the kernel would reject the signature at load.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/test-only-key.pem", cert = "keys/test-only-other-cert.pem"));

fn main() {}
