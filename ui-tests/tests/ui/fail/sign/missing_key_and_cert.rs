// `sign` with no paths reads LSKEL_SIGNING_KEY and LSKEL_SIGNING_CERT; with neither set it says both ways to give them.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign);

fn main() {}
