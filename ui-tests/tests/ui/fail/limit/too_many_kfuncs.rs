// One program calling more distinct kfuncs than the kernel accepts: refused at compile time.
lskel::bpf_skeleton!("objects/too_many_kfuncs.bpf.o");

fn main() {}
