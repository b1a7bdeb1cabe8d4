// `ctx_overrides` takes `true` or `false`.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/test-only-key.pem", cert = "keys/test-only-cert.pem", ctx_overrides = 1));

fn main() {}
