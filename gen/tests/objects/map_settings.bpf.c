// SPDX-License-Identifier: GPL-2.0
/*
 * Rebuild: clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 -I ../../../tests/bpf/include -c map_settings.bpf.c -o map_settings.bpf.o && llvm-strip-19 -g map_settings.bpf.o
 * (not in tests/bpf: the fixture-wide tests cannot give it its inner map and target).
 *
 * map_settings.bpf.c - maps whose shape the user sets before load, as bcc's
 * tools do with libbpf's bpf_map__set_* setters, and a loader ctx with an odd
 * number of programs and a target set before load.
 *
 *   stacks   STACK_TRACE, value_size set at run time (set_value_size)
 *   flagged  HASH, created BPF_F_NO_PREALLOC at run time (set_map_flags),
 *            keys widened to 8 bytes (set_key_size)
 *   bloom    BLOOM_FILTER, hash count from set_map_extra, NUMA node 0
 *   outer    ARRAY_OF_MAPS without an inner map definition: the user gives
 *            the inner map with set_inner_map
 *
 * read_inner (SEC("syscall")): ctx = struct args { u32 slot; u32 key; u64 out; };
 * looks up outer[slot], then inner[key] (an ARRAY of u64) into args.out.
 * Returns 0 when found, 1 when the slot is empty, 2 when the key is absent.
 *
 * on_switch SEC("tp_btf") names no target (set before load); count_raw is a
 * third program, so the ctx has an odd program count.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} flagged SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(value_size, sizeof(__u32));
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} outer SEC(".maps");

struct args {
	__u32 slot;
	__u32 key;
	__u64 out;
};

__u64 switches;
__u64 raw_runs;

SEC("syscall")
int read_inner(struct args *args)
{
	__u32 slot = args->slot, key = args->key;
	void *inner = bpf_map_lookup_elem(&outer, &slot);
	__u64 *v;

	if (!inner)
		return 1;
	v = bpf_map_lookup_elem(inner, &key);
	if (!v)
		return 2;
	args->out = *v;
	return 0;
}

SEC("tp_btf")
int BPF_PROG(on_switch)
{
	__sync_fetch_and_add(&switches, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw(void *ctx)
{
	__sync_fetch_and_add(&raw_runs, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
