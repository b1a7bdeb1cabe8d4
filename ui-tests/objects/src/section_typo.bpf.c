// A program in SEC("tp_bft/sched_switch"): a typo of tp_btf/sched_switch.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_bft/sched_switch")
int on_switch(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
