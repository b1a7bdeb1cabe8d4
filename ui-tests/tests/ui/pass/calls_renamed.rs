// `name = ...` names the module; the same object can be embedded twice under two names, and
// each module has its own types.
lskel::bpf_skeleton!("../tests/bpf/calls.bpf.o", name = calculator);
lskel::bpf_skeleton!("../tests/bpf/calls.bpf.o", name = calculator_again,);

#[allow(dead_code)]
fn progs(skel: &calculator::Skel) {
    let _ = (
        skel.progs().calc().unwrap(),
        skel.progs().calc_fixed().unwrap(),
        skel.progs().calls_tp().unwrap(),
    );
    let _ = (skel.maps().rodata().fd(), skel.maps().bss().fd());
    let _: u64 = skel.bss().out_loop();
}

fn main() {
    let mut a: calculator::OpenSkel = calculator::open();
    let b: calculator_again::OpenSkel = calculator_again::open();
    a.rodata.target_pid = 3;
    assert_eq!(a.rodata.target_pid, 3);
    assert_eq!(b.rodata.target_pid, 0);
    assert_eq!(a.bss.out_loop_ret, 0i32);
    assert_eq!(std::mem::offset_of!(calculator::Bss, out_loop), 40);
    let _ = progs;
}
