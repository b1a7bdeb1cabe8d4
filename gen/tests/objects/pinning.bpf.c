// SPDX-License-Identifier: GPL-2.0
/*
 * Rebuild: clang-19 -g -O2 -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c pinning.bpf.c -o pinning.bpf.o && llvm-strip-19 -g pinning.bpf.o
 * (not in tests/bpf: the conformance test loads every tests/bpf object with
 * `bpftool prog loadall`, and libbpf would pin `shared` under /sys/fs/bpf).
 *
 * pinning.bpf.c - maps that outlive the process.
 *
 *   shared   ARRAY of 8 u64, __uint(pinning, LIBBPF_PIN_BY_NAME): the first
 *            skeleton creates and pins it, the next ones reuse the pin
 *   local    HASH u32 -> u64 of 16 entries, not pinned: for reuse_fd
 *
 * rw (SEC("syscall")): ctx = struct args { u32 op; u32 key; u64 value; };
 *   op 0: shared[key] = value     op 1: value = shared[key]
 *   op 2: local[key] = value      op 3: value = local[key] (returns 2 if absent)
 * Returns 0, or 1 for a key out of range.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} local SEC(".maps");

struct args {
	__u32 op;
	__u32 key;
	__u64 value;
};

SEC("syscall")
int rw(struct args *a)
{
	__u32 key = a->key;
	__u64 val = a->value, *v;

	switch (a->op) {
	case 0:
		v = bpf_map_lookup_elem(&shared, &key);
		if (!v)
			return 1;
		*v = a->value;
		return 0;
	case 1:
		v = bpf_map_lookup_elem(&shared, &key);
		if (!v)
			return 1;
		a->value = *v;
		return 0;
	case 2:
		return bpf_map_update_elem(&local, &key, &val, BPF_ANY) ? 1 : 0;
	case 3:
		v = bpf_map_lookup_elem(&local, &key);
		if (!v)
			return 2;
		a->value = *v;
		return 0;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
