// SPDX-License-Identifier: GPL-2.0
/*
 * typed_maps.bpf.c - maps with BTF key and value types, for the typed map API
 * (skel.maps().x() as TypedMap / PerCpuMap / Queue / BloomFilter). One
 * SEC("raw_tp") program, run with BPF_PROG_TEST_RUN (ctx_in = u64 args[2] =
 * { op, arg }), writes and reads them (raw_tp, not syscall: sleepable programs
 * cannot use queues, stacks or bloom filters).
 *
 *   op 1 WRITE: hash[{arg, 7, arg * 2}] = {arg, arg * 3, "bpf"};
 *               array[arg % 1024] = same value; lru[arg] = arg;
 *               percpu_array[0] on this CPU: hits++, last = arg, cpu = this CPU;
 *               percpu_hash[{arg, 7, arg * 2}] += arg;
 *               push {arg, arg + 1} on queue and stack; add arg to bloom
 *   op 2 READ : out_count/out_sum = hash[{arg, 7, arg * 2}] (out_found = 1 if
 *               present), out_popped = pop(queue).a (or -1)
 *
 * Maps: hash, array, percpu_array, percpu_hash, queue, stack, bloom, lru,
 * resized (a hash u32 -> u64 whose value size tests change before load), then .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct tm_key {
	__u32 pid;
	__u32 tag;
	__u64 cookie;
};

struct tm_val {
	__u64 count;
	__u64 sum;
	char comm[8];
};

/* 12 bytes: per-CPU values of it are 16 bytes apart. */
struct tm_pcpu {
	__u32 hits;
	__u32 last;
	__u32 cpu;
};

struct tm_item {
	__u32 a;
	__u32 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tm_key);
	__type(value, struct tm_val);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct tm_val);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct tm_pcpu);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct tm_key);
	__type(value, __u64);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, struct tm_item);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, struct tm_item);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 256);
	__uint(map_extra, 3);
	__type(value, __u64);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} resized SEC(".maps");

__u64 runs;
__u64 out_count;
__u64 out_sum;
__u32 out_found;
__s32 out_popped;

SEC("raw_tp/sys_enter")
int tm_run(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 arg = ctx->args[1];
	struct tm_key key = { .pid = (__u32)arg, .tag = 7, .cookie = arg * 2 };
	struct tm_val val = { .count = arg, .sum = arg * 3, .comm = "bpf" };
	struct tm_item item = { .a = (__u32)arg, .b = (__u32)arg + 1 };
	__u32 idx = (__u32)arg % 1024, zero = 0, small = (__u32)arg;
	struct tm_pcpu *pc;
	struct tm_val *found;
	__u64 *sum, one = arg;

	runs++;
	if (ctx->args[0] == 1) {
		bpf_map_update_elem(&hash, &key, &val, BPF_ANY);
		bpf_map_update_elem(&array, &idx, &val, BPF_ANY);
		bpf_map_update_elem(&lru, &small, &one, BPF_ANY);
		pc = bpf_map_lookup_elem(&percpu_array, &zero);
		if (pc) {
			pc->hits++;
			pc->last = (__u32)arg;
			pc->cpu = bpf_get_smp_processor_id();
		}
		sum = bpf_map_lookup_elem(&percpu_hash, &key);
		if (sum)
			*sum += arg;
		else
			bpf_map_update_elem(&percpu_hash, &key, &one, BPF_NOEXIST);
		bpf_map_push_elem(&queue, &item, BPF_ANY);
		bpf_map_push_elem(&stack, &item, BPF_ANY);
		bpf_map_push_elem(&bloom, &arg, BPF_ANY);
	} else if (ctx->args[0] == 2) {
		found = bpf_map_lookup_elem(&hash, &key);
		out_found = found != 0;
		if (found) {
			out_count = found->count;
			out_sum = found->sum;
		}
		if (bpf_map_pop_elem(&queue, &item) == 0)
			out_popped = (__s32)item.a;
		else
			out_popped = -1;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
