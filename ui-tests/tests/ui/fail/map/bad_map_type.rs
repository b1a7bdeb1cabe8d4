// A map in .maps declared with `__uint(type, 200)`, no map type the kernel knows.
lskel::bpf_skeleton!("objects/bad_map_type.bpf.o");

fn main() {}
