// Two undefined externs that are neither __ksym nor __kconfig: both must be reported.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int foo;
extern int bar;

SEC("syscall")
int read_both(void *ctx)
{
	return foo + bar;
}

char LICENSE[] SEC("license") = "GPL";
