// SPDX-License-Identifier: GPL-2.0
/*
 * sec_net.bpf.c - one program per networking section of libbpf's table that
 * libbpf 1.1 knows and this kernel loads. Every program bumps its own .bss
 * counter `n_<program>` and returns the "let it through" verdict of its type.
 * See README.md (sec_net) for the section -> prog type / expected attach table.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define HIT(name) __u64 n_##name

HIT(socket_prog);
HIT(reuseport);
HIT(reuseport_migrate);
HIT(tc_prog);
HIT(classifier_prog);
HIT(action_prog);
HIT(xdp_prog);
HIT(xdp_frags);
HIT(xdp_devmap);
HIT(xdp_frags_devmap);
HIT(xdp_cpumap);
HIT(xdp_frags_cpumap);
HIT(lwt_in_prog);
HIT(lwt_out_prog);
HIT(lwt_xmit_prog);
HIT(lwt_seg6);
HIT(sockops_prog);
HIT(skb_parser);
HIT(skb_stream_verdict);
HIT(skb_plain);
HIT(msg_prog);
HIT(flow_prog);
HIT(cgskb_ingress);
HIT(cgskb_egress);
HIT(cg_skb_legacy);
HIT(sock_create);
HIT(sock_release);
HIT(sock_legacy);
HIT(post_bind4);
HIT(post_bind6);
HIT(bind4);
HIT(bind6);
HIT(connect4);
HIT(connect6);
HIT(sendmsg4);
HIT(sendmsg6);
HIT(recvmsg4);
HIT(recvmsg6);
HIT(getpeername4);
HIT(getpeername6);
HIT(getsockname4);
HIT(getsockname6);
HIT(sysctl_prog);
HIT(getsockopt_prog);
HIT(setsockopt_prog);
HIT(dev_prog);
HIT(sk_lookup_prog);

/* sockops: bitmask of the `op` values seen (1 << op, op < 64). */
__u64 sockops_ops;

#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)

SEC("socket") int socket_prog(struct __sk_buff *skb) { BUMP(socket_prog); return skb->len; }
SEC("sk_reuseport") int reuseport(struct sk_reuseport_md *md) { BUMP(reuseport); return SK_PASS; }
SEC("sk_reuseport/migrate") int reuseport_migrate(struct sk_reuseport_md *md) { BUMP(reuseport_migrate); return SK_PASS; }

SEC("tc") int tc_prog(struct __sk_buff *skb) { BUMP(tc_prog); return 0; /* TC_ACT_OK / TCX_PASS */ }
SEC("classifier") int classifier_prog(struct __sk_buff *skb) { BUMP(classifier_prog); return 0; }
SEC("action") int action_prog(struct __sk_buff *skb) { BUMP(action_prog); return 0; }

SEC("xdp") int xdp_prog(struct xdp_md *ctx) { BUMP(xdp_prog); return XDP_PASS; }
SEC("xdp.frags") int xdp_frags(struct xdp_md *ctx) { BUMP(xdp_frags); return XDP_PASS; }
SEC("xdp/devmap") int xdp_devmap(struct xdp_md *ctx) { BUMP(xdp_devmap); return XDP_PASS; }
SEC("xdp.frags/devmap") int xdp_frags_devmap(struct xdp_md *ctx) { BUMP(xdp_frags_devmap); return XDP_PASS; }
SEC("xdp/cpumap") int xdp_cpumap(struct xdp_md *ctx) { BUMP(xdp_cpumap); return XDP_PASS; }
SEC("xdp.frags/cpumap") int xdp_frags_cpumap(struct xdp_md *ctx) { BUMP(xdp_frags_cpumap); return XDP_PASS; }

SEC("lwt_in") int lwt_in_prog(struct __sk_buff *skb) { BUMP(lwt_in_prog); return BPF_OK; }
SEC("lwt_out") int lwt_out_prog(struct __sk_buff *skb) { BUMP(lwt_out_prog); return BPF_OK; }
SEC("lwt_xmit") int lwt_xmit_prog(struct __sk_buff *skb) { BUMP(lwt_xmit_prog); return BPF_OK; }
SEC("lwt_seg6local") int lwt_seg6(struct __sk_buff *skb) { BUMP(lwt_seg6); return BPF_OK; }

SEC("sockops") int sockops_prog(struct bpf_sock_ops *ops)
{
	__u32 op = ops->op;

	BUMP(sockops_prog);
	if (op < 64)
		__sync_fetch_and_or(&sockops_ops, 1ULL << op);
	return 1;
}

SEC("sk_skb/stream_parser") int skb_parser(struct __sk_buff *skb) { BUMP(skb_parser); return skb->len; }
SEC("sk_skb/stream_verdict") int skb_stream_verdict(struct __sk_buff *skb) { BUMP(skb_stream_verdict); return SK_PASS; }
SEC("sk_skb") int skb_plain(struct __sk_buff *skb) { BUMP(skb_plain); return SK_PASS; }
SEC("sk_msg") int msg_prog(struct sk_msg_md *msg) { BUMP(msg_prog); return SK_PASS; }

SEC("flow_dissector") int flow_prog(struct __sk_buff *skb) { BUMP(flow_prog); return BPF_OK; }

SEC("cgroup_skb/ingress") int cgskb_ingress(struct __sk_buff *skb) { BUMP(cgskb_ingress); return 1; }
SEC("cgroup_skb/egress") int cgskb_egress(struct __sk_buff *skb) { BUMP(cgskb_egress); return 1; }
SEC("cgroup/skb") int cg_skb_legacy(struct __sk_buff *skb) { BUMP(cg_skb_legacy); return 1; }

SEC("cgroup/sock_create") int sock_create(struct bpf_sock *sk) { BUMP(sock_create); return 1; }
SEC("cgroup/sock_release") int sock_release(struct bpf_sock *sk) { BUMP(sock_release); return 1; }
SEC("cgroup/sock") int sock_legacy(struct bpf_sock *sk) { BUMP(sock_legacy); return 1; }
SEC("cgroup/post_bind4") int post_bind4(struct bpf_sock *sk) { BUMP(post_bind4); return 1; }
SEC("cgroup/post_bind6") int post_bind6(struct bpf_sock *sk) { BUMP(post_bind6); return 1; }

SEC("cgroup/bind4") int bind4(struct bpf_sock_addr *a) { BUMP(bind4); return 1; }
SEC("cgroup/bind6") int bind6(struct bpf_sock_addr *a) { BUMP(bind6); return 1; }
SEC("cgroup/connect4") int connect4(struct bpf_sock_addr *a) { BUMP(connect4); return 1; }
SEC("cgroup/connect6") int connect6(struct bpf_sock_addr *a) { BUMP(connect6); return 1; }
SEC("cgroup/sendmsg4") int sendmsg4(struct bpf_sock_addr *a) { BUMP(sendmsg4); return 1; }
SEC("cgroup/sendmsg6") int sendmsg6(struct bpf_sock_addr *a) { BUMP(sendmsg6); return 1; }
SEC("cgroup/recvmsg4") int recvmsg4(struct bpf_sock_addr *a) { BUMP(recvmsg4); return 1; }
SEC("cgroup/recvmsg6") int recvmsg6(struct bpf_sock_addr *a) { BUMP(recvmsg6); return 1; }
SEC("cgroup/getpeername4") int getpeername4(struct bpf_sock_addr *a) { BUMP(getpeername4); return 1; }
SEC("cgroup/getpeername6") int getpeername6(struct bpf_sock_addr *a) { BUMP(getpeername6); return 1; }
SEC("cgroup/getsockname4") int getsockname4(struct bpf_sock_addr *a) { BUMP(getsockname4); return 1; }
SEC("cgroup/getsockname6") int getsockname6(struct bpf_sock_addr *a) { BUMP(getsockname6); return 1; }

SEC("cgroup/sysctl") int sysctl_prog(struct bpf_sysctl *ctx) { BUMP(sysctl_prog); return 1; }
SEC("cgroup/getsockopt") int getsockopt_prog(struct bpf_sockopt *ctx) { BUMP(getsockopt_prog); return 1; }
SEC("cgroup/setsockopt") int setsockopt_prog(struct bpf_sockopt *ctx) { BUMP(setsockopt_prog); return 1; }
SEC("cgroup/dev") int dev_prog(struct bpf_cgroup_dev_ctx *ctx) { BUMP(dev_prog); return 1; }

SEC("sk_lookup") int sk_lookup_prog(struct bpf_sk_lookup *ctx) { BUMP(sk_lookup_prog); return SK_PASS; }

char LICENSE[] SEC("license") = "GPL";
