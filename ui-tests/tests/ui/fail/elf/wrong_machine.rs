// A host object (`gcc -c`): ELF, but e_machine is x86-64, not BPF.
lskel::bpf_skeleton!("objects/x86_64.o");

fn main() {}
