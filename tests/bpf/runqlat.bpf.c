// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat.bpf.c - run-queue latency as a log2 histogram, for the runqlat example
 * (tests/examples/runqlat.rs). A task that becomes runnable (sched_wakeup,
 * sched_wakeup_new, or preempted while running in sched_switch) gets a start
 * time; when sched_switch puts it on a CPU, the time it waited, in
 * microseconds, is counted in slot log2(usecs) of `hist`.
 *
 * Maps: start (HASH pid -> u64 ns), hist (ARRAY u32 slot -> u64 count, 26
 * slots), then .rodata (targ_tgid: count only this process's threads, 0 = all)
 * and .bss (events: latencies counted).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_SLOTS 26
#define TASK_RUNNING 0

const volatile __u32 targ_tgid = 0;

__u64 events;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline int enqueue(struct task_struct *p)
{
	__u32 pid = p->pid;
	__u64 ts;

	if (!pid || (targ_tgid && (__u32)p->tgid != targ_tgid))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	/* Bounded for the verifier: at most 64 halvings. */
	for (int i = 0; i < 64 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(rq_wakeup, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(rq_wakeup_new, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(rq_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 pid, slot;
	__u64 *tsp, delta, *count;

	if (prev->__state == TASK_RUNNING)
		enqueue(prev);
	pid = next->pid;
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &pid);
	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	__sync_fetch_and_add(&events, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
