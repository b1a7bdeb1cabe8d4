// A minimal valid BPF program: one syscall program, one global. Compiled three ways by
// build.sh: big-endian (big_endian.bpf.o), without -g (no_btf.bpf.o), and as the source of the
// truncated copy (truncated.bpf.o = its first 100 bytes).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 runs = 0;

SEC("syscall")
int minimal(void *ctx)
{
	runs++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
