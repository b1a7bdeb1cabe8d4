// A misspelt option of `sign` is an error, not ignored.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(kye = "keys/test-only-key.pem", cert = "keys/test-only-cert.pem"));

fn main() {}
