// A macro other than `concat!` as the path.
lskel::bpf_skeleton!(include_str!("counter.bpf.o"));

fn main() {}
