// SPDX-License-Identifier: GPL-2.0
/*
 * kconfig.bpf.c - __kconfig externs (the loader-filled ".kconfig" map).
 *
 *   kconfig_run  SEC("syscall")  no ctx (ctx_size_in 0); copies every extern into .bss
 *
 * Externs (all in SEC(".kconfig"), values on this 6.18.44 kernel):
 *   LINUX_KERNEL_VERSION        unsigned int, strong, special (from uname):
 *                               KERNEL_VERSION(6, 18, 44) = 0x06122c = 397868
 *   CONFIG_BPF_SYSCALL          bool, strong, =y -> 1
 *   CONFIG_BPF_JIT              enum libbpf_tristate, strong, =y -> TRI_YES (1)
 *   CONFIG_HZ                   int, strong, =250
 *   CONFIG_NR_CPUS              unsigned long long, strong, =256
 *   CONFIG_LOCALVERSION         char[16], strong, ="-fc-v782"
 *   CONFIG_KALLSYMS_ALL         bool, __weak, "is not set" -> 0
 *   CONFIG_LSKEL_NO_SUCH_OPTION int, __weak, absent -> 0
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef __kconfig
#define __kconfig __attribute__((section(".kconfig")))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern int CONFIG_HZ __kconfig;
extern unsigned long long CONFIG_NR_CPUS __kconfig;
extern const char CONFIG_LOCALVERSION[16] __kconfig;
extern bool CONFIG_KALLSYMS_ALL __kconfig __weak;
extern int CONFIG_LSKEL_NO_SUCH_OPTION __kconfig __weak;

/* .bss outputs */
__u32 kernel_version;	/* LINUX_KERNEL_VERSION */
__u32 bpf_syscall;	/* 1 */
__u32 bpf_jit;		/* 1 (TRI_YES) */
__s32 hz;		/* 250 */
__u64 nr_cpus;		/* 256 */
char localversion[16];	/* "-fc-v782" NUL-padded */
__u32 kallsyms_all;	/* 0 */
__s32 no_such_option;	/* 0 */
__u32 runs;

SEC("syscall")
int kconfig_run(void *ctx)
{
	int i;

	runs++;
	kernel_version = LINUX_KERNEL_VERSION;
	bpf_syscall = CONFIG_BPF_SYSCALL;
	bpf_jit = CONFIG_BPF_JIT;
	hz = CONFIG_HZ;
	nr_cpus = CONFIG_NR_CPUS;
	for (i = 0; i < 16; i++)
		localversion[i] = CONFIG_LOCALVERSION[i];
	kallsyms_all = CONFIG_KALLSYMS_ALL;
	no_such_option = CONFIG_LSKEL_NO_SUCH_OPTION;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
