// SPDX-License-Identifier: GPL-2.0
/*
 * ksyms.bpf.c - kernel symbols (__ksym variables) other than kfunc calls.
 *
 *   ksym_run  SEC("syscall")  no ctx (ctx_size_in 0); copies addresses into .bss
 *
 * Externs:
 *   _text                   typeless (const void), strong, in /proc/kallsyms (T)
 *                           -> plain ld_imm64 of the address (kallsyms lookup)
 *   bpf_prog_active         typeless, __weak. A per-CPU VAR in vmlinux BTF, but
 *                           NOT in /proc/kallsyms on this kernel
 *                           (CONFIG_KALLSYMS_ALL=n) -> reads 0 here
 *   bpf_lskel_no_such_ksym  typeless, __weak, absent everywhere -> 0
 *   schedule                typed FUNC (void (void)), strong: ld_imm64
 *                           BPF_PSEUDO_BTF_ID -> the verifier writes the
 *                           kallsyms address (rdonly_mem, size 0)
 *   bpf_lskel_no_such_var   typed VAR (int), __weak, absent -> 0 (src_reg cleared)
 *
 * Typed per-CPU VAR ksyms (runqueues + bpf_this_cpu_ptr/bpf_per_cpu_ptr) are in
 * ksyms_percpu.bpf.c: they cannot load on this kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif

/* typeless */
extern const void _text __ksym;
extern const void bpf_prog_active __ksym __weak;
extern const void bpf_lskel_no_such_ksym __ksym __weak;
/* typed */
extern void schedule(void) __ksym;
extern const int bpf_lskel_no_such_var __ksym __weak;

/* .bss outputs */
__u64 text_addr;		/* == "_text" address in /proc/kallsyms (non-zero) */
__u64 prog_active_addr;		/* 0 here (not in kallsyms); else its address */
__u64 missing_addr;		/* 0 */
__u64 schedule_addr;		/* == "schedule" address in /proc/kallsyms */
__u64 missing_typed_addr;	/* 0 */
__u32 missing_typed_present;	/* 0: &bpf_lskel_no_such_var != NULL is false */
__u32 runs;

SEC("syscall")
int ksym_run(void *ctx)
{
	runs++;
	text_addr = (__u64)&_text;
	prog_active_addr = (__u64)&bpf_prog_active;
	missing_addr = (__u64)&bpf_lskel_no_such_ksym;
	schedule_addr = (__u64)&schedule;
	missing_typed_addr = (__u64)&bpf_lskel_no_such_var;
	/* a dead branch that would dereference the missing typed ksym */
	if (&bpf_lskel_no_such_var)
		missing_typed_present = 1 + bpf_lskel_no_such_var;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
