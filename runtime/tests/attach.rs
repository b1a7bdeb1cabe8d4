//! Program load, info, test_run and raw tracepoint attachment on the real kernel.

mod common;

use std::os::fd::{AsFd, OwnedFd};

use common::*;
use lskel::sys::bpf::{self, prog_type, ProgLoadAttr};
use lskel::{attach_raw_tp, Errno};

fn load(prog_type: u32, insns: &[u8], name: &str) -> Result<OwnedFd, Errno> {
    bpf::prog_load(&mut ProgLoadAttr {
        prog_type,
        // SYSCALL programs must be sleepable.
        prog_flags: if prog_type == prog_type::BPF_PROG_TYPE_SYSCALL {
            bpf::flags::BPF_F_SLEEPABLE
        } else {
            0
        },
        insns,
        license: Some(c"GPL"),
        name,
        ..Default::default()
    })
}

#[test]
fn raw_tp_attach_and_detach() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    let prog = load(
        prog_type::BPF_PROG_TYPE_RAW_TRACEPOINT,
        &Asm::new().ret(0).0,
        "lskel_rawtp",
    )
    .unwrap();
    let before = bpf::all_ids(bpf::link_get_next_id).unwrap();
    let link = attach_raw_tp(prog.as_fd(), "sys_enter").unwrap();
    let id = bpf::prog_or_map_id(&link).unwrap();
    assert!(!before.contains(&id));
    assert!(bpf::all_ids(bpf::link_get_next_id).unwrap().contains(&id));
    let err = attach_raw_tp(prog.as_fd(), "no_such_tracepoint_lskel").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::NOENT), "{err}");
    drop(link);
    for _ in 0..100 {
        if !bpf::all_ids(bpf::link_get_next_id).unwrap().contains(&id) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("link {id} survived its Link");
}

#[test]
fn prog_info_and_test_run() {
    if !require_kernel() {
        return;
    }
    let insns = Asm::new().mov64_imm(R0, 5).exit();
    let prog = load(
        prog_type::BPF_PROG_TYPE_SYSCALL,
        &insns.0,
        "lskel_info_prog",
    )
    .unwrap();
    let info = bpf::prog_info(prog.as_fd()).unwrap();
    assert_eq!(info.prog_type, prog_type::BPF_PROG_TYPE_SYSCALL);
    assert_eq!(info.name, "lskel_info_prog");
    assert!(info.id > 0);
    assert!(info.map_ids.is_empty());
    // The kernel may withhold xlated code (kptr_restrict); when given, it is the 2 insns.
    assert!(
        info.xlated_insns.is_empty() || info.xlated_insns.len() == 16,
        "{info:?}"
    );
    assert_eq!(
        bpf::prog_get_fd_by_id(info.id).map(|fd| bpf::prog_info(fd.as_fd()).unwrap().id),
        Ok(info.id)
    );
    let out = bpf::prog_test_run(prog.as_fd(), Default::default()).unwrap();
    assert_eq!(out.retval, 5);
}

#[test]
fn prog_info_lists_used_maps() {
    if !require_kernel() {
        return;
    }
    let map = bpf::map_create(&bpf::MapCreateAttr {
        map_type: bpf::map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap();
    let map_id = bpf::map_info(map.as_fd()).unwrap().id;
    // r1 = &map[0] (fd_array[0] with BPF_PSEUDO_MAP_IDX_VALUE); r0 = *(u32 *)r1; exit
    let insns = Asm::new()
        .ld_imm64(R1, PSEUDO_MAP_IDX_VALUE, 0, 0)
        .ldx_w(R0, R1, 0)
        .exit();
    let fd_array = [std::os::fd::AsRawFd::as_raw_fd(&map)];
    let prog = bpf::prog_load(&mut ProgLoadAttr {
        prog_type: prog_type::BPF_PROG_TYPE_SYSCALL,
        insns: &insns.0,
        license: Some(c"GPL"),
        fd_array: &fd_array,
        prog_flags: bpf::flags::BPF_F_SLEEPABLE,
        ..Default::default()
    })
    .unwrap();
    let info = bpf::prog_info(prog.as_fd()).unwrap();
    assert_eq!(info.map_ids, [map_id]);
}

/// `attach_struct_ops` makes a struct_ops link from a map fd; the kernel refuses a map that is
/// not a struct_ops map created with BPF_F_LINK, and the error names the operation.
#[test]
fn struct_ops_link_refuses_a_plain_map() {
    if !require_kernel() {
        return;
    }
    let map = bpf::map_create(&bpf::MapCreateAttr {
        map_type: bpf::map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap();
    let err = lskel::attach_struct_ops(map.as_fd()).unwrap_err();
    assert!(
        matches!(
            err,
            lskel::Error::Syscall {
                op: "BPF_LINK_CREATE(struct_ops)",
                ..
            }
        ),
        "{err}"
    );
}
