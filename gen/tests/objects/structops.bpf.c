// A struct_ops object (tcp_congestion_ops), registered on the real kernel by
// tests/tests/struct_ops.rs and checked in the emulator by gen/tests/emu_struct_ops.rs.
// Rebuild: clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -I ../../../tests/bpf/include -c structops.bpf.c -o structops.bpf.o && llvm-strip-19 -g structops.bpf.o
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
SEC("struct_ops/lskel_ssthresh")
__u32 BPF_PROG(lskel_ssthresh, struct sock *sk) { return 10; }
SEC("struct_ops/lskel_undo_cwnd")
__u32 BPF_PROG(lskel_undo_cwnd, struct sock *sk) { return 10; }
SEC("struct_ops/lskel_cong_avoid")
void BPF_PROG(lskel_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) { }
SEC(".struct_ops.link")
struct tcp_congestion_ops lskel_cc = {
	.ssthresh = (void *)lskel_ssthresh,
	.undo_cwnd = (void *)lskel_undo_cwnd,
	.cong_avoid = (void *)lskel_cong_avoid,
	.name = "lskel_cc",
};
