// A BTF-defined map whose type number (200) is not a map type the kernel knows.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, 200);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} strange SEC(".maps");

SEC("syscall")
int use_map(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&strange, &key);
	if (v)
		*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
