// SPDX-License-Identifier: GPL-2.0
/*
 * globals.bpf.c - every kind of global data section.
 *
 *   .data           initialised, writable: data_counter, data_arr, nested
 *   .rodata         const volatile knobs: knob, msg, big_knob (frozen, RDONLY_PROG)
 *   .bss            zeroed outputs out_*
 *   .data.custom    custom_val = 42
 *   .rodata.custom  ro_custom = 5
 *
 * One SEC("syscall") program, read_globals (no ctx: ctx_size_in 0), copies
 * values derived from the inputs into the .bss outputs and increments
 * data_counter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* 24 bytes: c @0, 7 bytes padding, x @8, arr @16 (3 x u16), 2 bytes padding */
struct nested_t {
	char c;
	__u64 x;
	__u16 arr[3];
};

/* ---- .data ---- */
__u64 data_counter = 100;
__u32 data_arr[4] = { 1, 2, 3, 4 };
struct nested_t nested = {
	.c = 'A',
	.x = 0x1122334455667788ULL,
	.arr = { 10, 20, 30 },
};

/* ---- .rodata ---- */
const volatile __u32 knob = 7;
const volatile char msg[16] = "hello";
const volatile __u64 big_knob = 0xdeadbeefcafef00dULL;

/* ---- custom sections ---- */
__u32 custom_val SEC(".data.custom") = 42;
const volatile __u32 ro_custom SEC(".rodata.custom") = 5;

/* ---- .bss (outputs) ---- */
__u64 out_knob2;      /* knob * 2 */
__u64 out_msg0;       /* msg[0] ('h' = 104 unless overridden) */
__u64 out_msg_len;    /* index of the first NUL in msg (5 for "hello"), 16 if none */
__u64 out_big_knob;   /* big_knob */
__u64 out_nested_c;   /* nested.c */
__u64 out_nested_x;   /* nested.x */
__u64 out_nested_arr; /* nested.arr[0] + nested.arr[1] + nested.arr[2] */
__u64 out_arr_sum;    /* data_arr[0..4] summed */
__u64 out_custom;     /* custom_val */
__u64 out_ro_custom;  /* ro_custom */
__u64 out_counter;    /* data_counter after this run's increment */

SEC("syscall")
int read_globals(void *ctx)
{
	int i;

	out_knob2 = (__u64)knob * 2;
	out_msg0 = msg[0];
	out_msg_len = 16;
	for (i = 0; i < 16; i++) {
		if (msg[i] == 0) {
			out_msg_len = i;
			break;
		}
	}
	out_big_knob = big_knob;
	out_nested_c = nested.c;
	out_nested_x = nested.x;
	out_nested_arr = nested.arr[0] + nested.arr[1] + nested.arr[2];
	out_arr_sum = 0;
	for (i = 0; i < 4; i++)
		out_arr_sum += data_arr[i];
	out_custom = custom_val;
	out_ro_custom = ro_custom;
	data_counter++;
	out_counter = data_counter;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
