// src/minimal.bpf.c with the relocated ld_imm64 (opcode 0x18) at instruction 0 patched to a mov64 (0xb7).
lskel::bpf_skeleton!("objects/not_ld_imm64.bpf.o");

fn main() {}
