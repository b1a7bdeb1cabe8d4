// SPDX-License-Identifier: GPL-2.0
/*
 * tp_btf.bpf.c - programs whose attach target is a BTF id resolved at load
 * time (btf_find_by_name_kind in the loader):
 *
 *   btf_sys_enter  SEC("tp_btf/sys_enter")  TRACING/BPF_TRACE_RAW_TP,
 *                  target TYPEDEF btf_trace_sys_enter
 *   dump_task      SEC("iter/task")         TRACING/BPF_TRACE_ITER,
 *                  target FUNC bpf_iter_task
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* .rodata: tgid filter of btf_sys_enter (0 = every process). */
const volatile int target_pid = 0;

/* .bss outputs */
__u64 enter_hits;   /* btf_sys_enter: matching syscalls */
__s64 last_id;      /* btf_sys_enter: last syscall id (from the tp args) */
__u64 last_orig_ax; /* btf_sys_enter: regs->orig_ax, read through the typed BTF pointer */
__u64 tasks_seen;   /* dump_task: tasks visited (cumulative over reads) */

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;
	__sync_fetch_and_add(&enter_hits, 1);
	last_id = id;
	last_orig_ax = regs->orig_ax; /* direct load, PTR_TO_BTF_ID */
	return 0;
}

/* One line per task: "<tgid> <pid> <comm>\n". */
SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	__sync_fetch_and_add(&tasks_seen, 1);
	BPF_SEQ_PRINTF(seq, "%d %d %s\n", task->tgid, task->pid, task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
