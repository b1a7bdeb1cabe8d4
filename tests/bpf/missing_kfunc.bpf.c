// SPDX-License-Identifier: GPL-2.0
/*
 * missing_kfunc.bpf.c - EXPECTED LOAD FAILURE: a strong (non-weak) kfunc that no
 * kernel has. Used by tests/tests/errors.rs to check that the load fails with
 * ENOENT and that the error names the kfunc:
 *   what = "find kernel function `bpf_lskel_missing_kfunc` in kernel BTF".
 *
 *   missing_run  SEC("syscall")  would call bpf_lskel_missing_kfunc(); never loads.
 *
 * libbpf refuses it too ("extern (func ksym) 'bpf_lskel_missing_kfunc': not
 * found in kernel or module BTFs"), so load_all / conformance must list it as an
 * expected refusal (ENOENT).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif

/* strong, absent everywhere (made-up name) */
extern void bpf_lskel_missing_kfunc(void) __ksym;

__u64 runs;

SEC("syscall")
int missing_run(void *ctx)
{
	runs++;
	bpf_lskel_missing_kfunc();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
