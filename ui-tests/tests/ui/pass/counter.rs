// The README's API screen on counter.bpf.o, without touching the kernel: the open skeleton's
// typed globals and map settings are plain memory; everything after load() is only type-checked.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o");

use std::os::fd::BorrowedFd;

/// What a program does with a loaded skeleton (never called here: it needs root and a kernel).
#[allow(dead_code)]
fn after_load(open: counter::OpenSkel) -> lskel::Result<u64> {
    let skel: counter::Skel = open.load()?;
    let prog: BorrowedFd<'_> = skel.progs().count_syscalls().unwrap();
    let _link: lskel::Link = lskel::attach_raw_tp(prog, "sys_enter")?;
    let _counts: BorrowedFd<'_> = skel.maps().syscall_counts().fd();
    // Data sections are maps too.
    let _bss_map: BorrowedFd<'_> = skel.maps().bss().fd();
    skel.data().set_increment(10);
    let last: i64 = skel.data().last_syscall();
    let pid: i32 = skel.rodata().target_pid;
    let _ = (last, pid);
    let count: u64 = skel.bss().count();
    skel.bss().set_count(0);
    Ok(count)
}

/// `load_with` takes options.
#[allow(dead_code)]
fn load_verbose(open: counter::OpenSkel) -> lskel::Result<counter::Skel> {
    open.load_with(&lskel::LoadOptions {
        log_level: 1,
        ..Default::default()
    })
}

fn main() {
    let mut open = counter::open();

    // Initial values come from the object (tests/bpf/README.md).
    assert_eq!(open.rodata.target_pid, 0);
    assert_eq!(open.data.increment, 1);
    assert_eq!(open.data.last_syscall, -1);
    assert_eq!(open.bss.count, 0);

    // Knobs before load.
    open.rodata.target_pid = std::process::id() as i32;
    open.data.increment = 2;
    assert_eq!(open.rodata.target_pid, std::process::id() as i32);

    // Map sizes before load.
    assert_eq!(open.maps.syscall_counts.max_entries(), 512);
    open.maps.syscall_counts.set_max_entries(1024);
    assert_eq!(open.maps.syscall_counts.max_entries(), 1024);

    // The section structs have the C layout.
    assert_eq!(std::mem::size_of::<counter::Rodata>(), 4);
    assert_eq!(std::mem::size_of::<counter::Data>(), 16);
    assert_eq!(std::mem::size_of::<counter::Bss>(), 8);
    assert_eq!(std::mem::offset_of!(counter::Data, last_syscall), 8);

    let _ = (after_load, load_verbose);
}
