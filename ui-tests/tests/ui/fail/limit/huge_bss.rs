// `char big[80 << 20];`: an 80 MiB .bss, over the 64 MiB a global data map may hold.
lskel::bpf_skeleton!("objects/huge_bss.bpf.o");

fn main() {}
