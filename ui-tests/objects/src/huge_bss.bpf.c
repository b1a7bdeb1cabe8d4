// An 80 MiB .bss: larger than the 64 MiB a light skeleton's data map may be.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char big[80 << 20];

SEC("syscall")
int touch(void *ctx)
{
	big[0] = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
