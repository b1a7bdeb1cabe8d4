// A map in .maps declared with `__uint(colour, 3)`.
lskel::bpf_skeleton!("objects/unknown_map_field.bpf.o");

fn main() {}
