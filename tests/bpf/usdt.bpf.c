// SPDX-License-Identifier: GPL-2.0
/*
 * usdt.bpf.c - a USDT program written against libbpf's <bpf/usdt.bpf.h>:
 * BPF_USDT reads the probe's arguments through the __bpf_usdt_specs map that
 * lskel::usdt fills, the spec id coming from the BPF cookie.
 * `hit` adds each argument of probe lskel:hit(int, long, u64, int, short)
 * into .bss, counts the hits and records the argument count and the USDT
 * cookie of the last hit. Only hits from process `target_pid` count (0 = any).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

const volatile int target_pid = 0;

__u64 hits;
__s64 sum_a;
__s64 sum_b;
__u64 sum_c;
__s64 sum_d;
__s64 sum_e;
__s64 arg_cnt;
__u64 cookie;
__s64 err;

SEC("usdt")
int BPF_USDT(hit, int a, long b, unsigned long c, int d, short e)
{
	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	__sync_fetch_and_add(&sum_a, a);
	__sync_fetch_and_add(&sum_b, b);
	__sync_fetch_and_add(&sum_c, c);
	__sync_fetch_and_add(&sum_d, d);
	__sync_fetch_and_add(&sum_e, e);
	arg_cnt = bpf_usdt_arg_cnt(ctx);
	cookie = bpf_usdt_cookie(ctx);
	{
		long v;
		int r = bpf_usdt_arg(ctx, 5, &v); /* one past the last: -ENOENT */
		if (r)
			err = r;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
