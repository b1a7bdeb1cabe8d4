// SPDX-License-Identifier: GPL-2.0
/*
 * ex_uprobe.bpf.c - the `uprobe` example: an entry and a return probe on a
 * function of the example binary itself, found by symbol (`/proc/self/exe`
 * is resolved when the skeleton attaches). Counts calls and returns and sums
 * arguments and return values (BPF_KPROBE/BPF_KRETPROBE read a uprobe's
 * registers the same way).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls;
__u64 returns;
__u64 arg_sum;
__u64 ret_sum;

SEC("uprobe//proc/self/exe:lskel_example_work")
int BPF_KPROBE(on_work, __u64 x)
{
	__sync_fetch_and_add(&calls, 1);
	__sync_fetch_and_add(&arg_sum, x);
	return 0;
}

SEC("uretprobe//proc/self/exe:lskel_example_work")
int BPF_KRETPROBE(on_work_ret, __u64 ret)
{
	__sync_fetch_and_add(&returns, 1);
	__sync_fetch_and_add(&ret_sum, ret);
	return 0;
}
