// Map accessors are generated per map: counter.bpf.o has `syscall_counts`, not `syscall_count`.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o");

fn counts(skel: &counter::Skel) {
    let _fd = skel.maps().syscall_count();
}

fn main() {
    let _ = counts;
}
