// SPDX-License-Identifier: GPL-2.0
/*
 * core.bpf.c - CO-RE relocations (field offsets, existence, sizes, type
 * existence, enum values) in a raw_tp/sys_enter program.
 *
 * core_probe runs on every syscall; for a task whose tgid == target_pid
 * (0 = any task) it records, from bpf_get_current_task():
 *   out_tgid  = task->tgid               (field offset relocation)
 *   out_pid   = task->pid
 *   out_ppid  = task->real_parent->tgid  (two-level BPF_CORE_READ)
 *   out_comm  = task->comm               (BPF_CORE_READ_STR_INTO)
 * and the results of the existence/size/enum relocations.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Local "flavour" of task_struct with a field the kernel does not have. */
struct task_struct___lskel {
	int lskel_no_such_field;
} __attribute__((preserve_access_index));

/* A type that exists in no kernel. */
struct lskel_no_such_type {
	int x;
};

/* .rodata: tgid filter (0 = every process). */
const volatile int target_pid = 0;

/* .bss outputs */
__u64 hits;              /* matching syscalls */
__u32 out_tgid;          /* == target_pid when it is set */
__u32 out_pid;           /* thread id of the caller */
__u32 out_ppid;          /* tgid of the real parent */
char out_comm[16];       /* comm of the caller, NUL terminated */
__s32 out_comm_len;      /* bpf_probe_read_kernel_str return (strlen + 1) */
__u32 has_pid_field;     /* bpf_core_field_exists(task->pid)                 -> 1 */
__u32 has_fake_field;    /* bpf_core_field_exists(task___lskel->no_such)     -> 0 */
__u32 has_task_type;     /* bpf_core_type_exists(struct task_struct)         -> 1 */
__u32 has_fake_type;     /* bpf_core_type_exists(struct lskel_no_such_type)  -> 0 */
__u32 comm_size;         /* bpf_core_field_size(task->comm)                  -> 16 */
__u32 ringbuf_type;      /* bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF) -> 27 */

SEC("raw_tp/sys_enter")
int BPF_PROG(core_probe, struct pt_regs *regs, long id)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___lskel *ft = (void *)t;
	__u32 tgid = BPF_CORE_READ(t, tgid);

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;

	out_tgid = tgid;
	out_pid = BPF_CORE_READ(t, pid);
	out_ppid = BPF_CORE_READ(t, real_parent, tgid);
	out_comm_len = BPF_CORE_READ_STR_INTO(&out_comm, t, comm);

	has_pid_field = bpf_core_field_exists(t->pid);
	has_fake_field = bpf_core_field_exists(ft->lskel_no_such_field);
	has_task_type = bpf_core_type_exists(struct task_struct);
	has_fake_type = bpf_core_type_exists(struct lskel_no_such_type);
	comm_size = bpf_core_field_size(t->comm);
	ringbuf_type = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);

	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
