// SPDX-License-Identifier: GPL-2.0
/*
 * nolicense.bpf.c - an object without a `license` section (no LICENSE[] at all).
 *
 * libbpf loads such an object with the empty license string, so the kernel treats every
 * program of it as not GPL-compatible: helpers marked gpl_only are refused by the verifier.
 *
 * Programs (object order):
 *   - count_runs  SEC("syscall"): runs += 1, last_ns = bpf_ktime_get_ns() (not gpl_only),
 *                 returns 7; loads and runs.
 *   - read_kernel SEC("?syscall") (autoload off): calls bpf_probe_read_kernel (gpl_only), so
 *                 switching it on makes the load fail with EINVAL and the verifier's
 *                 "cannot call GPL-restricted function from non-GPL compatible program".
 * Maps: `.bss` only: __u64 runs (offset 0), __u64 last_ns (offset 8).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 runs;
__u64 last_ns;

SEC("syscall")
int count_runs(void *ctx)
{
	runs++;
	last_ns = bpf_ktime_get_ns();
	return 7;
}

SEC("?syscall")
int read_kernel(void *ctx)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &runs);
	return v == runs;
}
