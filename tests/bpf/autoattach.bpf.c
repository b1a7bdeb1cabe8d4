// SPDX-License-Identifier: GPL-2.0
/*
 * autoattach.bpf.c - programs for skel.attach() (sections that say where) and
 * for the typed lskel::attach functions (sections that do not). Each program
 * counts its runs in .bss (`n_<program>`); tracing programs only count events
 * of the process whose tgid is `my_pid` (set after load).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

int my_pid;

#define HIT(name) __u64 n_##name
#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)
#define MINE() ((bpf_get_current_pid_tgid() >> 32) == (__u32)my_pid)

HIT(tp_getpid);
HIT(tracepoint_getppid);
HIT(rawtp_enter);
HIT(btf_enter);
HIT(task_iter);
HIT(up_self);
HIT(uret_self);
HIT(up_typed);
HIT(xdp_count);
HIT(tc_count);
HIT(cg_egress);
HIT(sock_filter);
HIT(lookup);
HIT(perf_tick);
HIT(verdict);

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

/* --- auto-attached --- */

SEC("tp/syscalls/sys_enter_getpid")
int tp_getpid(void *ctx) { if (MINE()) BUMP(tp_getpid); return 0; }

SEC("tracepoint/syscalls/sys_enter_getppid")
int tracepoint_getppid(void *ctx) { if (MINE()) BUMP(tracepoint_getppid); return 0; }

SEC("raw_tp/sys_enter")
int rawtp_enter(void *ctx) { if (MINE()) BUMP(rawtp_enter); return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_enter, struct pt_regs *regs, long id) { if (MINE()) BUMP(btf_enter); return 0; }

SEC("iter/task")
int task_iter(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	if (task->pid == task->tgid) {
		BPF_SEQ_PRINTF(seq, "%d %s\n", task->tgid, task->comm);
	}
	BUMP(task_iter);
	return 0;
}

SEC("uprobe//proc/self/exe:lskel_autoattach_probe")
int up_self(void *ctx) { BUMP(up_self); return 0; }

SEC("uretprobe//proc/self/exe:lskel_autoattach_probe")
int uret_self(void *ctx) { BUMP(uret_self); return 0; }

/* --- typed attach only --- */

SEC("uprobe")
int up_typed(void *ctx) { if (MINE()) BUMP(up_typed); return 0; }

SEC("xdp")
int xdp_count(struct xdp_md *ctx) { BUMP(xdp_count); return XDP_PASS; }

SEC("tc")
int tc_count(struct __sk_buff *skb) { BUMP(tc_count); return 0; /* TC_ACT_OK */ }

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb) { BUMP(cg_egress); return 1; }

SEC("socket")
int sock_filter(struct __sk_buff *skb) { BUMP(sock_filter); return skb->len; }

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx) { BUMP(lookup); return SK_PASS; }

SEC("perf_event")
int perf_tick(void *ctx) { if (MINE()) BUMP(perf_tick); return 0; }

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb) { BUMP(verdict); return SK_PASS; }
