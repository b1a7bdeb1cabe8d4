// A 16 MiB .bss: its light skeleton must not carry 16 MiB (zero costs nothing).
// Rebuild: clang-19 -g -O2 -target bpf -mcpu=v3 -c big_bss.bpf.c -o big_bss.bpf.o && llvm-strip-19 -g big_bss.bpf.o
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char buffer[16 << 20];
__u64 writes;

SEC("syscall")
int touch(void *ctx)
{
	buffer[writes & 0xffff] = 1;
	writes++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
