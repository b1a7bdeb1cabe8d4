// Two bad map definitions and two programs relocated against globals no map holds: one build
// reports all four, each as its own error; `use_painted`'s use of the bad map is not repeated.
lskel::bpf_skeleton!("objects/several_problems.bpf.o");

fn main() {}
