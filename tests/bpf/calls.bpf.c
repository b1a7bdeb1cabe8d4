// SPDX-License-Identifier: GPL-2.0
/*
 * calls.bpf.c - bpf-to-bpf calls and a bpf_loop callback.
 *
 * Subprograms (all in .text):
 *   square()      static __noinline            x * x
 *   global_add()  global (non-static) __noinline, verified on its own by the
 *                 kernel; also bumps .bss global_calls (map value reference
 *                 inside a subprogram)
 *   level1()      static __noinline, calls level2(): (x + 1) * 2
 *   level2()      static __noinline            x + 1
 *   sum_cb()      bpf_loop (helper 181) callback: sum += index
 *
 * Programs (each gets the subprograms it reaches appended):
 *   calc        SEC("syscall")          uses square, global_add, level1, bpf_loop
 *   calc_fixed  SEC("syscall")          uses square, global_add, level1 (x = 7)
 *   calls_tp    SEC("raw_tp/sys_enter") uses global_add, level1
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* ctx of calc: 16 bytes, x @0, n @8, pad @12. */
struct calc_args {
	__u64 x;
	__u32 n;   /* bpf_loop iterations */
	__u32 pad;
};

struct loop_ctx {
	__u64 sum;
};

/* .rodata: pid filter of calls_tp (0 = every process). */
const volatile int target_pid = 0;

/* .bss outputs */
__u64 global_calls;  /* incremented by every global_add() call */
__u64 out_square;    /* calc: x * x */
__u64 out_add;       /* calc: x + 10 */
__u64 out_nested;    /* calc: (x + 1) * 2 */
__u64 out_loop;      /* calc: 0 + 1 + ... + (n - 1) */
__s32 out_loop_ret;  /* calc: bpf_loop() return: iterations done, or -E2BIG (-7) */
__u64 fixed_square;  /* calc_fixed: 49 */
__u64 fixed_add;     /* calc_fixed: 17 */
__u64 fixed_nested;  /* calc_fixed: 16 */
__u64 tp_hits;       /* calls_tp: number of matching syscalls */
__u64 tp_nested;     /* calls_tp: level1(tp_hits) after the update */

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

__noinline __u64 global_add(__u64 a, __u64 b)
{
	__sync_fetch_and_add(&global_calls, 1);
	return a + b;
}

static __noinline __u64 level2(__u64 x)
{
	return x + 1;
}

static __noinline __u64 level1(__u64 x)
{
	return level2(x) * 2;
}

static long sum_cb(__u64 index, void *ctx)
{
	struct loop_ctx *lc = ctx;

	lc->sum += index;
	return 0;
}

SEC("syscall")
int calc(struct calc_args *ctx)
{
	struct loop_ctx lc = { .sum = 0 };
	__u64 x = ctx->x;

	out_square = square(x);
	out_add = global_add(x, 10);
	out_nested = level1(x);
	out_loop_ret = (int)bpf_loop(ctx->n, sum_cb, &lc, 0);
	out_loop = lc.sum;
	return 0;
}

SEC("syscall")
int calc_fixed(void *ctx)
{
	fixed_square = square(7);
	fixed_add = global_add(7, 10);
	fixed_nested = level1(7);
	return 0;
}

SEC("raw_tp/sys_enter")
int calls_tp(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;
	tp_hits = global_add(tp_hits, 1);
	tp_nested = level1(tp_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
