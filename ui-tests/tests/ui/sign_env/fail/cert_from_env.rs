// Run with LSKEL_SIGNING_CERT = a certificate of another key than LSKEL_SIGNING_KEY's: the error
// is on `sign` and names the file and the variable it came from.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign);

fn main() {}
