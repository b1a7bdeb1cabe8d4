// SPDX-License-Identifier: GPL-2.0
/*
 * bigbss.bpf.c - a 16 MiB .bss next to a small initialised .data.
 *
 *   .bss   big[BIG_N] (__u64, 16 MiB), zero until someone writes it
 *   .data  seed = 0x5eed, seed2 = 7
 *
 * One SEC("syscall") program, read_big (no ctx), copies big[0], big[BIG_N - 1],
 * seed and seed2 into the .bss outputs first, last, seed_seen and seed2_seen.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define BIG_N (2 * 1024 * 1024)

__u64 big[BIG_N];
__u64 first;
__u64 last;
__u64 seed_seen;
__u64 seed2_seen;

__u64 seed = 0x5eed;
__u64 seed2 = 7;

SEC("syscall")
int read_big(void *ctx)
{
	first = big[0];
	last = big[BIG_N - 1];
	seed_seen = seed;
	seed2_seen = seed2;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
