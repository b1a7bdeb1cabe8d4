// A program in SEC("uprobe/libc.so.6"): auto-attach needs `path:function[+offset]`.
lskel::bpf_skeleton!("objects/bad_uprobe_target.bpf.o");

fn main() {}
