//! ksyms.bpf.o: `__ksym` variables other than kfunc calls: typeless ksyms (plain addresses from
//! kallsyms), a typed function ksym (`BPF_PSEUDO_BTF_ID`), and weak missing ones of both kinds.

use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/ksyms.bpf.o");

/// The address of `name` in `/proc/kallsyms` (the first line naming it), or `None` if absent.
fn kallsyms(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").expect("/proc/kallsyms is readable");
    text.lines().find_map(|line| {
        let mut it = line.split_whitespace();
        let addr = it.next()?;
        let _kind = it.next()?;
        let sym = it.next()?;
        // Module symbols carry a trailing "[module]" column; the name is the third column.
        (sym == name).then(|| u64::from_str_radix(addr, 16).expect("hex address"))
    })
}

fn loaded_and_run() -> ksyms::Skel {
    let skel = ksyms::open().load().unwrap();
    assert_eq!(
        run_syscall_prog(skel.progs().ksym_run().unwrap(), &mut []).unwrap(),
        0
    );
    assert_eq!(skel.bss().runs(), 1);
    skel
}

#[test]
fn typeless_ksym_is_the_kallsyms_address() {
    require_kernel!();
    let skel = loaded_and_run();
    let text = kallsyms("_text").expect("_text is in /proc/kallsyms");
    assert_ne!(text, 0, "kallsyms shows zeros: run as root (kptr_restrict)");
    assert_eq!({ skel.bss().text_addr() }, text, "_text");
}

#[test]
fn weak_typeless_ksyms_missing_from_kallsyms_read_zero() {
    require_kernel!();
    let skel = loaded_and_run();
    let b = skel.bss().read();
    assert_eq!(b.missing_addr, 0, "bpf_lskel_no_such_ksym");
    // bpf_prog_active is a per-CPU variable: in kallsyms only with CONFIG_KALLSYMS_ALL. Either
    // way the program sees what kallsyms says (0 when absent, as the symbol is weak).
    assert_eq!(
        b.prog_active_addr,
        kallsyms("bpf_prog_active").unwrap_or(0),
        "bpf_prog_active"
    );
}

#[test]
fn typed_function_ksym_is_the_kallsyms_address() {
    require_kernel!();
    let skel = loaded_and_run();
    let schedule = kallsyms("schedule").expect("schedule is in /proc/kallsyms");
    assert_ne!(schedule, 0);
    assert_eq!({ skel.bss().schedule_addr() }, schedule, "schedule");
    assert_ne!({ skel.bss().schedule_addr() }, { skel.bss().text_addr() });
}

#[test]
fn weak_missing_typed_ksym_reads_zero() {
    require_kernel!();
    let skel = loaded_and_run();
    let b = skel.bss().read();
    assert_eq!(b.missing_typed_addr, 0, "&bpf_lskel_no_such_var");
    assert_eq!(b.missing_typed_present, 0, "the dereference branch is dead");
}

#[test]
fn values_are_stable_across_runs_and_loads() {
    require_kernel!();
    let a = loaded_and_run();
    assert_eq!(
        run_syscall_prog(a.progs().ksym_run().unwrap(), &mut []).unwrap(),
        0
    );
    let b = loaded_and_run();
    let (x, y) = (a.bss().read(), b.bss().read());
    assert_eq!(x.runs, 2);
    assert_eq!(
        (x.text_addr, x.schedule_addr, x.missing_addr),
        (y.text_addr, y.schedule_addr, y.missing_addr)
    );
}
