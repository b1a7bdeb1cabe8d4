// SPDX-License-Identifier: GPL-2.0
/*
 * attach.bpf.c - programs that need an attach step (BTF attach targets).
 *
 *   on_fork      SEC("tp_btf/sched_process_fork")  TRACING / BPF_TRACE_RAW_TP,
 *                target TYPEDEF btf_trace_sched_process_fork.
 *                Trigger: attach (RAW_TRACEPOINT_OPEN name NULL, or LINK_CREATE),
 *                then fork/spawn a child from a process whose tgid == target_pid.
 *   dump_maps    SEC("iter/bpf_map")   TRACING / BPF_TRACE_ITER, target FUNC bpf_iter_bpf_map.
 *                Trigger: LINK_CREATE (attach type 28, no iter_info) + ITER_CREATE + read.
 *                One line per map: "<id> <name>\n".
 *   dump_tasks_s SEC("iter.s/task")    the same, sleepable (BPF_F_SLEEPABLE), target
 *                FUNC bpf_iter_task. One line per task (thread) of tgid target_pid:
 *                "<tgid> <tid> <first 8 bytes of argv[0]>\n"; the argv bytes are read
 *                with the sleepable-only helper bpf_copy_from_user_task.
 *
 * fentry/do_nanosleep is in fentry.bpf.c: fentry loads are refused (EPERM) here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* .rodata: tgid filter (0 = every process) for on_fork and dump_tasks_s */
const volatile int target_pid = 0;

/* .bss outputs */
__u64 fork_hits;	/* on_fork: forks by a thread of target_pid */
__s32 fork_parent;	/* on_fork: parent->tgid of the last fork */
__s32 fork_child;	/* on_fork: child->pid of the last fork (= the child's pid) */
__u64 maps_seen;	/* dump_maps: maps visited, cumulative */
__u32 max_map_id;	/* dump_maps: highest map id seen */
__u64 tasks_seen_s;	/* dump_tasks_s: tasks (threads) visited, all tgids, cumulative */
__u64 matched_s;	/* dump_tasks_s: visited threads of target_pid */
__s32 copy_err;		/* dump_tasks_s: last bpf_copy_from_user_task() result */
char argv_head[8];	/* dump_tasks_s: first 8 bytes of target_pid's argv (cmdline) */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (target_pid != 0 && parent->tgid != target_pid)
		return 0;
	__sync_fetch_and_add(&fork_hits, 1);
	fork_parent = parent->tgid;
	fork_child = child->pid;
	return 0;
}

SEC("iter/bpf_map")
int dump_maps(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map *map = ctx->map;

	if (!map)	/* end of iteration */
		return 0;
	__sync_fetch_and_add(&maps_seen, 1);
	if (map->id > max_map_id)
		max_map_id = map->id;
	BPF_SEQ_PRINTF(seq, "%u %s\n", map->id, map->name);
	return 0;
}

SEC("iter.s/task")
int dump_tasks_s(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	char buf[16] = {};	/* 8 bytes copied, the rest stays NUL for %s */
	struct mm_struct *mm;

	if (!task)
		return 0;
	__sync_fetch_and_add(&tasks_seen_s, 1);
	if (target_pid == 0 || task->tgid != target_pid)
		return 0;
	__sync_fetch_and_add(&matched_s, 1);
	mm = task->mm;
	if (!mm)
		return 0;
	copy_err = bpf_copy_from_user_task(buf, 8, (void *)mm->arg_start, task, 0);
	if (copy_err == 0)
		__builtin_memcpy(argv_head, buf, sizeof(argv_head));
	BPF_SEQ_PRINTF(seq, "%d %d %s\n", task->tgid, task->pid, buf);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
