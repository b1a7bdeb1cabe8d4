// SPDX-License-Identifier: GPL-2.0
/*
 * userringbuf.bpf.c - USER_RINGBUF (user space produces, a program drains)
 * next to a kernel-produced RINGBUF.
 *
 *   urb_drain  SEC("syscall"), no ctx:
 *              drained = bpf_user_ringbuf_drain(&user_rb, on_sample, NULL, 0)
 *              every sample (struct urb_sample, 16 bytes) is summed into `sum`,
 *              counted in `samples`, and echoed to `rb` as { seq, value * 2 }.
 *              A sample of another size is counted in `bad_size`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct urb_sample {
	__u32 seq;	/* @0 */
	__u32 pad;	/* @4 */
	__u64 value;	/* @8 */
};			/* 16 bytes */

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} user_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

/* .bss */
__u64 samples;
__u64 sum;
__u64 bad_size;
__s64 drained;
__u32 last_seq;

static long on_sample(struct bpf_dynptr *dynptr, void *ctx)
{
	struct urb_sample s;

	if (bpf_dynptr_read(&s, sizeof(s), dynptr, 0, 0)) {
		bad_size++;
		return 0;
	}
	samples++;
	sum += s.value;
	last_seq = s.seq;
	s.value *= 2;
	bpf_ringbuf_output(&rb, &s, sizeof(s), 0);
	return 0;
}

SEC("syscall")
int urb_drain(void *ctx)
{
	drained = bpf_user_ringbuf_drain(&user_rb, on_sample, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
