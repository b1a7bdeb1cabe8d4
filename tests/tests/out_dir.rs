//! `bpf_skeleton!` accepts objects that a build script writes to OUT_DIR.

use lskel_tests::require_kernel;

lskel::bpf_skeleton!("$OUT_DIR/built_counter.bpf.o", name = built);

#[test]
fn skeleton_of_an_object_in_out_dir_loads_and_counts() {
    require_kernel!();
    let mut open = built::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().expect("load");
    let _link =
        lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter").expect("attach");
    let before = skel.bss().count();
    for _ in 0..10 {
        let _ = std::fs::metadata("/");
    }
    assert!(
        skel.bss().count() >= before + 10,
        "count went from {before} to {}",
        skel.bss().count()
    );
}

// The same object through the `concat!(env!("OUT_DIR"), ...)` idiom.
lskel::bpf_skeleton!(
    concat!(env!("OUT_DIR"), "/built_counter.bpf.o"),
    name = built_concat
);

#[test]
fn concat_env_out_dir_names_the_same_object() {
    let open = built_concat::open();
    assert_eq!(open.rodata.target_pid, 0);
    assert_eq!(
        std::mem::size_of::<built_concat::Rodata>(),
        std::mem::size_of::<built::Rodata>()
    );
}
