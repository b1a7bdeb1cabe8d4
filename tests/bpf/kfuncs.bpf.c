// SPDX-License-Identifier: GPL-2.0
/*
 * kfuncs.bpf.c - kernel functions (kfuncs) resolved from vmlinux BTF.
 *
 *   kfunc_run  SEC("syscall")          ctx struct kfunc_args { s32 pid; s32 pid2; }
 *   kfunc_tp   SEC("tp_btf/sys_enter") any syscall of target_pid
 *
 * Externs (all FUNC in /sys/kernel/btf/vmlinux on 6.18, except the last):
 *   bpf_task_from_pid      strong, called from TWO call sites in kfunc_run
 *   bpf_task_acquire       strong, kfunc_run + kfunc_tp
 *   bpf_task_release       strong, 3 call sites in kfunc_run + 1 in kfunc_tp
 *   bpf_rcu_read_lock      strong
 *   bpf_rcu_read_unlock    strong
 *   bpf_task_from_vpid     __weak, exists: bpf_ksym_exists() -> 1, called
 *   bpf_lskel_no_such_kfunc __weak, does NOT exist: bpf_ksym_exists() -> 0,
 *                          the call is dead code the verifier prunes
 *
 * bpf_ksym_exists(sym) compiles to an ld_imm64 of the kfunc's address
 * (R_BPF_64_64 against the extern); the call is a BPF_CALL with
 * R_BPF_64_32 against the extern.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* libbpf 1.1's bpf_helpers.h predates these. */
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({							\
	_Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak");	\
	!!sym;									\
})
#endif

/* kfunc prototypes (bpftool 7.1's vmlinux.h does not emit them) */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
/* weak, present on 6.18 */
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
/* weak, absent everywhere (made-up name) */
extern struct task_struct *bpf_lskel_no_such_kfunc(s32 pid) __ksym __weak;

struct kfunc_args {
	__s32 pid;	/* @0: looked up with bpf_task_from_pid (call site 1) */
	__s32 pid2;	/* @4: looked up with bpf_task_from_pid (call site 2), e.g. 1 */
};

/* .rodata: tgid filter of kfunc_tp (0 = every process) */
const volatile int target_pid = 0;

/* .bss outputs (see README for offsets) */
__s32 task_pid;		/* pid read through the acquired task (call site 1) */
__s32 task_tgid;	/* tgid of the same task */
__s32 task2_pid;	/* pid read through call site 2's task */
__s32 acquired_pid;	/* pid read through bpf_task_acquire()'d reference */
__s32 exists_present;	/* bpf_ksym_exists(bpf_task_from_vpid) -> 1 */
__s32 exists_missing;	/* bpf_ksym_exists(bpf_lskel_no_such_kfunc) -> 0 */
__s32 vpid_pid;		/* pid through bpf_task_from_vpid(pid), -1 if NULL */
__s32 missing_called;	/* stays 0: the missing kfunc's branch is dead */
__s32 rcu_parent_tgid;	/* real_parent->tgid read under bpf_rcu_read_lock */
__s32 not_found;	/* number of bpf_task_from_pid() calls that gave NULL */
__u64 runs;		/* kfunc_run executions */
__u64 tp_hits;		/* kfunc_tp: matching syscalls */
__s32 tp_pid;		/* kfunc_tp: tid via bpf_task_acquire(current) */
__s32 tp_tgid;		/* kfunc_tp: tgid via the same reference */

SEC("syscall")
int kfunc_run(struct kfunc_args *args)
{
	struct task_struct *t, *t2, *ref, *v;
	struct task_struct *parent;

	runs++;

	/* call site 1 of bpf_task_from_pid */
	t = bpf_task_from_pid(args->pid);
	if (!t) {
		not_found++;
		task_pid = -1;
	} else {
		task_pid = t->pid;
		task_tgid = t->tgid;

		/* second reference to the same task */
		ref = bpf_task_acquire(t);
		if (ref) {
			acquired_pid = ref->pid;
			bpf_task_release(ref);
		}

		/* RCU-protected pointer walk */
		bpf_rcu_read_lock();
		parent = t->real_parent;
		if (parent)
			rcu_parent_tgid = parent->tgid;
		bpf_rcu_read_unlock();

		bpf_task_release(t);
	}

	/* call site 2 of bpf_task_from_pid */
	t2 = bpf_task_from_pid(args->pid2);
	if (!t2) {
		not_found++;
		task2_pid = -1;
	} else {
		task2_pid = t2->pid;
		bpf_task_release(t2);
	}

	/* weak kfunc that exists */
	exists_present = bpf_ksym_exists(bpf_task_from_vpid);
	vpid_pid = -1;
	if (bpf_ksym_exists(bpf_task_from_vpid)) {
		v = bpf_task_from_vpid(args->pid);
		if (v) {
			vpid_pid = v->pid;
			bpf_task_release(v);
		}
	}

	/* weak kfunc that does not exist: the branch is pruned */
	exists_missing = bpf_ksym_exists(bpf_lskel_no_such_kfunc);
	if (bpf_ksym_exists(bpf_lskel_no_such_kfunc)) {
		v = bpf_lskel_no_such_kfunc(args->pid);
		missing_called = 1;
		if (v)
			bpf_task_release(v);
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(kfunc_tp, struct pt_regs *regs, long id)
{
	struct task_struct *cur, *ref;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;
	cur = bpf_get_current_task_btf();
	ref = bpf_task_acquire(cur);
	if (!ref)
		return 0;
	__sync_fetch_and_add(&tp_hits, 1);
	tp_pid = ref->pid;
	tp_tgid = ref->tgid;
	bpf_task_release(ref);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
