// A BTF-defined map whose explicit key_size (8) disagrees with its key type (__u32, 4 bytes).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__uint(key_size, 8);
	__type(key, __u32);
	__type(value, __u64);
} mismatched SEC(".maps");

SEC("syscall")
int use_map(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&mismatched, &key);
	if (v)
		*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
