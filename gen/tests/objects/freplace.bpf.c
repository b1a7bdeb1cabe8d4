// A freplace program: it replaces a global function of another, already loaded program, named
// before load with `set_attach_target_prog(prog_fd, btf_id)`. This kernel refuses extension
// programs (no trampolines), so the loader's part is checked in the emulator.
// Rebuild: clang-19 -g -O2 -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c freplace.bpf.c -o freplace.bpf.o && llvm-strip-19 -g freplace.bpf.o
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 calls;

SEC("freplace")
int new_check(int x)
{
	calls++;
	return x + 1;
}

char LICENSE[] SEC("license") = "GPL";
