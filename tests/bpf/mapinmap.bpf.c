// SPDX-License-Identifier: GPL-2.0
/*
 * mapinmap.bpf.c - map-in-map: ARRAY_OF_MAPS and HASH_OF_MAPS with a declared
 * inner map type and statically initialised slots.
 *
 *   mim_run  SEC("syscall")  ctx struct mim_args (16 bytes)
 *
 * Maps (BTF-defined):
 *   inner_a, inner_b, inner_c  ARRAY u32 -> u64, 4 entries (real maps)
 *   outer_arr   ARRAY_OF_MAPS, 4 slots, inner = struct inner_map,
 *               .values = { [0] = &inner_a, [2] = &inner_b }  (slots 1, 3 empty)
 *   outer_hash  HASH_OF_MAPS, 8 entries, key u32, inner = struct inner_map,
 *               .values = { [1] = &inner_c, [5] = &inner_a }  (keys 1 and 5)
 *
 * For args {outer_key, inner_key, value, use_hash}:
 *   m = use_hash ? outer_hash[outer_key] : outer_arr[outer_key]
 *   if m == NULL: lookup_miss++, return 0
 *   old = m[inner_key] (0 if inner_key >= 4, then err = -E2BIG from update)
 *   m[inner_key] = value ; last_old = old ; last_read = m[inner_key]
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* The inner map "template": every inner map must match it (type, key/value
 * size, max_entries). */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps"), inner_c SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [1] = &inner_c, [5] = &inner_a },
};

struct mim_args {
	__u32 outer_key;	/* @0 */
	__u32 inner_key;	/* @4 */
	__u64 value;		/* @8 */
	__u32 use_hash;		/* @16: 0 = outer_arr, else outer_hash */
	__u32 pad;		/* @20 */
};				/* 24 bytes */

/* .bss outputs */
__u64 runs;
__u64 lookup_miss;	/* outer lookups that found no inner map */
__u64 last_old;		/* inner value before the write */
__u64 last_read;	/* inner value read back after the write */
__s32 last_err;		/* bpf_map_update_elem() result on the inner map */

SEC("syscall")
int mim_run(struct mim_args *args)
{
	__u32 okey = args->outer_key, ikey = args->inner_key;
	__u64 val = args->value, *p;
	void *inner;

	runs++;
	if (args->use_hash)
		inner = bpf_map_lookup_elem(&outer_hash, &okey);
	else
		inner = bpf_map_lookup_elem(&outer_arr, &okey);
	if (!inner) {
		lookup_miss++;
		return 0;
	}
	p = bpf_map_lookup_elem(inner, &ikey);
	last_old = p ? *p : 0;
	last_err = bpf_map_update_elem(inner, &ikey, &val, BPF_ANY);
	p = bpf_map_lookup_elem(inner, &ikey);
	last_read = p ? *p : 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
