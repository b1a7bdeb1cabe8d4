// Each option of `sign` at most once.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/test-only-key.pem", cert = "keys/test-only-cert.pem", key = "keys/test-only-key.pem"));

fn main() {}
