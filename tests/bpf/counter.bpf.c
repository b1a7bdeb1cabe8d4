// SPDX-License-Identifier: GPL-2.0
/*
 * counter.bpf.c - the demo fixture: count the syscalls of one process.
 *
 * One raw_tp/sys_enter program. For every syscall entered by a task whose
 * thread-group id (user-space "pid") equals target_pid (0 = every task):
 *   count          += increment
 *   last_syscall    = syscall id
 *   syscall_counts[id] += 1
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* .rodata: set before load; 0 counts every process. */
const volatile int target_pid = 0;

/* .data: initialised, read by the program (a test may change it at run time
 * through the mmap, e.g. set it to 10 and see count grow by 10 per syscall). */
__u64 increment = 1;
/* .data: last syscall id seen, -1 until the first matching syscall. */
__s64 last_syscall = -1;

/* .bss: number of matching syscalls (times increment). */
__u64 count;

/* Per-syscall-id counters of the matching process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);   /* syscall id (x86_64 numbers: getpid = 39) */
	__type(value, __u64); /* number of calls */
} syscall_counts SEC(".maps");

SEC("raw_tp/sys_enter")
int BPF_PROG(count_syscalls, struct pt_regs *regs, long id)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 key = id;
	__u64 one = 1, *val;

	if (target_pid != 0 && tgid != (__u32)target_pid)
		return 0;

	__sync_fetch_and_add(&count, increment);
	last_syscall = id;

	val = bpf_map_lookup_elem(&syscall_counts, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&syscall_counts, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
