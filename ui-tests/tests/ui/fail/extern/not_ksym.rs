// A program reading `extern int foo;`: an extern that is neither __ksym nor __kconfig.
lskel::bpf_skeleton!("objects/plain_extern.bpf.o");

fn main() {}
