// SPDX-License-Identifier: GPL-2.0
/*
 * maptypes.bpf.c - breadth of "plain" map types in one object, driven by one
 * non-sleepable SEC("raw_tp") program run with BPF_PROG_TEST_RUN (ctx_in =
 * u64 args[2] = { op, arg }, 16 bytes). A raw_tp program, not SEC("syscall"):
 * syscall programs are sleepable and the verifier refuses most of these map
 * types in sleepable programs.
 *
 * ops (args[0]):
 *   1 LRU  : lru_hash[arg] = arg * 10 ; lru_percpu_hash[arg] = arg + 1
 *   2 LPM  : out_lpm = lpm[{32, arg}] (value of the longest prefix, 0 = miss)
 *   3 PERF : out_perf_err = bpf_perf_event_output(ctx, &perf_events, CURRENT_CPU, &arg, 8)
 *   4 STACK: out_stackid = bpf_get_stackid(ctx, &stacks, 0)
 *   5 CGRP : out_under_cgroup = bpf_current_task_under_cgroup(&cgroups, 0)
 *   6 TAIL : bpf_tail_call(ctx, &jmp, arg); out_tail_fallthrough++ if it returns
 * Every run does runs++ and returns op.
 *
 * Maps: lru_hash, lru_percpu_hash, lpm (LPM_TRIE, BPF_F_NO_PREALLOC),
 * perf_events (PERF_EVENT_ARRAY without max_entries: sized to the possible
 * CPUs at load time), stacks (STACK_TRACE, 127 frames), cgroups (CGROUP_ARRAY),
 * jmp (PROG_ARRAY, [1] = mt_tail statically), then .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct lpm_key {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} lru_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} cgroups SEC(".maps");

SEC("raw_tp/sys_enter")
int mt_tail(struct bpf_raw_tracepoint_args *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct bpf_raw_tracepoint_args *));
} jmp SEC(".maps") = {
	.values = { [1] = (void *)&mt_tail },
};

/* .bss outputs */
__u64 runs;
__u32 out_lpm;
__s32 out_lru_err;
__s32 out_lru_percpu_err;
__s32 out_perf_err;
__s64 out_stackid;
__s64 out_under_cgroup;
__u64 out_tail_fallthrough;
__u64 tail_hits;

SEC("raw_tp/sys_enter")
int mt_tail(struct bpf_raw_tracepoint_args *ctx)
{
	tail_hits++;
	return 100;
}

SEC("raw_tp/sys_enter")
int mt_run(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 op = ctx->args[0], arg = ctx->args[1];
	__u32 key = (__u32)arg;
	__u64 v;

	runs++;
	switch (op) {
	case 1:
		v = arg * 10;
		out_lru_err = bpf_map_update_elem(&lru_hash, &key, &v, BPF_ANY);
		v = arg + 1;
		out_lru_percpu_err = bpf_map_update_elem(&lru_percpu_hash, &key, &v, BPF_ANY);
		break;
	case 2: {
		struct lpm_key k = { .prefixlen = 32, .addr = key };
		__u32 *p = bpf_map_lookup_elem(&lpm, &k);

		out_lpm = p ? *p : 0;
		break;
	}
	case 3:
		out_perf_err = bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU,
						     &arg, sizeof(arg));
		break;
	case 4:
		out_stackid = bpf_get_stackid(ctx, &stacks, 0);
		break;
	case 5:
		out_under_cgroup = bpf_current_task_under_cgroup(&cgroups, key);
		break;
	case 6:
		bpf_tail_call(ctx, &jmp, key);
		out_tail_fallthrough++;
		break;
	}
	return op;
}

char LICENSE[] SEC("license") = "GPL";
