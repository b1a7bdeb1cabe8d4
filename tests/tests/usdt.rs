//! USDT: `lskel::usdt` attaches a `SEC("usdt")` program written with libbpf's `<bpf/usdt.bpf.h>`
//! (tests/bpf/usdt.bpf.c) to a real `<sys/sdt.h>`-style probe of this test binary.
//!
//! The probe `lskel:hit` is written by hand below (`probe_hit`): a `nop`, a `.note.stapsdt` ELF note with
//! its address, the `.stapsdt.base` address, a semaphore and an argument string made of the registers
//! and memory operands the compiler picked, exactly what `STAP_PROBE5` of `<sys/sdt.h>` emits, without
//! needing systemtap-sdt-dev. Its arguments cover every spec kind of libbpf 1.1: registers (32- and
//! 64-bit, signed), register + offset dereferences (positive and negative offsets, 8 and 2 bytes) and a
//! constant.
//!
//! Needs root and the uprobe PMU; without them the test skips (fails under `LSKEL_REQUIRE_KERNEL=1`).

#![cfg(target_arch = "x86_64")]

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};

use lskel::usdt::{UsdtError, UsdtManager};
use lskel_tests::require_kernel;

lskel::bpf_skeleton!("bpf/usdt.bpf.o");

/// The probe's semaphore: in a writable, file-backed section, as `<sys/sdt.h>` puts it (`.probes`).
/// The kernel increments it while a uprobe with this `ref_ctr_offset` is installed.
#[used]
#[link_section = ".probes"]
static LSKEL_HIT_SEMAPHORE: AtomicU16 = AtomicU16::new(0);

/// USDT probe `lskel:hit(int a, long b, u64 buf[1], int 5, short (short)buf[0])`.
#[inline(never)]
fn probe_hit(a: i32, b: i64, buf: &[i64; 2]) {
    let p = buf.as_ptr();
    let end = p.wrapping_add(2);
    // SAFETY: the block executes only a `nop`; the rest are assembler directives that put the probe's
    // note (and, once per object, the `_.stapsdt.base` symbol) into sections of their own.
    // `readonly`: the uprobe reads `buf` through `p` at the `nop`, so its stores must be done by then.
    unsafe {
        std::arch::asm!(
            "990: nop",
            ".pushsection .note.stapsdt,\"\",@note",
            ".balign 4",
            ".4byte 992f-991f, 994f-993f, 3",
            "991: .asciz \"stapsdt\"",
            "992: .balign 4",
            "993: .8byte 990b",
            ".8byte _.stapsdt.base",
            ".8byte {sema}",
            ".asciz \"lskel\"",
            ".asciz \"hit\"",
            ".asciz \"-4@{a:e} -8@{b} 8@8({p}) 4@$5 -2@-16({end})\"",
            "994: .balign 4",
            ".popsection",
            ".ifndef _.stapsdt.base",
            ".pushsection .stapsdt.base,\"aG\",@progbits,.stapsdt.base,comdat",
            ".weak _.stapsdt.base",
            ".hidden _.stapsdt.base",
            "_.stapsdt.base: .space 1",
            ".size _.stapsdt.base, 1",
            ".popsection",
            ".endif",
            a = in(reg) a,
            b = in(reg) b,
            p = in(reg) p,
            end = in(reg) end,
            sema = sym LSKEL_HIT_SEMAPHORE,
            options(att_syntax, nostack, readonly, preserves_flags),
        );
    }
}

fn args(i: i64) -> (i32, i64, [i64; 2]) {
    (
        -(i as i32) - 1,
        -1_000_000_000_000 * i + 3,
        [-7 - i, (1 << 40) + i],
    )
}

/// Fires the probe `n` times with `args(0..n)`.
fn fire(n: i64) {
    for i in 0..n {
        let (a, b, buf) = args(i);
        probe_hit(a, b, std::hint::black_box(&buf));
    }
}

fn uprobe_pmu() -> bool {
    if Path::new("/sys/bus/event_source/devices/uprobe/type").exists() {
        return true;
    }
    if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("LSKEL_REQUIRE_KERNEL=1 but there is no uprobe PMU");
    }
    eprintln!("skipping: no uprobe PMU (/sys/bus/event_source/devices/uprobe)");
    false
}

#[test]
fn probe_note_of_this_binary() {
    let exe = std::env::current_exe().unwrap();
    let data = std::fs::read(&exe).unwrap();
    let t = lskel::usdt::find_usdt_targets(&data, Some("lskel"), Some("hit")).unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    let spec = lskel::usdt::parse_x86_64_args(&t[0].note.args, 0).unwrap();
    assert_eq!(spec.args.len(), 5, "{}", t[0].note.args);
    assert_ne!(t[0].note.sema_addr, 0);
    assert_ne!(t[0].sema_offset, 0);
}

#[test]
fn usdt_args_reach_the_program() {
    require_kernel!();
    if !uprobe_pmu() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut open = usdt::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open
        .load_with(&lskel::LoadOptions {
            log_level: 1,
            log_size: 0,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let prog = skel.progs().hit().unwrap();
    let manager = UsdtManager::new(skel.maps().__bpf_usdt_specs().fd()).unwrap();

    // No such probe; not an ELF file.
    match manager.attach(prog, None, &exe, "lskel", "nope", 0) {
        Err(UsdtError::NotFound { probe, .. }) => assert_eq!(probe, "lskel:nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        manager.attach(
            prog,
            None,
            Path::new("/proc/self/status"),
            "lskel",
            "hit",
            0
        ),
        Err(UsdtError::Elf { .. })
    ));

    fire(2); // not attached: nothing counts
    assert_eq!(skel.bss().hits(), 0);
    assert_eq!(LSKEL_HIT_SEMAPHORE.load(Ordering::Relaxed), 0);

    let links = manager
        .attach(prog, None, &exe, "lskel", "hit", 0xc00c1e)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(links.len(), 1);
    assert_eq!(links.spec_ids(), &[0]);
    assert_eq!(
        LSKEL_HIT_SEMAPHORE.load(Ordering::Relaxed),
        1,
        "the kernel counts the attached uprobe in the semaphore"
    );

    fire(5);
    let bss = skel.bss().read();
    let (mut sa, mut sb, mut sc, mut se) = (0i64, 0i64, 0u64, 0i64);
    for i in 0..5 {
        let (a, b, buf) = args(i);
        sa += i64::from(a);
        sb += b;
        sc = sc.wrapping_add(buf[1] as u64);
        se += i64::from(buf[0] as i16);
    }
    assert_eq!(bss.hits, 5);
    assert_eq!(bss.sum_a, sa);
    assert_eq!(bss.sum_b, sb);
    assert_eq!(bss.sum_c, sc);
    assert_eq!(bss.sum_d, 25);
    assert_eq!(bss.sum_e, se);
    assert_eq!(bss.arg_cnt, 5);
    assert_eq!(bss.cookie, 0xc00c1e);
    assert_eq!(
        bss.err,
        -i64::from(libc::ENOENT),
        "bpf_usdt_arg past the last"
    );

    drop(links);
    assert_eq!(LSKEL_HIT_SEMAPHORE.load(Ordering::Relaxed), 0, "detached");
    fire(3);
    assert_eq!(skel.bss().hits(), 5, "detached");

    // Again for this process only, with another cookie: the freed spec id is reused.
    let links = manager
        .attach(
            prog,
            Some(std::process::id() as i32),
            &exe,
            "lskel",
            "hit",
            7,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(links.spec_ids(), &[0]);
    fire(2);
    assert_eq!(skel.bss().hits(), 7);
    assert_eq!(skel.bss().cookie(), 7);
    drop(links);

    // The one-shot function.
    let links = lskel::attach_usdt(
        prog,
        skel.maps().__bpf_usdt_specs().fd(),
        None,
        &exe,
        "lskel",
        "hit",
        9,
    )
    .unwrap();
    fire(1);
    assert_eq!(skel.bss().hits(), 8);
    assert_eq!(skel.bss().cookie(), 9);
    drop(links);
}
