// SPDX-License-Identifier: GPL-2.0
/*
 * ksyms_percpu.bpf.c - typed ksym of a per-CPU kernel variable.
 *
 * DOES NOT LOAD ON THIS KERNEL (6.18, CONFIG_KALLSYMS_ALL=n): `runqueues` is a
 * VAR in vmlinux BTF (DATASEC .data..percpu), so the extern resolves to a BTF
 * id, but the verifier's kallsyms_lookup_name("runqueues") fails:
 *   "ldimm64 failed to find the address for kernel symbol 'runqueues'" (-ENOENT)
 * Kept for the generator/emulator tests and for kernels with KALLSYMS_ALL=y.
 *
 *   percpu_run  SEC("syscall")  no ctx
 *
 * Externs:
 *   runqueues               typed VAR struct rq (per-CPU), strong
 *   bpf_lskel_no_such_pcpu  typed VAR struct rq, __weak, absent -> NULL
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif

extern const struct rq runqueues __ksym;
extern const struct rq bpf_lskel_no_such_pcpu __ksym __weak;

/* .bss outputs */
__s32 this_cpu;		/* bpf_this_cpu_ptr(&runqueues)->cpu == bpf_get_smp_processor_id() */
__s32 smp_id;		/* bpf_get_smp_processor_id() */
__s32 cpu0;		/* bpf_per_cpu_ptr(&runqueues, 0)->cpu == 0, -1 if NULL */
__s32 missing_null;	/* 1: bpf_per_cpu_ptr(&bpf_lskel_no_such_pcpu, 0) == NULL */
__u64 nr_running0;	/* runqueues[cpu0].nr_running (any value) */

SEC("syscall")
int percpu_run(void *ctx)
{
	const struct rq *rq;

	smp_id = bpf_get_smp_processor_id();
	rq = bpf_this_cpu_ptr(&runqueues);
	this_cpu = rq->cpu;

	rq = bpf_per_cpu_ptr(&runqueues, 0);
	cpu0 = -1;
	if (rq) {
		cpu0 = rq->cpu;
		nr_running0 = rq->nr_running;
	}

	missing_null = 1;
	if (&bpf_lskel_no_such_pcpu) {
		rq = bpf_per_cpu_ptr(&bpf_lskel_no_such_pcpu, 0);
		if (rq)
			missing_null = 0;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
