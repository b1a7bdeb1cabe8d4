// SPDX-License-Identifier: GPL-2.0
/*
 * syscount.bpf.c - the syscount example: every syscall entered by a task of
 * process target_pid (0 = every process) becomes one struct syscall_event in
 * the perf buffer `syscalls` (at the current CPU).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct syscall_event {
	__u32 pid;
	__u32 tid;
	__s64 id;
};

const volatile int target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} syscalls SEC(".maps");

/* Not inlined, so struct syscall_event is in the object's BTF (clang leaves
 * out the types of locals and of inlined functions). */
static __noinline int fill(struct syscall_event *e, __u64 pid_tgid, long id)
{
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->id = id;
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_event e = {};

	if (target_pid != 0 && (pid_tgid >> 32) != (__u32)target_pid)
		return 0;
	fill(&e, pid_tgid, id);
	bpf_perf_event_output(ctx, &syscalls, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
