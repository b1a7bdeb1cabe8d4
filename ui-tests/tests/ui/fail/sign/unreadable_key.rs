// A key file that does not exist: the error names the path as written and the io error.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/no-such-key.pem", cert = "keys/test-only-cert.pem"));

fn main() {}
