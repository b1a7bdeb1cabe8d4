// SPDX-License-Identifier: GPL-2.0
/*
 * sec_trace.bpf.c - tracing sections of libbpf's table that libbpf 1.1 knows
 * and this kernel loads: uprobes (plain, return, sleepable), usdt, kprobes
 * and syscall kprobes (they load without CONFIG_KPROBES; only attaching
 * needs it), kprobe.multi, tracepoint, raw_tp, raw_tp.w, perf_event.
 * Every program bumps its own .bss counter `n_<program>`; the uprobe family
 * only counts calls from the process `target_pid` (0 = any).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int target_pid = 0;

#define HIT(name) __u64 n_##name
HIT(up);
HIT(uret);
HIT(up_s);
HIT(uret_s);
HIT(usdt_prog);
HIT(kp);
HIT(kretp);
HIT(ksys);
HIT(kretsys);
HIT(kp_multi);
HIT(kretp_multi);
HIT(tp_prog);
HIT(rawtp_named);
HIT(rawtp_w);
HIT(perf_prog);

/* The first argument (%rdi) the uprobe saw last, and the return value (%rax) the uretprobe saw. */
__u64 up_arg;
__u64 uret_ret;

static __always_inline int mine(void)
{
	return !target_pid || (bpf_get_current_pid_tgid() >> 32) == (__u32)target_pid;
}

#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)

SEC("uprobe") int up(struct pt_regs *ctx)
{
	if (mine()) {
		BUMP(up);
		up_arg = ctx->di;
	}
	return 0;
}

SEC("uretprobe") int uret(struct pt_regs *ctx)
{
	if (mine()) {
		BUMP(uret);
		uret_ret = ctx->ax;
	}
	return 0;
}

SEC("uprobe.s") int up_s(struct pt_regs *ctx) { if (mine()) BUMP(up_s); return 0; }
SEC("uretprobe.s") int uret_s(struct pt_regs *ctx) { if (mine()) BUMP(uret_s); return 0; }
SEC("usdt") int usdt_prog(struct pt_regs *ctx) { if (mine()) BUMP(usdt_prog); return 0; }

SEC("kprobe/do_nanosleep") int kp(struct pt_regs *ctx) { BUMP(kp); return 0; }
SEC("kretprobe/do_nanosleep") int kretp(struct pt_regs *ctx) { BUMP(kretp); return 0; }
SEC("ksyscall/getpid") int ksys(struct pt_regs *ctx) { BUMP(ksys); return 0; }
SEC("kretsyscall/getpid") int kretsys(struct pt_regs *ctx) { BUMP(kretsys); return 0; }
SEC("kprobe.multi/do_nanosleep") int kp_multi(struct pt_regs *ctx) { BUMP(kp_multi); return 0; }
SEC("kretprobe.multi/do_nanosleep") int kretp_multi(struct pt_regs *ctx) { BUMP(kretp_multi); return 0; }

SEC("tp/syscalls/sys_enter_getppid") int tp_prog(void *ctx) { if (mine()) BUMP(tp_prog); return 0; }
SEC("raw_tracepoint/sys_exit") int rawtp_named(void *ctx) { if (mine()) BUMP(rawtp_named); return 0; }
SEC("raw_tp.w/sys_enter") int rawtp_w(void *ctx) { BUMP(rawtp_w); return 0; }
SEC("perf_event") int perf_prog(struct bpf_perf_event_data *ctx) { if (mine()) BUMP(perf_prog); return 0; }

char LICENSE[] SEC("license") = "GPL";
