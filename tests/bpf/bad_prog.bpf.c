// SPDX-License-Identifier: GPL-2.0
/*
 * bad_prog.bpf.c - EXPECTED LOAD FAILURE: the verifier rejects the second program.
 * Used by tests/tests/errors.rs to check that the load fails at step
 * "load program `bad_read`" (EACCES) and, with a log level, carries the verifier log.
 *
 *   good_run  SEC("syscall")  valid; loads first (programs are ordered by offset)
 *   bad_read  SEC("syscall")  reads vals[0].slots[args->index] with an index the
 *                             verifier cannot bound: "invalid access to map value"
 *
 * libbpf refuses it too, so load_all / conformance must list it as an expected
 * refusal (EACCES).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct val {
	__u64 slots[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct val);
} vals SEC(".maps");

struct bad_args {
	__u32 index;	/* @0: not bounds-checked on purpose */
	__u32 pad;	/* @4 */
};

__u64 good_runs;
__u64 out;

SEC("syscall")
int good_run(void *ctx)
{
	good_runs++;
	return 0;
}

SEC("syscall")
int bad_read(struct bad_args *args)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &key);

	if (!v)
		return 0;
	out = v->slots[args->index];	/* unbounded index: rejected */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
