// SPDX-License-Identifier: GPL-2.0
/*
 * tailcall.bpf.c - BPF_MAP_TYPE_PROG_ARRAY with statically initialised slots.
 *
 * SEC("syscall") programs cannot be used: libbpf always loads them sleepable
 * and the verifier refuses a PROG_ARRAY in a sleepable program ("Sleepable
 * programs can only use array, hash, ringbuf and local storage maps").
 * So all three programs are SEC("tc") (SCHED_CLS), run with BPF_PROG_TEST_RUN
 * and a >= 14-byte frame; the index comes from the ctx (skb->mark, settable
 * through ctx_in = struct __sk_buff).
 *
 *   target_a    SEC("tc")  marker_a = 0xaa, last_target = 1, returns 10
 *   target_b    SEC("tc")  marker_b = 0xbb, last_target = 2, returns 20
 *   tail_entry  SEC("tc")  bpf_tail_call(skb, &jmp_table, skb->mark + index_bias);
 *               when the slot is empty / out of range: fallthrough++, returns 1
 *
 * jmp_table: PROG_ARRAY, 4 slots, .values = { [0] = &target_a, [1] = &target_b };
 * slots 2 and 3 are empty. The targets come before the map and the entry in
 * the source (the .values initialiser needs them declared).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* .rodata: added to skb->mark to form the slot index */
const volatile __u32 index_bias = 0;

/* .bss outputs */
__u64 entry_runs;	/* tail_entry executions */
__u64 fallthrough;	/* tail calls that did not jump */
__u32 marker_a;		/* 0xaa once target_a ran */
__u32 marker_b;		/* 0xbb once target_b ran */
__u32 last_target;	/* 1 = target_a, 2 = target_b */
__u32 hits_a;		/* target_a executions */
__u32 hits_b;		/* target_b executions */

SEC("tc")
int target_a(struct __sk_buff *skb)
{
	marker_a = 0xaa;
	last_target = 1;
	hits_a++;
	return 10;
}

SEC("tc")
int target_b(struct __sk_buff *skb)
{
	marker_b = 0xbb;
	last_target = 2;
	hits_b++;
	return 20;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct __sk_buff *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&target_a,	/* cast form */
		[1] = &target_b,		/* no cast needed: the types match */
	},
};

SEC("tc")
int tail_entry(struct __sk_buff *skb)
{
	__u32 idx = skb->mark + index_bias;

	entry_runs++;
	bpf_tail_call(skb, &jmp_table, idx);
	fallthrough++;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
