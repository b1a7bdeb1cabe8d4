// Four independent problems in one object, which one build must report together: two bad map
// definitions (an unknown field, a bad `pinning`) and two programs each relocated against a
// global in SEC(".foo"), which no map holds. `use_painted` also uses the bad map `painted`:
// that reference is a follow-on of its definition's error and must not be reported again.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(colour, 3);
} painted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, 2);
} pinned SEC(".maps");

__u64 odd SEC(".foo") = 1;
__u64 odder SEC(".foo") = 2;

SEC("syscall")
int use_painted(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&painted, &key);
	if (v)
		*v += 1;
	return 0;
}

SEC("syscall")
int use_odd(void *ctx)
{
	odd++;
	return 0;
}

SEC("syscall")
int use_odder(void *ctx)
{
	odder += 2;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
