//! tailcall.bpf.o: a PROG_ARRAY whose slots are initialised statically (`.values`), filled by the
//! loader once the programs are loaded. `tail_entry` tail-calls the slot `skb->mark + index_bias`.

use std::os::fd::{AsRawFd, BorrowedFd};

use lskel::sys::bpf::{prog_info, prog_or_map_id, prog_test_run, TestRunAttr};
use lskel::Map;
use lskel_tests::require_kernel;

lskel::bpf_skeleton!("bpf/tailcall.bpf.o");

/// The 64-byte reference frame: Ethernet + IPv4 + UDP, zero payload.
fn frame() -> [u8; 64] {
    let mut f = [0u8; 64];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&50u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[127, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[127, 0, 0, 1]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&5678u16.to_be_bytes());
    f[38..40].copy_from_slice(&30u16.to_be_bytes());
    f
}

/// Runs a tc program on the frame, with `skb->mark` = `mark` (a 12-byte `struct __sk_buff`
/// prefix), or with no ctx at all.
fn run(prog: BorrowedFd<'_>, mark: Option<u32>) -> u32 {
    let data = frame();
    let mut ctx = [0u8; 12];
    let attr = match mark {
        Some(mark) => {
            ctx[8..12].copy_from_slice(&mark.to_ne_bytes());
            TestRunAttr {
                data_in: &data,
                ctx_in: Some(&mut ctx),
                ..Default::default()
            }
        }
        None => TestRunAttr {
            data_in: &data,
            ..Default::default()
        },
    };
    prog_test_run(prog, attr).unwrap().retval
}

#[test]
fn entry_tail_calls_by_index() {
    require_kernel!();
    let skel = tailcall::open().load().unwrap();
    let entry = skel.progs().tail_entry().unwrap();

    assert_eq!(run(entry, Some(0)), 10, "slot 0: target_a");
    let b = skel.bss().read();
    assert_eq!((b.marker_a, b.last_target, b.hits_a), (0xaa, 1, 1));
    assert_eq!((b.marker_b, b.hits_b), (0, 0));

    assert_eq!(run(entry, Some(1)), 20, "slot 1: target_b");
    let b = skel.bss().read();
    assert_eq!((b.marker_b, b.last_target, b.hits_b), (0xbb, 2, 1));
    assert_eq!(b.hits_a, 1);
    assert_eq!(b.fallthrough, 0);

    // Without a ctx the mark is 0: target_a.
    assert_eq!(run(entry, None), 10);
    assert_eq!(skel.bss().hits_a(), 2);
    assert_eq!(skel.bss().entry_runs(), 3);
}

#[test]
fn empty_or_out_of_range_slot_falls_through() {
    require_kernel!();
    let skel = tailcall::open().load().unwrap();
    let entry = skel.progs().tail_entry().unwrap();
    for mark in [2, 3, 7, u32::MAX] {
        assert_eq!(run(entry, Some(mark)), 1, "mark {mark}");
    }
    let b = skel.bss().read();
    assert_eq!(b.fallthrough, 4);
    assert_eq!(b.entry_runs, 4);
    assert_eq!((b.hits_a, b.hits_b, b.last_target), (0, 0, 0));
    assert_eq!((b.marker_a, b.marker_b), (0, 0));
}

#[test]
fn targets_run_directly() {
    require_kernel!();
    let skel = tailcall::open().load().unwrap();
    assert_eq!(run(skel.progs().target_a().unwrap(), None), 10);
    assert_eq!(run(skel.progs().target_b().unwrap(), None), 20);
    let b = skel.bss().read();
    assert_eq!((b.hits_a, b.hits_b, b.last_target), (1, 1, 2));
    assert_eq!(b.entry_runs, 0, "no tail call involved");
}

#[test]
fn prog_array_holds_the_target_programs() {
    require_kernel!();
    let skel = tailcall::open().load().unwrap();
    let table = Map::new(skel.maps().jmp_table().fd()).unwrap();
    let slot = |k: u32| -> Option<u32> {
        table
            .get(&k.to_ne_bytes())
            .unwrap()
            .map(|v| u32::from_ne_bytes(v[..4].try_into().unwrap()))
    };
    let id_a = prog_info(skel.progs().target_a().unwrap()).unwrap().id;
    let id_b = prog_info(skel.progs().target_b().unwrap()).unwrap().id;
    assert_eq!(
        id_a,
        prog_or_map_id(skel.progs().target_a().unwrap()).unwrap()
    );
    assert_ne!(id_a, id_b);
    assert_eq!(slot(0), Some(id_a), "jmp_table[0] = target_a");
    assert_eq!(slot(1), Some(id_b), "jmp_table[1] = target_b");
    assert_eq!(slot(2), None, "jmp_table[2] is empty");
    assert_eq!(slot(3), None, "jmp_table[3] is empty");
    let info = prog_info(skel.progs().target_a().unwrap()).unwrap();
    assert_eq!(info.name, "target_a");
}

#[test]
fn user_space_slot_update_and_delete() {
    require_kernel!();
    let skel = tailcall::open().load().unwrap();
    let entry = skel.progs().tail_entry().unwrap();
    let table = Map::new(skel.maps().jmp_table().fd()).unwrap();
    // Slot 2 gets target_b, slot 0 is cleared.
    let fd_b = skel.progs().target_b().unwrap().as_raw_fd() as u32;
    table
        .update(&2u32.to_ne_bytes(), &fd_b.to_ne_bytes(), 0)
        .unwrap();
    assert!(table.delete(&0u32.to_ne_bytes()).unwrap());
    assert_eq!(run(entry, Some(2)), 20);
    assert_eq!(run(entry, Some(0)), 1, "slot 0 cleared");
    let b = skel.bss().read();
    assert_eq!((b.hits_a, b.hits_b, b.fallthrough), (0, 1, 1));
}

#[test]
fn rodata_index_bias_shifts_the_slot() {
    require_kernel!();
    let mut open = tailcall::open();
    open.rodata.index_bias = 1;
    let skel = open.load().unwrap();
    assert_eq!({ skel.rodata().index_bias }, 1);
    let entry = skel.progs().tail_entry().unwrap();
    assert_eq!(run(entry, Some(0)), 20, "0 + 1: target_b");
    assert_eq!(run(entry, Some(1)), 1, "1 + 1: empty");
    let b = skel.bss().read();
    assert_eq!(
        (b.hits_a, b.hits_b, b.fallthrough, b.entry_runs),
        (0, 1, 1, 2)
    );
}
