// The key is given; the certificate neither in the call nor in LSKEL_SIGNING_CERT.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/test-only-key.pem"));

fn main() {}
