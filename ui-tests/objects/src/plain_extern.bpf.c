// An undefined extern that is neither __ksym nor __kconfig: nothing can resolve it.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int foo;

SEC("syscall")
int read_foo(void *ctx)
{
	return foo;
}

char LICENSE[] SEC("license") = "GPL";
