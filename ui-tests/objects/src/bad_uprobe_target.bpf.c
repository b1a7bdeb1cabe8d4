// A program in SEC("uprobe/libc.so.6"): a uprobe target without `:function` (or `:offset`).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("uprobe/libc.so.6")
int on_malloc(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
