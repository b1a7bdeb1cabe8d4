// SPDX-License-Identifier: GPL-2.0
/*
 * sec_new.bpf.c - sections of libbpf's table that are newer than libbpf 1.1
 * (bpftool v7.1 cannot guess their program type, so `bpftool prog loadall`
 * refuses this object) and that this kernel loads: tcx, the tc/ingress and
 * tc/egress aliases, netkit, netfilter, the cgroup unix-socket hooks,
 * uprobe.multi / uretprobe.multi / uprobe.session (+ .s), kprobe.session, usdt.s
 * and sk_skb/verdict.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int target_pid = 0;

#define HIT(name) __u64 n_##name
HIT(tcx_in);
HIT(tcx_out);
HIT(tc_in_alias);
HIT(tc_out_alias);
HIT(netkit_primary);
HIT(netkit_peer);
HIT(nf_prog);
HIT(connect_unix);
HIT(sendmsg_unix);
HIT(recvmsg_unix);
HIT(getpeername_unix);
HIT(getsockname_unix);
HIT(up_multi);
HIT(uret_multi);
HIT(up_multi_s);
HIT(uret_multi_s);
HIT(up_session);
HIT(up_session_s);
HIT(kp_session);
HIT(usdt_s);
HIT(skb_verdict);

static __always_inline int mine(void)
{
	return !target_pid || (bpf_get_current_pid_tgid() >> 32) == (__u32)target_pid;
}

#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)

SEC("tcx/ingress") int tcx_in(struct __sk_buff *skb) { BUMP(tcx_in); return TCX_NEXT; }
SEC("tcx/egress") int tcx_out(struct __sk_buff *skb) { BUMP(tcx_out); return TCX_NEXT; }
SEC("tc/ingress") int tc_in_alias(struct __sk_buff *skb) { BUMP(tc_in_alias); return TCX_NEXT; }
SEC("tc/egress") int tc_out_alias(struct __sk_buff *skb) { BUMP(tc_out_alias); return TCX_NEXT; }
SEC("netkit/primary") int netkit_primary(struct __sk_buff *skb) { BUMP(netkit_primary); return -1; /* NETKIT_NEXT */ }
SEC("netkit/peer") int netkit_peer(struct __sk_buff *skb) { BUMP(netkit_peer); return -1; /* NETKIT_NEXT */ }
SEC("netfilter") int nf_prog(struct bpf_nf_ctx *ctx) { BUMP(nf_prog); return 1; /* NF_ACCEPT */ }

SEC("cgroup/connect_unix") int connect_unix(struct bpf_sock_addr *a) { BUMP(connect_unix); return 1; }
SEC("cgroup/sendmsg_unix") int sendmsg_unix(struct bpf_sock_addr *a) { BUMP(sendmsg_unix); return 1; }
SEC("cgroup/recvmsg_unix") int recvmsg_unix(struct bpf_sock_addr *a) { BUMP(recvmsg_unix); return 1; }
SEC("cgroup/getpeername_unix") int getpeername_unix(struct bpf_sock_addr *a) { BUMP(getpeername_unix); return 1; }
SEC("cgroup/getsockname_unix") int getsockname_unix(struct bpf_sock_addr *a) { BUMP(getsockname_unix); return 1; }

SEC("uprobe.multi") int up_multi(struct pt_regs *ctx) { if (mine()) BUMP(up_multi); return 0; }
SEC("uretprobe.multi") int uret_multi(struct pt_regs *ctx) { if (mine()) BUMP(uret_multi); return 0; }
SEC("uprobe.multi.s") int up_multi_s(struct pt_regs *ctx) { if (mine()) BUMP(up_multi_s); return 0; }
SEC("uretprobe.multi.s") int uret_multi_s(struct pt_regs *ctx) { if (mine()) BUMP(uret_multi_s); return 0; }
SEC("uprobe.session") int up_session(struct pt_regs *ctx) { if (mine()) BUMP(up_session); return 0; }
SEC("uprobe.session.s") int up_session_s(struct pt_regs *ctx) { if (mine()) BUMP(up_session_s); return 0; }
SEC("kprobe.session/do_nanosleep") int kp_session(struct pt_regs *ctx) { BUMP(kp_session); return 0; }
SEC("usdt.s") int usdt_s(struct pt_regs *ctx) { if (mine()) BUMP(usdt_s); return 0; }

SEC("sk_skb/verdict") int skb_verdict(struct __sk_buff *skb) { BUMP(skb_verdict); return SK_PASS; }

char LICENSE[] SEC("license") = "GPL";
