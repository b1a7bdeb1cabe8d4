// SPDX-License-Identifier: GPL-2.0
/*
 * queues.bpf.c - QUEUE, STACK and BLOOM_FILTER (keyless maps), driven by one
 * SEC("raw_tp") program run with BPF_PROG_TEST_RUN, ctx_in = u64 args[2] =
 * { op, value } (16 bytes). Not SEC("syscall"): the verifier refuses these
 * three map types in sleepable programs ("Sleepable programs can only use
 * array, hash, ringbuf and local storage maps", EINVAL).
 *
 *   op 1 PUSH : push value on queue and stack, add it to the bloom filter
 *               (err_* = return codes)
 *   op 2 POP  : out_queue = pop(queue), out_stack = pop(stack)
 *               (err_* = return codes, -ENOENT when empty)
 *   op 3 PEEK : err_bloom = bpf_map_peek_elem(bloom, &value)
 *               (0 = maybe present, -ENOENT = surely absent)
 *
 * Maps: queue (QUEUE, u32 x 4), stack (STACK, u32 x 4),
 * bloom (BLOOM_FILTER, u32 x 64, map_extra = 3 hash functions), then .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);
	__type(value, __u32);
} bloom SEC(".maps");

/* .bss outputs */
__u64 runs;
__s32 err_queue;
__s32 err_stack;
__s32 err_bloom;
__u32 out_queue;
__u32 out_stack;

SEC("raw_tp/sys_enter")
int q_run(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 v = (__u32)ctx->args[1];

	runs++;
	switch (ctx->args[0]) {
	case 1:
		err_queue = bpf_map_push_elem(&queue, &v, BPF_ANY);
		err_stack = bpf_map_push_elem(&stack, &v, BPF_ANY);
		err_bloom = bpf_map_push_elem(&bloom, &v, BPF_ANY);
		break;
	case 2:
		v = 0;
		err_queue = bpf_map_pop_elem(&queue, &v);
		out_queue = v;
		v = 0;
		err_stack = bpf_map_pop_elem(&stack, &v);
		out_stack = v;
		break;
	case 3:
		err_bloom = bpf_map_peek_elem(&bloom, &v);
		break;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
