// Code relocated against a global in SEC(".foo"): not .data*, .rodata* or .bss*, so no map holds it.
lskel::bpf_skeleton!("objects/custom_data_section.bpf.o");

fn main() {}
