//! `freplace` through the skeleton API: the target is a global function of another loaded
//! program, named by the target skeleton's `btf_ids`.

use lskel_tests::require_kernel;

lskel::bpf_skeleton!("bpf/calls.bpf.o");
lskel::bpf_skeleton!("../gen/tests/objects/freplace.bpf.o");

#[test]
fn freplace_names_its_target_through_btf_ids() {
    require_kernel!();
    let target = calls::open().load().expect("load calls");
    let prog = target.progs().calc().unwrap();
    let mut open = freplace::open();
    open.progs
        .new_check
        .set_attach_target_prog(prog, calls::btf_ids::global_add)
        .unwrap();
    match open.load() {
        Ok(skel) => {
            let info = lskel::sys::bpf::prog_info(skel.progs().new_check().unwrap()).unwrap();
            assert_eq!(info.attach_btf_id, calls::btf_ids::global_add);
        }
        // This kernel refuses extension programs like fentry (lockdown): the load gets as far
        // as the program itself, with its target set (the emulator checks the attr).
        Err(e) => {
            assert_eq!(e.errno(), Some(lskel::Errno::PERM), "{e}");
            assert!(e.to_string().contains("load program `new_check`"), "{e}");
        }
    }
    // The target program is the user's and still works.
    assert!(lskel::sys::bpf::prog_info(prog).is_ok());
}
