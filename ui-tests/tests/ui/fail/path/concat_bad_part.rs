// Only string literals and `env!("VAR")` are recognised inside the path's `concat!`.
lskel::bpf_skeleton!(concat!("../tests/bpf/", stringify!(counter), ".bpf.o"));

fn main() {}
