// The object does not exist.
lskel::bpf_skeleton!("objects/no_such_object.bpf.o");

fn main() {}
