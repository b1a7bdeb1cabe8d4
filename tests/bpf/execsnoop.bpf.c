// SPDX-License-Identifier: GPL-2.0
/*
 * execsnoop.bpf.c - the execsnoop example: one struct exec_event per exec
 * of a child of target_ppid (0 = every exec), into the ring buffer `execs`.
 *
 *   handle_exec  tp_btf/sched_process_exec: pid, ppid, comm (after exec:
 *                the new program's name) and the file name.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
	char filename[128];
};

const volatile int target_ppid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} execs SEC(".maps");

/* Not inlined, so struct exec_event is in the object's BTF (clang leaves out
 * the types of locals and of inlined functions). */
static __noinline int fill(struct exec_event *e, __u32 pid, __u32 ppid, const char *filename)
{
	e->pid = pid;
	e->ppid = ppid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_event *e;
	__u32 ppid = p->real_parent->tgid;

	if (target_ppid != 0 && ppid != (__u32)target_ppid)
		return 0;
	e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e)
		return 0;
	fill(e, p->tgid, ppid, bprm->filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
