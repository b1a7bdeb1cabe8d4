// SPDX-License-Identifier: GPL-2.0
/*
 * events.bpf.c - event consumers: two ring buffers and a perf event array,
 * fed by raw_tp programs run with BPF_PROG_TEST_RUN (no attach target, so
 * only an explicit test run emits). The context is the u64 array the test
 * passes in:
 *
 *   emit_ring  args[0] = sequence number, args[1] = ring (0: ring_a, 1: ring_b)
 *              reserves and submits one struct event; a full ring bumps
 *              ring_drops instead.
 *   emit_perf  args[0] = sequence number: bpf_perf_event_output of one
 *              struct event to perf_events at the current CPU.
 *
 * struct event (32 bytes): seq, pid (tgid), tid, comm of the running task.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
	__u64 seq;
	__u32 pid;
	__u32 tid;
	char comm[16];
};

/* A union and an enum no global uses: generated into `types` all the same
 * (they reach the BTF as parameter types of fill, like struct event). */
enum event_kind { EVENT_RING = 1, EVENT_PERF = 2 };
union event_word { __u64 all; __u32 halves[2]; };

/* .bss: reservations that failed (ring full). */
__u64 ring_drops;
__u64 perf_errors;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ring_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* Not inlined, so its parameter types are in the object's BTF (clang leaves
 * out the types of locals and of inlined functions). */
static __noinline int fill(struct event *e, __u64 seq, enum event_kind kind,
			   union event_word *w)
{
	__u64 id = bpf_get_current_pid_tgid();

	w->all = id;
	e->seq = seq;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return kind;
}

SEC("raw_tp")
int emit_ring(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 seq = ctx->args[0];
	union event_word w;
	struct event *e;

	if (ctx->args[1] == 1)
		e = bpf_ringbuf_reserve(&ring_b, sizeof(*e), 0);
	else
		e = bpf_ringbuf_reserve(&ring_a, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&ring_drops, 1);
		return 1;
	}
	fill(e, seq, EVENT_RING, &w);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp")
int emit_perf(struct bpf_raw_tracepoint_args *ctx)
{
	union event_word w;
	struct event e = {};

	fill(&e, ctx->args[0], EVENT_PERF, &w);
	if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e))) {
		__sync_fetch_and_add(&perf_errors, 1);
		return 1;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
