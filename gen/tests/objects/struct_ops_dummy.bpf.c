// A bpf_dummy_ops struct_ops map whose programs run through BPF_PROG_TEST_RUN on this kernel
// (tests/tests/struct_ops.rs). The object's value is 8 + 24 bytes; the kernel's
// `bpf_struct_ops_bpf_dummy_ops` is larger, with its struct at a cache-line boundary: the
// runtime lays the value out from kernel BTF at load time.
// Rebuild: clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 -I ../../../tests/bpf/include -c struct_ops_dummy.bpf.c -o struct_ops_dummy.bpf.o && llvm-strip-19 -g struct_ops_dummy.bpf.o
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 test_1_runs;

/* Returns the state's value (0xf2f3f4f5 without one) and leaves 0x5a in it. */
SEC("struct_ops/test_1")
int BPF_PROG(lskel_test_1, struct bpf_dummy_ops_state *state)
{
	int ret;

	__sync_fetch_and_add(&test_1_runs, 1);
	if (!state)
		return 0xf2f3f4f5;
	ret = state->val;
	state->val = 0x5a;
	return ret;
}

/* Returns the sum of its scalar arguments. */
SEC("struct_ops/test_2")
int BPF_PROG(lskel_test_2, struct bpf_dummy_ops_state *state, int a1, unsigned short a2,
	     char a3, unsigned long a4)
{
	return a1 + a2 + a3 + a4;
}

SEC(".struct_ops.link")
struct bpf_dummy_ops lskel_dummy = {
	.test_1 = (void *)lskel_test_1,
	.test_2 = (void *)lskel_test_2,
};
