// `env!` of a variable that is not set: the error points at its name.
lskel::bpf_skeleton!(concat!(env!("LSKEL_UI_TEST_UNSET_VARIABLE"), "/x.bpf.o"));

fn main() {}
