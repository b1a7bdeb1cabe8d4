// A global in a custom section `.foo` referenced from code: `.foo` is none of the data sections
// lskel knows (.data*, .rodata*, .bss*), so the instruction's relocation targets nothing it maps.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 odd SEC(".foo") = 1;

SEC("syscall")
int use_foo(void *ctx)
{
	odd++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
