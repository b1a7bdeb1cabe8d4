// SPDX-License-Identifier: GPL-2.0
/*
 * storage.bpf.c - the local-storage map types (all BPF_F_NO_PREALLOC, key int):
 *
 *   task_store  TASK_STORAGE   value struct counter   (key from user space: a pidfd)
 *   cgrp_store  CGRP_STORAGE   value struct counter   (key: a cgroup v2 directory fd)
 *   sk_store    SK_STORAGE     value struct sk_seen   (key: a socket fd)
 *   inode_store INODE_STORAGE  value __u64            (key: any file fd; no program
 *               uses it: only LSM programs may, and they do not load here)
 *
 * Programs:
 *   on_getpid  tp_btf/sys_enter: for syscall id 39 (getpid) of thread target_tid:
 *              task_store[current].count++ , .last_id = 39
 *              cgrp_store[current's default cgroup].count++
 *              bumps hits.
 *   on_state   tp_btf/inet_sock_set_state: for a socket whose remote port is
 *              target_port: sk_store[sk].count++, .last_state = newstate,
 *              bumps sk_hits.
 * .bss knobs target_tid / target_port are written after load (0 = off).
 * Task storage is per thread: from user space, key it with a pidfd of that
 * thread (pidfd_open(tid, PIDFD_THREAD)).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

struct counter {
	__u64 count;	/* @0 */
	__u32 last_id;	/* @8 */
	__u32 pad;	/* @12 */
};

struct sk_seen {
	__u32 count;		/* @0 */
	__u32 last_state;	/* @4: TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2 ... */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} task_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} cgrp_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_seen);
} sk_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} inode_store SEC(".maps");

/* .bss */
int target_tid;
int target_port;
__u64 hits;
__u64 sk_hits;
__s32 task_err;	/* -1 if bpf_task_storage_get returned NULL */
__s32 cgrp_err;	/* -1 if bpf_cgrp_storage_get returned NULL */

SEC("tp_btf/sys_enter")
int BPF_PROG(on_getpid, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	struct counter *c;

	if (id != 39 || !target_tid || (__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	hits++;
	task = bpf_get_current_task_btf();
	c = bpf_task_storage_get(&task_store, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c) {
		c->count++;
		c->last_id = id;
		task_err = 0;
	} else {
		task_err = -1;
	}
	c = bpf_cgrp_storage_get(&cgrp_store, task->cgroups->dfl_cgrp, 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c) {
		c->count++;
		c->last_id = id;
		cgrp_err = 0;
	} else {
		cgrp_err = -1;
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, struct sock *sk, int oldstate, int newstate)
{
	struct sk_seen *s;

	if (!target_port || sk->__sk_common.skc_dport != bpf_htons(target_port))
		return 0;
	sk_hits++;
	s = bpf_sk_storage_get(&sk_store, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s) {
		s->count++;
		s->last_state = newstate;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
