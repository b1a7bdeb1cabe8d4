// Run with LSKEL_SIGNING_KEY set: a key written in the call wins, and its read error names it.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(key = "keys/missing.pem"));

fn main() {}
