// A program in SEC("tp_bft/sched_switch"), a typo of tp_btf/sched_switch.
lskel::bpf_skeleton!("objects/section_typo.bpf.o");

fn main() {}
