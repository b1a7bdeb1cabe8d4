//! `load_with_stats`: the phases of one load are measured, do not overlap, and the loader's
//! instruction counts are the generated loader's and the verifier's.

use std::time::Duration;

use lskel::LoadOptions;
use lskel_tests::{fixture, require_kernel};

lskel::bpf_skeleton!("bpf/counter.bpf.o");
lskel::bpf_skeleton!("bpf/globals.bpf.o");

fn written_insns(object: &str, name: &str) -> u32 {
    let data = std::fs::read(fixture(object)).unwrap();
    let skel = lskel_gen::generate(&data, name).unwrap();
    (skel.loader.insns.len() / 8) as u32
}

fn check(stats: &lskel::LoadStats, written: u32) {
    assert_eq!(stats.tries, 1, "{stats:?}");
    for (what, d) in [
        ("loader map", stats.loader_map),
        ("loader verification", stats.loader_verify),
        ("loader run", stats.loader_run),
        ("user space", stats.user_space),
    ] {
        assert!(d > Duration::ZERO, "{what} is 0: {stats:?}");
    }
    let phases = stats.loader_map + stats.loader_verify + stats.loader_run;
    assert!(phases < stats.total, "{stats:?}");
    assert_eq!(phases + stats.user_space, stats.total, "{stats:?}");
    // The loader's own loads (BTF, maps, programs with their verification) run inside it: the
    // run is longer than the kernel's own report of it, which is 0 for a syscall program.
    assert!(stats.kernel_run <= stats.loader_run, "{stats:?}");
    assert_eq!(stats.loader_insns, written, "{stats:?}");
    // Every instruction of the loader is reachable (its error paths too), so the verifier
    // processes each at least once; its branches explored twice at most per path stay well under
    // 8 times the program.
    assert!(
        stats.verified_insns >= written && stats.verified_insns <= written * 8,
        "{stats:?}"
    );
}

#[test]
fn load_with_stats_measures_every_phase() {
    require_kernel!();
    let (skel, stats) = counter::open()
        .load_with_stats(&LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(skel.progs().count_syscalls().is_some());
    check(&stats, written_insns("counter.bpf.o", "counter"));
}

#[test]
fn load_with_stats_counts_the_data_sections_as_user_space_and_loads_the_same_skeleton() {
    require_kernel!();
    let mut open = globals::open();
    open.data.data_counter = 9;
    let (skel, stats) = open
        .load_with_stats(&LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    check(&stats, written_insns("globals.bpf.o", "globals"));
    assert_eq!(skel.data().data_counter(), 9);
}
