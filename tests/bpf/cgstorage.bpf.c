// SPDX-License-Identifier: GPL-2.0
/*
 * cgstorage.bpf.c - CGROUP_STORAGE and PERCPU_CGROUP_STORAGE (both need a
 * program that uses them through bpf_get_local_storage).
 *
 *   cg_egress  cgroup_skb/egress  cg_store->packets++, cg_store->bytes += len,
 *              (*pcpu_store)++ ; out_packets = cg_store->packets ; returns 1
 *
 * Run it with BPF_PROG_TEST_RUN and a frame: the kernel allocates a storage
 * for the run (kept across `repeat` iterations, freed afterwards), so with
 * repeat = N out_packets ends at N. Attached to a cgroup, the storage lives
 * as long as the attachment, keyed by struct bpf_cgroup_storage_key
 * { u64 cgroup_inode_id; u32 attach_type; }.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct cg_value {
	__u64 packets;	/* @0 */
	__u64 bytes;	/* @8 */
};

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct cg_value);
} cg_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} pcpu_store SEC(".maps");

/* .bss */
__u64 runs;
__u64 out_packets;
__u64 out_bytes;

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	struct cg_value *v = bpf_get_local_storage(&cg_store, 0);
	__u64 *pc = bpf_get_local_storage(&pcpu_store, 0);

	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, skb->len);
	*pc += 1;
	out_packets = v->packets;
	out_bytes = v->bytes;
	runs++;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
