// SPDX-License-Identifier: GPL-2.0
/*
 * multi.bpf.c - several program types in one object.
 *
 *   xdp_count     SEC("xdp")                                  XDP, returns XDP_PASS (2)
 *   tc_count      SEC("tc")                                   SCHED_CLS, returns TC_ACT_OK (0)
 *   sock_count    SEC("socket")                               SOCKET_FILTER, returns skb->len (keep all)
 *   cgskb_count   SEC("cgroup_skb/egress")                    CGROUP_SKB, returns 1 (allow)
 *   tp_getpid     SEC("tracepoint/syscalls/sys_enter_getpid") TRACEPOINT
 *   rawtp_count   SEC("raw_tp/sys_enter")                     RAW_TRACEPOINT
 *
 * The four packet programs run with BPF_PROG_TEST_RUN on any Ethernet frame
 * of at least 14 bytes. Each program increments its own .bss counter; packet
 * programs also add to pkt_counts[i] (i = 0 xdp, 1 tc, 2 socket, 3 cgroup_skb)
 * and store the packet length they saw.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define XDP_PASS_RET 2 /* XDP_PASS */
#define TC_ACT_OK 0

/* .rodata: tgid filter of the two tracing programs (0 = every process). */
const volatile int target_pid = 0;

/* .bss: one counter per program. */
__u64 xdp_hits;
__u64 tc_hits;
__u64 sock_hits;
__u64 cgskb_hits;
__u64 tp_hits;
__u64 rawtp_hits;

/* .bss: packet length each packet program saw last time. */
__u32 xdp_len;   /* data_end - data */
__u32 tc_len;    /* skb->len */
__u32 sock_len;  /* skb->len */
__u32 cgskb_len; /* skb->len */
/* .bss: syscall number seen by tp_getpid (39 = getpid on x86_64). */
__s32 tp_nr;
/* .bss: last syscall id seen by rawtp_count. */
__s64 rawtp_id;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pkt_counts SEC(".maps");

static __always_inline void bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&pkt_counts, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool pid_matches(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return target_pid == 0 || tgid == (__u32)target_pid;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_hits, 1);
	xdp_len = ctx->data_end - ctx->data;
	bump(0);
	return XDP_PASS_RET;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_hits, 1);
	tc_len = skb->len;
	bump(1);
	return TC_ACT_OK;
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&sock_hits, 1);
	sock_len = skb->len;
	bump(2);
	return skb->len;
}

SEC("cgroup_skb/egress")
int cgskb_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&cgskb_hits, 1);
	cgskb_len = skb->len;
	bump(3);
	return 1;
}

/* Layout of /sys/kernel/tracing/events/syscalls/sys_enter_getpid/format */
struct getpid_tp_args {
	__u64 common;      /* common_type, common_flags, common_preempt_count, common_pid */
	__s32 syscall_nr;  /* @8 */
};

SEC("tracepoint/syscalls/sys_enter_getpid")
int tp_getpid(struct getpid_tp_args *ctx)
{
	if (!pid_matches())
		return 0;
	__sync_fetch_and_add(&tp_hits, 1);
	tp_nr = ctx->syscall_nr;
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(rawtp_count, struct pt_regs *regs, long id)
{
	if (!pid_matches())
		return 0;
	__sync_fetch_and_add(&rawtp_hits, 1);
	rawtp_id = id;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
