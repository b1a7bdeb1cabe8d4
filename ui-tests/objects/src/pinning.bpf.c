// A BTF-defined map with a `pinning` value libbpf does not define (2: LIBBPF_PIN_BY_NAME is 1).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, 2);
} pinned SEC(".maps");

SEC("syscall")
int use_map(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&pinned, &key);
	if (v)
		*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
