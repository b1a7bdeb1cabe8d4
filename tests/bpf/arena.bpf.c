// SPDX-License-Identifier: GPL-2.0
/*
 * arena.bpf.c - BPF_MAP_TYPE_ARENA (needs BPF_F_MMAPABLE; max_entries =
 * pages; map_extra = the user-space address of the arena, or 0 to let the
 * first mmap() choose it).
 *
 *   arena       4 pages at user address ARENA_ADDR (0x10000000); used by
 *               the program. A program that uses an arena needs its user
 *               address known when it is verified ("arena's user address
 *               must be set via map_extra or mmap()"); the loader cannot
 *               mmap() between creating the map and loading the program, so
 *               this one is fixed through map_extra.
 *   arena_free  2 pages, map_extra 0, used by no program: its address is
 *               chosen by the first mmap() from user space.
 *
 *   arena_run  SEC("syscall"), no ctx:
 *              p = bpf_arena_alloc_pages(&arena, NULL, 1, -1, 0);
 *              p[0] = 0x1122334455667788, p[1] = runs;
 *              alloc_addr = (u64)p (a user-space address inside the arena).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define __arena __attribute__((address_space(1)))
#define ARENA_ADDR 0x10000000 /* fits __uint(): libbpf 1.1 has no __ulong */

void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt,
				    int node_id, __u64 flags) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
	__uint(map_extra, ARENA_ADDR);
} arena SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2);
} arena_free SEC(".maps");

/* .bss */
__u64 runs;
__u64 alloc_addr;

SEC("syscall")
int arena_run(void *ctx)
{
	__u64 __arena *p;

	runs++;
	p = bpf_arena_alloc_pages(&arena, NULL, 1, -1, 0);
	if (!p) {
		alloc_addr = 0;
		return 1;
	}
	p[0] = 0x1122334455667788ULL;
	p[1] = runs;
	alloc_addr = (__u64)p;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
