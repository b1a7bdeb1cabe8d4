// A map-in-map (ARRAY_OF_MAPS) declared without `__array(values, ...)`: no inner map definition.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} outer SEC(".maps");

SEC("syscall")
int use_map(void *ctx)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer, &key);
	return inner != 0;
}

char LICENSE[] SEC("license") = "GPL";
