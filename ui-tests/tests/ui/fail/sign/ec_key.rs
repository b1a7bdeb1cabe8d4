// Only RSA keys: the kernel verifies BPF program signatures with RSA here.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/test-only-ec-key.pem", cert = "keys/test-only-ec-cert.pem"));

fn main() {}
