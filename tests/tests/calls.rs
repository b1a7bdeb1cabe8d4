//! calls.bpf.o: bpf-to-bpf calls (static, global, two levels deep), a `bpf_loop` callback, and the
//! same subprograms appended to a raw tracepoint program.

use std::sync::Mutex;
use std::time::Duration;

use lskel_tests::{getpid_syscalls, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/calls.bpf.o");

/// The raw_tp test counts every syscall of this process: keep the other tests of this file out of
/// its window.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `struct calc_args { u64 x; u32 n; u32 pad; }` (16 bytes).
fn calc_args(x: u64, n: u32) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..8].copy_from_slice(&x.to_ne_bytes());
    a[8..12].copy_from_slice(&n.to_ne_bytes());
    a
}

#[test]
fn calc_and_calc_fixed_give_the_expected_outputs() {
    require_kernel!();
    let _g = lock();
    let skel = calls::open().load().unwrap();
    assert_eq!(
        run_syscall_prog(skel.progs().calc().unwrap(), &mut calc_args(5, 10)).unwrap(),
        0
    );
    let b = skel.bss().read();
    assert_eq!(b.out_square, 25, "static call square(5)");
    assert_eq!(b.out_add, 15, "global call global_add(5, 10)");
    assert_eq!(b.out_nested, 12, "level1(5) -> level2(5): (5 + 1) * 2");
    assert_eq!(b.out_loop_ret, 10, "bpf_loop ran 10 iterations");
    assert_eq!(b.out_loop, 45, "sum_cb summed 0..=9");
    assert_eq!(b.global_calls, 1);
    assert_eq!(
        (b.fixed_square, b.fixed_add, b.fixed_nested),
        (0, 0, 0),
        "calc_fixed not run yet"
    );

    assert_eq!(
        run_syscall_prog(skel.progs().calc_fixed().unwrap(), &mut []).unwrap(),
        0
    );
    let b = skel.bss().read();
    assert_eq!((b.fixed_square, b.fixed_add, b.fixed_nested), (49, 17, 16));
    assert_eq!(
        b.global_calls, 2,
        "global_add's .bss counter is shared by both programs"
    );
    // calc's outputs are untouched by calc_fixed.
    assert_eq!((b.out_square, b.out_add, b.out_nested), (25, 15, 12));
    // No tracepoint attached: its outputs stay 0.
    assert_eq!((b.tp_hits, b.tp_nested), (0, 0));
}

#[test]
fn calc_with_other_inputs() {
    require_kernel!();
    let _g = lock();
    let skel = calls::open().load().unwrap();
    for (x, n) in [(0u64, 0u32), (1, 1), (1000, 100), (u32::MAX as u64, 3)] {
        run_syscall_prog(skel.progs().calc().unwrap(), &mut calc_args(x, n)).unwrap();
        let b = skel.bss().read();
        assert_eq!(b.out_square, x.wrapping_mul(x), "x={x}");
        assert_eq!(b.out_add, x + 10, "x={x}");
        assert_eq!(b.out_nested, (x + 1) * 2, "x={x}");
        assert_eq!(b.out_loop_ret, n as i32, "n={n}");
        assert_eq!(b.out_loop, (0..n as u64).sum::<u64>(), "n={n}");
    }
    assert_eq!(skel.bss().global_calls(), 4);
}

#[test]
fn bpf_loop_over_limit_returns_e2big() {
    require_kernel!();
    let _g = lock();
    let skel = calls::open().load().unwrap();
    run_syscall_prog(
        skel.progs().calc().unwrap(),
        &mut calc_args(2, (1 << 23) + 1),
    )
    .unwrap();
    let b = skel.bss().read();
    assert_eq!(b.out_loop_ret, -7);
    assert_eq!(b.out_loop, 0);
    assert_eq!(b.out_square, 4, "the rest of calc still ran");
}

#[test]
fn calc_accepts_the_12_byte_minimum_ctx() {
    require_kernel!();
    let _g = lock();
    let skel = calls::open().load().unwrap();
    let mut ctx = [0u8; 12];
    ctx.copy_from_slice(&calc_args(3, 4)[..12]);
    run_syscall_prog(skel.progs().calc().unwrap(), &mut ctx).unwrap();
    assert_eq!((skel.bss().out_square(), skel.bss().out_loop()), (9, 6));
    let err = run_syscall_prog(skel.progs().calc().unwrap(), &mut [0u8; 8]).unwrap_err();
    assert_eq!(err.errno(), Some(lskel::Errno::INVAL), "{err}");
}

#[test]
fn raw_tp_program_calls_subprograms() {
    require_kernel!();
    let _g = lock();
    let mut open = calls::open();
    open.rodata.target_pid = std::process::id() as i32;
    let skel = open.load().unwrap();
    assert_eq!(skel.rodata().target_pid, std::process::id() as i32);
    {
        let _link = lskel::attach_raw_tp(skel.progs().calls_tp().unwrap(), "sys_enter").unwrap();
        getpid_syscalls(50);
    }
    // The link is gone: let any run already in flight finish before reading.
    std::thread::sleep(Duration::from_millis(50));
    let b = skel.bss().read();
    assert!(b.tp_hits >= 50, "tp_hits = {}", b.tp_hits);
    assert_eq!(b.tp_nested, (b.tp_hits + 1) * 2, "level1(tp_hits)");
    assert_eq!(b.global_calls, b.tp_hits, "one global_add per hit");
    // Detached: further syscalls are not counted.
    getpid_syscalls(20);
    assert_eq!(skel.bss().tp_hits(), b.tp_hits);
}

/// The BTF the loader hands the kernel is trimmed to what it needs: the programs still carry
/// their func_info (one FUNC per function, subprograms included) and line_info, and the
/// `.bss` map its DATASEC value type.
#[test]
fn programs_keep_func_and_line_info_with_trimmed_btf() {
    require_kernel!();
    let skel = calls::open().load().unwrap();
    let calc = lskel::sys::bpf::prog_info(skel.progs().calc().unwrap()).unwrap();
    assert_ne!(calc.btf_id, 0, "calc is loaded with BTF");
    assert!(calc.nr_func_info >= 2, "calc and its subprograms: {calc:?}");
    assert!(calc.nr_line_info > 0, "calc keeps its line info: {calc:?}");
    let tp = lskel::sys::bpf::prog_info(skel.progs().calls_tp().unwrap()).unwrap();
    assert!(tp.nr_func_info >= 2 && tp.nr_line_info > 0, "{tp:?}");
    let bss = lskel::sys::bpf::map_info(skel.maps().bss().fd()).unwrap();
    assert_ne!(
        bss.btf_value_type_id, 0,
        "`.bss` keeps its DATASEC value type"
    );
}
