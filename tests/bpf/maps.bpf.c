// SPDX-License-Identifier: GPL-2.0
/*
 * maps.bpf.c - one map of each common type, written by one SEC("syscall")
 * program run with BPF_PROG_TEST_RUN (ctx_in = struct args, 16 bytes).
 *
 * For args { key, value } the program does:
 *   array_map[key]        = value          (key must be < 16)
 *   hash_map[key]         = value * 2
 *   percpu_array[0]      += value          (on the CPU that ran it)
 *   percpu_hash[key]      = value + 1      (on the CPU that ran it)
 *   small_hash[key]       = key            (max_entries 4, override it before load)
 *   raw_array[0]          = value          (map without BTF key/value types)
 *   ringbuf              <- struct event { key, 0, value }
 * and stores each operation's return code in a .bss err_* variable, and
 * counts successful runs in .bss `runs`. Return value: 0.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* ctx of write_maps: 16 bytes, key @0, 4 bytes padding, value @8. */
struct args {
	__u32 key;
	__u64 value;
};

/* ring buffer record: 16 bytes, key @0, pad @4 (0), value @8. */
struct event {
	__u32 key;
	__u32 pad;
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} array_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} ringbuf SEC(".maps");

/* max_entries 4: a test raises it before load, then inserts more than 4 keys. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} small_hash SEC(".maps");

/* Sizes only, no BTF key/value type ids. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} raw_array SEC(".maps");

/* .bss: return codes of the last run (0 = success, negative errno). */
int err_array;
int err_hash;
int err_percpu_array; /* -2 (ENOENT) if the lookup failed */
int err_percpu_hash;
int err_small;
int err_raw;
int err_ringbuf;      /* -12 (ENOMEM) if the ring buffer was full */
__u64 runs;

SEC("syscall")
int write_maps(struct args *ctx)
{
	__u32 key = ctx->key;
	__u64 value = ctx->value;
	__u32 zero = 0;
	__u64 v, *pv;
	struct event *e;

	err_array = bpf_map_update_elem(&array_map, &key, &value, BPF_ANY);

	v = value * 2;
	err_hash = bpf_map_update_elem(&hash_map, &key, &v, BPF_ANY);

	pv = bpf_map_lookup_elem(&percpu_array, &zero);
	if (pv) {
		*pv += value;
		err_percpu_array = 0;
	} else {
		err_percpu_array = -2;
	}

	v = value + 1;
	err_percpu_hash = bpf_map_update_elem(&percpu_hash, &key, &v, BPF_ANY);

	err_small = bpf_map_update_elem(&small_hash, &key, &key, BPF_ANY);

	err_raw = bpf_map_update_elem(&raw_array, &zero, &value, BPF_ANY);

	e = bpf_ringbuf_reserve(&ringbuf, sizeof(*e), 0);
	if (e) {
		e->key = key;
		e->pad = 0;
		e->value = value;
		bpf_ringbuf_submit(e, 0);
		err_ringbuf = 0;
	} else {
		err_ringbuf = -12;
	}

	runs++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
