// SPDX-License-Identifier: GPL-2.0
/*
 * netmaps.bpf.c - the networking map types: DEVMAP, DEVMAP_HASH, CPUMAP,
 * XSKMAP (redirect targets of XDP), SOCKMAP, SOCKHASH, REUSEPORT_SOCKARRAY
 * (filled from user space with socket fds).
 *
 *   xdp_redir  SEC("xdp")  reads .bss `which` and `key`, returns
 *              bpf_redirect_map(<map `which`>, key, XDP_PASS):
 *              which 0 devmap, 1 devmap_hash, 2 cpumap, 3 xskmap.
 *              A run with BPF_PROG_TEST_RUN does not redirect: the return
 *              value is XDP_REDIRECT (4) when the slot is filled, the fallback
 *              XDP_PASS (2) when it is empty.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} devmap_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} xskmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} reuseport SEC(".maps");

/* .bss */
__u32 which;
__u32 key;
__u64 runs;

SEC("xdp")
int xdp_redir(struct xdp_md *ctx)
{
	runs++;
	switch (which) {
	case 0:
		return bpf_redirect_map(&devmap, key, XDP_PASS);
	case 1:
		return bpf_redirect_map(&devmap_hash, key, XDP_PASS);
	case 2:
		return bpf_redirect_map(&cpumap, key, XDP_PASS);
	case 3:
		return bpf_redirect_map(&xskmap, key, XDP_PASS);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
