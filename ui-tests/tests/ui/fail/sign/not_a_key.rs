// A key file that is not a PEM private key.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/not-a-key.pem", cert = "keys/test-only-cert.pem"));

fn main() {}
