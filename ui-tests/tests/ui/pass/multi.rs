// multi.bpf.o: one program accessor per program, of six program types.
lskel::bpf_skeleton!("../tests/bpf/multi.bpf.o");

use std::os::fd::BorrowedFd;

#[allow(dead_code)]
fn progs(skel: &multi::Skel) -> [Option<BorrowedFd<'_>>; 6] {
    let p = skel.progs();
    [
        p.xdp_count(),
        p.tc_count(),
        p.sock_count(),
        p.cgskb_count(),
        p.tp_getpid(),
        p.rawtp_count(),
    ]
}

fn main() {
    let mut open = multi::open();
    assert_eq!(open.maps.pkt_counts.max_entries(), 4);
    // Every program loads unless switched off.
    assert!(open.progs.xdp_count.autoload());
    open.progs.tp_getpid.set_autoload(false);
    open.rodata.target_pid = 1;
    assert_eq!(open.bss.xdp_hits, 0);
    assert_eq!(std::mem::offset_of!(multi::Bss, rawtp_id), 88);
    let _ = progs;
}
