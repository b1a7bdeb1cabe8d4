// SPDX-License-Identifier: GPL-2.0
/*
 * mimtypes.bpf.c - map-in-map whose inner maps are not arrays:
 *
 *   outer_rb    ARRAY_OF_MAPS, 2 slots, inner RINGBUF (4096)           [0] = inner_rb
 *   outer_hash  HASH_OF_MAPS, 4 keys, inner HASH u32 -> u64 x 8        key 3 = inner_h
 *   outer_pe    ARRAY_OF_MAPS, 2 slots, inner PERF_EVENT_ARRAY declared
 *               without max_entries (template and inner_pe are both
 *               sized to the possible CPUs at load time)              [0] = inner_pe
 *   outer_lru   HASH_OF_MAPS, 2 keys, inner LRU_HASH u32 -> u32 x 4    key 7 = inner_lru
 *
 *   mim_types  SEC("raw_tp"), test_run ctx u64 args[2] = { op, arg }:
 *     op 1: r = outer_rb[0];  err = bpf_ringbuf_output(r, &arg, 8)
 *     op 2: h = outer_hash[3]; err = update(h, (u32)arg, arg * 3)
 *     op 3: p = outer_pe[0];  err = bpf_perf_event_output(ctx, p, CURRENT_CPU, &arg, 8)
 *     op 4: l = outer_lru[7]; err = update(l, (u32)arg, (u32)arg + 1)
 *   `err` = -99 when the outer lookup found no inner map; returns op.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct inner_rb_t {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} inner_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_rb_t);
} outer_rb SEC(".maps") = {
	.values = { [0] = &inner_rb },
};

struct inner_h_t {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} inner_h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_h_t);
} outer_hash SEC(".maps") = {
	.values = { [3] = &inner_h },
};

struct inner_pe_t {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} inner_pe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_pe_t);
} outer_pe SEC(".maps") = {
	.values = { [0] = &inner_pe },
};

struct inner_lru_t {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} inner_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_lru_t);
} outer_lru SEC(".maps") = {
	.values = { [7] = &inner_lru },
};

/* .bss */
__u64 runs;
__s64 err;

SEC("raw_tp/sys_enter")
int mim_types(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 op = ctx->args[0], arg = ctx->args[1];
	__u32 k, key = (__u32)arg, v32;
	__u64 v;
	void *m;

	runs++;
	err = -99;
	switch (op) {
	case 1:
		k = 0;
		m = bpf_map_lookup_elem(&outer_rb, &k);
		if (m)
			err = bpf_ringbuf_output(m, &arg, sizeof(arg), 0);
		break;
	case 2:
		k = 3;
		m = bpf_map_lookup_elem(&outer_hash, &k);
		v = arg * 3;
		if (m)
			err = bpf_map_update_elem(m, &key, &v, BPF_ANY);
		break;
	case 3:
		k = 0;
		m = bpf_map_lookup_elem(&outer_pe, &k);
		if (m)
			err = bpf_perf_event_output(ctx, m, BPF_F_CURRENT_CPU, &arg, sizeof(arg));
		break;
	case 4:
		k = 7;
		m = bpf_map_lookup_elem(&outer_lru, &k);
		v32 = key + 1;
		if (m)
			err = bpf_map_update_elem(m, &key, &v32, BPF_ANY);
		break;
	}
	return op;
}

char LICENSE[] SEC("license") = "GPL";
