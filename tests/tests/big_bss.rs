//! bigbss.bpf.o: a 16 MiB `.bss` the user never writes is not copied into its map after load
//! (the kernel's new map is zeros), and every write still reaches the map, zeros included.

use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/bigbss.bpf.o");

const LAST: usize = 2 * 1024 * 1024 - 1;

fn run(skel: &bigbss::Skel) {
    run_syscall_prog(skel.progs().read_big().unwrap(), &mut []).unwrap();
}

#[test]
fn an_untouched_bss_loads_as_zeros() {
    require_kernel!();
    let open = bigbss::open();
    assert!(!open.bss.written() && !open.data.written());
    assert_eq!((open.bss.big[0], open.bss.big[LAST]), (0, 0));
    let skel = open.load().unwrap_or_else(|e| panic!("{e}"));
    run(&skel);
    let bss = skel.bss();
    assert_eq!((bss.first(), bss.last()), (0, 0));
    assert_eq!((bss.seed_seen(), bss.seed2_seen()), (0x5eed, 7));
}

#[test]
fn a_written_bss_and_data_reach_the_programs() {
    require_kernel!();
    let mut open = bigbss::open();
    open.bss.big[LAST] = 42;
    open.data.seed2 = 9;
    assert!(open.bss.written() && open.data.written());
    let skel = open.load().unwrap_or_else(|e| panic!("{e}"));
    run(&skel);
    let bss = skel.bss();
    assert_eq!((bss.first(), bss.last()), (0, 42));
    assert_eq!((bss.seed_seen(), bss.seed2_seen()), (0x5eed, 9));
}

#[test]
fn zeros_written_over_non_zero_data_are_zeros() {
    require_kernel!();
    let mut open = bigbss::open();
    open.data.seed = 0;
    let skel = open.load().unwrap_or_else(|e| panic!("{e}"));
    run(&skel);
    assert_eq!(skel.bss().seed_seen(), 0);
    assert_eq!(skel.data().seed(), 0);
}
