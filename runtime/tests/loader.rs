//! `bpf_load_and_run` with hand-assembled loader programs on the real kernel.
//!
//! SAFETY (every `unsafe` block here): the loaders are the hand-assembled ones below, which
//! call no helper and only read and write the ctx and the blob, and no ctx holds an address
//! the kernel would use.

mod common;

use std::os::fd::{AsFd, AsRawFd, IntoRawFd};
use std::time::Duration;

use common::*;
use lskel::abi::{map_desc_off, prog_desc_off, LoaderCtx};
use lskel::sys::bpf::{self, map_type, MapCreateAttr};
use lskel::{bpf_load_and_run, Errno, Error, LoadOptions};

/// `__loader*` maps and programs behind this process's own fds (never other processes' objects,
/// so other BPF users on the host do not matter): the loader's own objects only ever exist behind
/// fds of the loading process, so none may be held after a load.
fn loader_objects() -> (usize, usize) {
    let (mut maps, mut progs) = (0, 0);
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        // SAFETY: borrowed only for the info call; an fd closed meanwhile makes it fail (EBADF).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        if target == "anon_inode:bpf-map" {
            if bpf::map_info(fd).is_ok_and(|i| i.name.starts_with("__loader")) {
                maps += 1;
            }
        } else if target == "anon_inode:bpf-prog"
            && bpf::prog_info(fd).is_ok_and(|i| i.name.starts_with("__loader"))
        {
            progs += 1;
        }
    }
    (maps, progs)
}

/// Waits (the kernel frees ids after an RCU grace period) until no `__loader*` object is left.
fn assert_no_loader_objects_left() {
    for _ in 0..100 {
        if loader_objects() == (0, 0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("loader objects left behind: {:?}", loader_objects());
}

const DATA: &[u8] = &[0u8; 8];

#[test]
fn leak_check_sees_loader_named_objects() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    assert_no_loader_objects_left();
    let fake = bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        name: lskel::LOADER_MAP_NAME,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(loader_objects(), (1, 0));
    drop(fake);
    assert_no_loader_objects_left();
}

#[test]
fn loader_round_trips_max_entries() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    // r2 = ctx->maps[0].max_entries; r2 += 1; ctx->maps[0].max_entries = r2; return 0
    let off = (map_desc_off(0) + 4) as i16;
    let insns = Asm::new()
        .ldx_w(R2, R1, off)
        .add64_imm(R2, 1)
        .stx_w(R1, R2, off)
        .ret(0);
    let mut ctx = LoaderCtx::new(1, 0);
    ctx.set_max_entries(0, 41);
    let fds =
        unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &LoadOptions::default()) }.unwrap();
    assert_eq!(ctx.max_entries(0), 42);
    assert_eq!(ctx.map_fd(0), 0);
    assert_eq!(fds.maps.len(), 1);
    assert!(fds.maps[0].is_none());
    assert!(fds.progs.is_empty());
    assert_eq!(ctx.log(), (0, 0, 0));
    assert_no_loader_objects_left();
}

/// Issue 13: a log address left in the ctx (here a made-up one) never reaches the loader:
/// `bpf_load_and_run` always overwrites the log fields, with its own buffer or with zeros.
#[test]
fn a_stale_log_address_never_reaches_the_loader() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    const STALE: u64 = 0xdead_0000;
    // ctx->maps[0].max_entries = ctx->log_level; ctx->maps[0].initial_value = ctx->log_buf
    let (me, iv) = ((map_desc_off(0) + 4) as i16, (map_desc_off(0) + 8) as i16);
    let insns = Asm::new()
        .ldx_w(R2, R1, 8)
        .stx_w(R1, R2, me)
        .ldx_dw(R2, R1, 16)
        .stx_dw(R1, R2, iv)
        .ret(0);
    let mut ctx = LoaderCtx::new(1, 0);
    // SAFETY: never run with it (the point of the test), and were it, the loader above
    // passes it to no load.
    unsafe { ctx.set_log(1, 4096, STALE) };
    unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &LoadOptions::default()) }.unwrap();
    assert_eq!(
        (ctx.max_entries(0), ctx.initial_value(0)),
        (0, 0),
        "no log asked for"
    );
    assert_eq!(ctx.log(), (0, 0, 0));

    // SAFETY: as above.
    unsafe { ctx.set_log(1, 4096, STALE) };
    let opts = LoadOptions {
        log_level: 2,
        log_size: 8192,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &opts) }.unwrap();
    assert_eq!(ctx.max_entries(0), 2, "the requested level");
    let seen = ctx.initial_value(0);
    assert!(seen != 0 && seen != STALE, "log_buf {seen:#x}");
    assert_eq!(ctx.log(), (0, 0, 0), "no address left behind");
    assert_no_loader_objects_left();
}

#[test]
fn loader_reads_the_blob_through_fd_array() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    let mut data = [0u8; 16];
    data[8..12].copy_from_slice(&0x00C0_FFEEu32.to_ne_bytes());
    // r2 = &loader_map.value + 8 (fd_array[0]); r3 = *(u32 *)r2; ctx->maps[0].max_entries = r3; return 0
    let insns = Asm::new()
        .ld_imm64(R2, PSEUDO_MAP_IDX_VALUE, 0, 8)
        .ldx_w(R3, R2, 0)
        .stx_w(R1, R3, (map_desc_off(0) + 4) as i16)
        .ret(0);
    let mut ctx = LoaderCtx::new(1, 0);
    unsafe { bpf_load_and_run(&mut ctx, &data, &insns.0, &LoadOptions::default()) }.unwrap();
    assert_eq!(ctx.max_entries(0), 0x00C0_FFEE);
    assert_no_loader_objects_left();
}

/// `keep_loader`: the second run of a kept loader sees the pristine blob, although the first
/// run patched it; a different loader with a blob of the same size gets a pair of its own.
#[test]
fn a_kept_loader_reruns_over_a_pristine_blob() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    lskel::drop_kept_loaders();
    let mut data = [0u8; 16];
    data[8..12].copy_from_slice(&7u32.to_ne_bytes());
    // r2 = &blob[8]; r3 = *(u32 *)r2; ctx->maps[0].max_entries = r3; r3 += 1; *(u32 *)r2 = r3
    let loader = |extra: i32| {
        Asm::new()
            .ld_imm64(R2, PSEUDO_MAP_IDX_VALUE, 0, 8)
            .ldx_w(R3, R2, 0)
            .add64_imm(R3, extra)
            .stx_w(R1, R3, (map_desc_off(0) + 4) as i16)
            .add64_imm(R3, 1)
            .stx_w(R2, R3, 0)
            .ret(0)
    };
    let keep = LoadOptions {
        keep_loader: true,
        ..Default::default()
    };
    let first = loader(0);
    for run in 0..3 {
        let mut ctx = LoaderCtx::new(1, 0);
        unsafe { bpf_load_and_run(&mut ctx, &data, &first.0, &keep) }.unwrap();
        assert_eq!(ctx.max_entries(0), 7, "run {run} saw the blob as written");
        assert_eq!(loader_objects(), (1, 1), "run {run}: one kept loader");
    }
    let other = loader(100);
    let mut ctx = LoaderCtx::new(1, 0);
    unsafe { bpf_load_and_run(&mut ctx, &data, &other.0, &keep) }.unwrap();
    assert_eq!(ctx.max_entries(0), 107);
    assert_eq!(
        loader_objects(),
        (2, 2),
        "another loader is not the kept one"
    );
    assert_eq!(lskel::drop_kept_loaders(), 2);
    assert_no_loader_objects_left();
}

#[test]
fn loader_error_is_reported_as_errno() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    let insns = Asm::new().ret(-22);
    let mut ctx = LoaderCtx::new(0, 0);
    let err =
        unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &LoadOptions::default()) }.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Loader {
                errno: Errno::INVAL,
                log: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("EINVAL"), "{err}");

    // With a log level, the (here empty) inner log comes back.
    let opts = LoadOptions {
        log_level: 1,
        log_size: 64 * 1024,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    let err = unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &opts) }.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Loader {
                errno: Errno::INVAL,
                log: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(ctx.log(), (0, 0, 0));
    assert_no_loader_objects_left();
}

#[test]
fn rejected_loader_comes_with_the_verifier_log() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    // `exit` without setting r0.
    let insns = Asm::new().exit();
    let mut ctx = LoaderCtx::new(0, 0);
    let opts = LoadOptions {
        log_level: 1,
        log_size: 0,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    let err = unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &opts) }.unwrap_err();
    let Error::LoaderVerifier { errno, log } = &err else {
        panic!("expected LoaderVerifier, got {err:?}");
    };
    assert_eq!(*errno, Errno::ACCES);
    assert!(!log.is_empty(), "{err:?}");
    assert!(log.as_str().contains("R0"), "{log:?}");
    assert!(err.to_string().contains("verifier log"), "{err}");

    // Without a log level there is no log, but still the errno.
    let err =
        unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &LoadOptions::default()) }.unwrap_err();
    assert!(
        matches!(&err, Error::LoaderVerifier { log, .. } if log.is_empty()),
        "{err:?}"
    );
    assert_no_loader_objects_left();
}

#[test]
fn returned_fds_become_owned() {
    if !require_kernel() {
        return;
    }
    let _g = serial();
    // A map whose descriptor number we hand to the "loader" (through max_entries) to return: this stands
    // for a map the loader created. Ownership of the number passes to LoadedFds.
    let map = bpf::map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        name: "lskel_ret",
        ..Default::default()
    })
    .unwrap();
    let id = bpf::map_info(map.as_fd()).unwrap().id;
    let raw = map.into_raw_fd();
    // maps[0].map_fd = maps[0].max_entries; progs[0].prog_fd = same number (a duplicate: must be dropped).
    let insns = Asm::new()
        .ldx_w(R2, R1, (map_desc_off(0) + 4) as i16)
        .stx_w(R1, R2, map_desc_off(0) as i16)
        .stx_w(R1, R2, prog_desc_off(1, 0) as i16)
        .ret(0);
    let mut ctx = LoaderCtx::new(1, 1);
    ctx.set_max_entries(0, raw as u32);
    let fds =
        unsafe { bpf_load_and_run(&mut ctx, DATA, &insns.0, &LoadOptions::default()) }.unwrap();
    let owned = fds.maps[0].as_ref().expect("map fd taken");
    assert_eq!(owned.as_raw_fd(), raw);
    assert_eq!(bpf::map_info(owned.as_fd()).unwrap().id, id);
    assert!(
        fds.progs[0].is_none(),
        "a duplicate number must not be owned twice"
    );
    drop(fds);
    // Closed by LoadedFds: the map is gone.
    for _ in 0..100 {
        if !bpf::all_ids(bpf::map_get_next_id).unwrap().contains(&id) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("map {id} still alive after LoadedFds was dropped");
}

#[test]
fn bad_arguments_are_refused_before_any_syscall() {
    let mut ctx = LoaderCtx::new(0, 0);
    let opts = LoadOptions::default();
    assert!(matches!(
        unsafe { bpf_load_and_run(&mut ctx, DATA, &[0u8; 7], &opts) },
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        unsafe { bpf_load_and_run(&mut ctx, &[], &Asm::new().ret(0).0, &opts) },
        Err(Error::InvalidArgument(_))
    ));
}
