// SPDX-License-Identifier: GPL-2.0
/*
 * usdt_auto.bpf.c - a USDT program whose section says where
 * (`usdt/<path>:<provider>:<name>`), for skel.attach(): probe `lskel_auto:tick`
 * of the test binary (tests/tests/usdt_auto.rs). Counts hits and sums the
 * probe's one argument.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

__u64 ticks;
__s64 tick_sum;

SEC("usdt//proc/self/exe:lskel_auto:tick")
int BPF_USDT(tick, long v)
{
	__sync_fetch_and_add(&ticks, 1);
	__sync_fetch_and_add(&tick_sum, v);
	return 0;
}
