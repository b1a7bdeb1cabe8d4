// A program in a section whose name is not one of libbpf's conventions.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("nonsense/foo")
int bad_section(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
