// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * example.bpf.c - the object behind lskel's documented example skeleton
 * (`lskel::example_skeleton`, built only by `cargo doc`). It is never loaded.
 *
 * Rebuild from runtime/ (the object is committed, DWARF stripped):
 *   cargo run -p lskel-gen -- vmlinux -o /tmp/vmlinux.h
 *   clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -I/tmp -c doc/example.bpf.c -o doc/example.bpf.o
 *   llvm-strip-19 -g doc/example.bpf.o
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* A record sent through the ring buffer. */
struct event {
	__u32 pid;
	__u64 calls;
	char comm[16];
};

/* .rodata: set on the open skeleton, frozen at load. */
const volatile __u32 target_pid = 0;
/* .data: initialised; the program reads it. */
__u64 increment = 1;
/* .bss: zeroed; the program writes it. */
__u64 total = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} calls_by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int on_execve(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *calls;
	struct event *e;

	if (target_pid && pid != target_pid)
		return 0;
	__sync_fetch_and_add(&total, increment);
	calls = bpf_map_lookup_elem(&calls_by_pid, &pid);
	if (calls)
		__sync_fetch_and_add(calls, 1);
	else
		bpf_map_update_elem(&calls_by_pid, &pid, &one, BPF_NOEXIST);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->calls = calls ? *calls : 1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
