// SPDX-License-Identifier: GPL-2.0
/*
 * ex_pktcount.bpf.c - the `pktcount` example: an XDP and a tc program that
 * count the packets and bytes arriving on an interface.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 xdp_packets;
__u64 xdp_bytes;
__u64 tc_packets;
__u64 tc_bytes;

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_packets, 1);
	__sync_fetch_and_add(&xdp_bytes, ctx->data_end - ctx->data);
	return XDP_PASS;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_packets, 1);
	__sync_fetch_and_add(&tc_bytes, skb->len);
	return 0; /* TC_ACT_OK */
}
