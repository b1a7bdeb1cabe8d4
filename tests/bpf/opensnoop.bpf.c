// SPDX-License-Identifier: GPL-2.0
/*
 * opensnoop.bpf.c - the `opensnoop` example: which files one process opens, and how often.
 *
 * sys_enter_openat remembers the file name per thread; sys_exit_openat adds the result to
 * `opens`, a hash map keyed by the name: a count of calls and of failures, and the last
 * return value (an fd or -errno). Only the process `target_pid` is traced.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define NAME_LEN 64

const volatile int target_pid = 0;

struct path_key {
	char name[NAME_LEN];
};

struct open_stat {
	__u64 calls;
	__u64 failures;
	__s64 last_ret;
};

/* Thread id -> the name its pending openat was given. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct path_key);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct path_key);
	__type(value, struct open_stat);
} opens SEC(".maps");

static __always_inline bool traced(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == (__u32)target_pid;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct path_key key = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!traced())
		return 0;
	bpf_probe_read_user_str(key.name, sizeof(key.name), (const char *)ctx->args[1]);
	bpf_map_update_elem(&pending, &tid, &key, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret; /* read first: the verifier refuses a ctx pointer with an offset */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_stat fresh = {}, *stat;
	struct path_key *key;

	if (!traced())
		return 0;
	key = bpf_map_lookup_elem(&pending, &tid);
	if (!key)
		return 0;
	stat = bpf_map_lookup_elem(&opens, key);
	if (!stat) {
		bpf_map_update_elem(&opens, key, &fresh, BPF_NOEXIST);
		stat = bpf_map_lookup_elem(&opens, key);
	}
	if (stat) {
		__sync_fetch_and_add(&stat->calls, 1);
		if (ret < 0)
			__sync_fetch_and_add(&stat->failures, 1);
		stat->last_ret = ret;
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
