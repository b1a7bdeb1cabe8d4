// SPDX-License-Identifier: GPL-2.0
/*
 * ex_taskiter.bpf.c - the `taskiter` example: a ps-like task iterator that
 * prints one "pid ppid comm" line per process (thread-group leader).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int ps(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	int ppid;

	if (!task || task->pid != task->tgid)
		return 0;
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	BPF_SEQ_PRINTF(seq, "%d %d %s\n", task->tgid, ppid, task->comm);
	return 0;
}
