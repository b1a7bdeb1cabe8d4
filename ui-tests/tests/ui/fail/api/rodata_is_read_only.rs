// After load, .rodata is frozen and mapped read-only: `rodata()` gives `&Rodata` and there is
// no `rodata_mut()`. Read-only globals are set on the open skeleton, before load.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o");

fn set_pid(skel: &mut counter::Skel) {
    skel.rodata().target_pid = 42;
}

fn main() {
    let _ = set_pid;
}
