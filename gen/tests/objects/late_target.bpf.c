// Programs whose sections name no attach target: the user names it before load
// (`open.progs.x.set_attach_target(...)`). `late_tp` runs on this kernel (tp_btf); `late_fentry`
// (fentry: refused here, EPERM) is in a `?` section and checked in the emulator.
// Rebuild: clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -I ../../../tests/bpf/include -c late_target.bpf.c -o late_target.bpf.o && llvm-strip-19 -g late_target.bpf.o
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 tp_hits;
__u64 fentry_hits;
const volatile int target_tgid = 0;

SEC("tp_btf")
int BPF_PROG(late_tp)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		tp_hits++;
	return 0;
}

SEC("?fentry")
int BPF_PROG(late_fentry)
{
	fentry_hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
