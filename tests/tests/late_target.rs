//! Attach targets named before load: a `SEC("tp_btf")` program without a target gets one from
//! `set_attach_target`, resolved by the loader in kernel BTF at load time.

use lskel_tests::require_kernel;

lskel::bpf_skeleton!("../gen/tests/objects/late_target.bpf.o");

#[test]
fn target_set_before_load_is_resolved_and_attaches() {
    require_kernel!();
    let mut open = late_target::open();
    open.rodata.target_tgid = std::process::id() as i32;
    open.progs.late_tp.set_attach_target("sys_enter");
    assert!(
        !open.progs.late_fentry.autoload(),
        "`?fentry` starts switched off"
    );
    let skel = open.load().expect("load");
    assert!(
        skel.progs().late_fentry().is_none(),
        "a switched-off program has no fd"
    );
    let fd = skel.progs().late_tp().expect("loaded");
    // The program's attach_btf_id is the kernel's id of `btf_trace_sys_enter`.
    let vmlinux =
        lskel_gen::btf::Btf::parse(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap()).unwrap();
    let want = vmlinux
        .find("btf_trace_sys_enter", lskel_gen::btf::kind::TYPEDEF)
        .unwrap();
    let info = lskel::sys::bpf::prog_info(fd).unwrap();
    assert_eq!(info.attach_btf_id, want);
    let _link = lskel::attach_raw_tp(fd, "").expect("attach tp_btf");
    let before = skel.bss().tp_hits();
    for _ in 0..20 {
        let _ = std::fs::metadata("/");
    }
    assert!(
        skel.bss().tp_hits() >= before + 20,
        "tp_hits {} -> {}",
        before,
        skel.bss().tp_hits()
    );
}

#[test]
fn a_missing_target_fails_the_load_naming_the_program() {
    require_kernel!();
    let err = late_target::open()
        .load()
        .err()
        .expect("no target set: load fails");
    assert_eq!(err.errno(), Some(lskel::Errno::INVAL), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("program `late_tp` has no attach target"),
        "{text}"
    );
}

#[test]
fn an_unknown_target_fails_the_load_naming_it() {
    require_kernel!();
    let mut open = late_target::open();
    open.progs
        .late_tp
        .set_attach_target("lskel_no_such_tracepoint");
    let err = open.load().err().expect("unknown target: load fails");
    assert_eq!(err.errno(), Some(lskel::Errno::NOENT), "{err}");
    assert!(
        err.to_string()
            .contains("find the attach target set for program `late_tp`"),
        "{err}"
    );
}

#[test]
fn a_load_refused_before_verification_reports_no_log_not_an_earlier_one() {
    require_kernel!();
    let mut open = late_target::open();
    open.progs.late_tp.set_attach_target("sys_enter");
    // This kernel refuses fentry loads with EPERM before the verifier runs (lockdown).
    open.progs
        .late_fentry
        .set_autoload(true)
        .set_attach_target("do_unlinkat");
    let opts = lskel::LoadOptions {
        log_level: 1,
        log_size: 0,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    let err = open.load_with(&opts).err().expect("fentry is refused here");
    let text = err.to_string();
    assert_eq!(err.errno(), Some(lskel::Errno::PERM), "{text}");
    assert!(text.contains("load program `late_fentry`"), "{text}");
    assert!(
        text.contains("the kernel wrote no log for this step"),
        "{text}"
    );
    assert!(
        !text.contains("magic: 0xeb9f"),
        "the BTF load's log is not this step's: {text}"
    );
}
