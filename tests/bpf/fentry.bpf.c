// SPDX-License-Identifier: GPL-2.0
/*
 * fentry.bpf.c - an fentry program, kept apart from attach.bpf.c.
 *
 * DOES NOT LOAD ON THIS MACHINE: the 6.18 test kernel refuses every
 * fentry/fexit/fmod_ret/LSM load with EPERM (lockdown). Kept for the
 * generator tests (attach target FUNC do_nanosleep, attach type
 * BPF_TRACE_FENTRY) and for kernels that allow it.
 *
 *   on_nanosleep  SEC("fentry/do_nanosleep")  TRACING (26) / BPF_TRACE_FENTRY (24),
 *                 target FUNC do_nanosleep (static in kallsyms: "t do_nanosleep").
 *                 Trigger: attach (RAW_TRACEPOINT_OPEN name NULL, or LINK_CREATE
 *                 attach type 24), then nanosleep() / std::thread::sleep.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* .rodata: tgid filter (0 = every process) */
const volatile int target_pid = 0;

/* .bss outputs */
__u64 sleep_hits;	/* do_nanosleep entries of target_pid */
__s32 last_mode;	/* the enum hrtimer_mode argument of the last call */

SEC("fentry/do_nanosleep")
int BPF_PROG(on_nanosleep, struct hrtimer_sleeper *t, enum hrtimer_mode mode)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;
	__sync_fetch_and_add(&sleep_hits, 1);
	last_mode = mode;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
