//! Interpreter and mock-kernel checks on hand-assembled programs.

use lskel_emu::*;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (src << 4) | dst;
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

fn ld64(dst: u8, src: u8, imm: i32, imm2: i32) -> [[u8; 8]; 2] {
    [ins(0x18, dst, src, 0, imm), ins(0, 0, 0, 0, imm2)]
}

fn mov64(dst: u8, imm: i32) -> [u8; 8] {
    ins(0xb7, dst, 0, 0, imm)
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];

fn prog(parts: &[&[[u8; 8]]]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|p| p.iter().flatten().copied())
        .collect()
}

fn exec(insns: &[u8], blob: &[u8]) -> Result<i64, Error> {
    let mut k = MockKernel::new();
    let mut ctx = vec![0u8; 32];
    run(insns, blob, &mut ctx, &mut k).map(|o| o.retval)
}

/// `r0 = <a>; r1 = <b>; r0 <op>= r1; exit` for 64- and 32-bit ops.
fn alu(code: u8, off: i16, a: i64, b: i64) -> i64 {
    let [a0, a1] = ld64(0, 0, a as i32, (a >> 32) as i32);
    let [b0, b1] = ld64(1, 0, b as i32, (b >> 32) as i32);
    exec(
        &prog(&[&[a0, a1, b0, b1, ins(code, 0, 1, off, 0), EXIT]]),
        &[0; 8],
    )
    .unwrap()
}

#[test]
fn alu_semantics() {
    assert_eq!(alu(0x0f, 0, 5, 7), 12);
    assert_eq!(alu(0x1f, 0, 5, 7), -2);
    assert_eq!(alu(0x3f, 0, 7, 0), 0, "div by zero is 0");
    assert_eq!(alu(0x9f, 0, 7, 0), 7, "mod by zero keeps dst");
    assert_eq!(alu(0x3f, 1, -7, 2), -3, "sdiv");
    assert_eq!(alu(0x9f, 1, -7, 2), -1, "smod");
    assert_eq!(alu(0x3f, 1, i64::MIN, -1), i64::MIN, "sdiv overflow");
    assert_eq!(alu(0x3c, 1, -7, 2), 0xffff_fffd, "32-bit sdiv zero-extends");
    assert_eq!(
        alu(0x0c, 0, 0xffff_ffff, 1),
        0,
        "32-bit add wraps and zero-extends"
    );
    assert_eq!(alu(0xcf, 0, -16, 2), -4, "arsh");
    assert_eq!(alu(0x7f, 0, -16, 60), 0xf);
    // movsx
    assert_eq!(alu(0xbf, 8, 0, 0x80), -128);
    assert_eq!(alu(0xbf, 16, 0, 0x8000), -32768);
    assert_eq!(alu(0xbf, 32, 0, 0x8000_0000), -(1 << 31));
    assert_eq!(alu(0xbc, 8, 0, 0xff), 0xffff_ffff);
    // byte swaps
    let swap = |code: u8, imm: i32, v: i64| {
        let [a0, a1] = ld64(0, 0, v as i32, (v >> 32) as i32);
        exec(&prog(&[&[a0, a1, ins(code, 0, 0, 0, imm), EXIT]]), &[0; 8]).unwrap()
    };
    assert_eq!(swap(0xdc, 16, 0x1122_3344), 0x4433, "be16");
    assert_eq!(
        swap(0xd4, 32, 0x55_1122_3344),
        0x1122_3344,
        "le32 truncates"
    );
    assert_eq!(
        swap(0xd7, 64, 0x0102_0304_0506_0708),
        0x0807_0605_0403_0201,
        "bswap64"
    );
}

#[test]
fn jumps_memory_atomics() {
    // r0 = -1; if w0 s< 0 goto +1; exit; gotol +1; exit; r0 = 3; exit
    let p = prog(&[&[
        mov64(0, -1),
        ins(0xc6, 0, 0, 1, 0),
        EXIT,
        ins(0x06, 0, 0, 0, 1),
        EXIT,
        mov64(0, 3),
        EXIT,
    ]]);
    assert_eq!(exec(&p, &[0; 8]), Ok(3));
    // stack: *(u8 *)(r10 -1) = 0xff; r0 = *(s8 *)(r10 -1) (memsx)
    let p = prog(&[&[ins(0x72, 10, 0, -1, 0xff), ins(0x91, 0, 10, -1, 0), EXIT]]);
    assert_eq!(exec(&p, &[0; 8]), Ok(-1));
    // blob atomics: r1 = &blob; r2 = 5; lock *(u64 *)(r1 + 0) += r2 (fetch); r0 = r2 + *(r1)
    let [a, b] = ld64(1, 6, 0, 0);
    let p = prog(&[&[
        a,
        b,
        mov64(2, 5),
        ins(0xdb, 1, 2, 0, 0x01),
        ins(0x79, 0, 1, 0, 0),
        ins(0x0f, 0, 2, 0, 0),
        EXIT,
    ]]);
    assert_eq!(exec(&p, &10u64.to_le_bytes()), Ok(10 + 15));
    // cmpxchg: r0 = 10 (expected), r2 = 7 -> mem becomes 7, r0 = old (10)
    let p = prog(&[&[
        a,
        b,
        mov64(0, 10),
        mov64(2, 7),
        ins(0xdb, 1, 2, 0, 0xf1),
        ins(0x79, 3, 1, 0, 0),
        ins(0x0f, 0, 3, 0, 0),
        EXIT,
    ]]);
    assert_eq!(exec(&p, &10u64.to_le_bytes()), Ok(17));
}

#[test]
fn loader_bugs_are_errors_naming_the_insn() {
    // Out of the blob.
    let [a, b] = ld64(1, 6, 0, 4);
    let e = exec(&prog(&[&[a, b, ins(0x79, 0, 1, 0, 0), EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!((e.insn, e.kind), (Some(2), ErrorKind::Memory), "{e}");
    // Below the stack.
    let e = exec(&prog(&[&[ins(0x79, 0, 10, -520, 0), EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!((e.insn, e.kind), (Some(0), ErrorKind::Memory), "{e}");
    // An address in no region.
    let [a, b] = ld64(1, 0, 0x1000, 0);
    let e = exec(&prog(&[&[a, b, ins(0x7a, 1, 0, 0, 0), EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!((e.insn, e.kind), (Some(2), ErrorKind::Memory));
    // ld_imm64 past the blob.
    let [a, b] = ld64(1, 6, 0, 8);
    assert_eq!(
        exec(&prog(&[&[a, b, EXIT]]), &[0; 8]).unwrap_err().insn,
        Some(0)
    );
    // r1 after a helper call.
    let p = prog(&[&[mov64(1, 1), ins(0x85, 0, 0, 0, 168), EXIT]]);
    let e = exec(&p, &[0; 8]).unwrap_err();
    assert_eq!(
        (e.insn, e.kind),
        (Some(1), ErrorKind::Kernel),
        "closing stdio: {e}"
    );
    let p = prog(&[&[
        mov64(1, 99),
        ins(0x85, 0, 0, 0, 168),
        ins(0xbf, 0, 1, 0, 0),
        EXIT,
    ]]);
    let e = exec(&p, &[0; 8]).unwrap_err();
    assert_eq!((e.insn, e.kind), (Some(2), ErrorKind::Register), "{e}");
    // A loop.
    let e = exec(&prog(&[&[ins(0x05, 0, 0, -1, 0), EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    // Into the middle of an ld_imm64.
    let [a, b] = ld64(0, 0, 1, 0);
    let e = exec(&prog(&[&[ins(0x05, 0, 0, 1, 0), a, b, EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!((e.insn, e.kind), (Some(2), ErrorKind::Insn));
    // Unknown helper; falling off the end.
    assert_eq!(
        exec(&prog(&[&[ins(0x85, 0, 0, 0, 1), EXIT]]), &[0; 8])
            .unwrap_err()
            .kind,
        ErrorKind::Helper
    );
    assert_eq!(
        exec(&prog(&[&[mov64(0, 0)]]), &[0; 8]).unwrap_err().kind,
        ErrorKind::Insn
    );
}

/// A 72-byte MAP_CREATE attr at blob offset 0.
fn array_attr(name: &[u8]) -> Vec<u8> {
    let mut a = vec![0u8; 72];
    a[0..4].copy_from_slice(&2u32.to_le_bytes());
    a[4..8].copy_from_slice(&4u32.to_le_bytes());
    a[8..12].copy_from_slice(&8u32.to_le_bytes());
    a[12..16].copy_from_slice(&1u32.to_le_bytes());
    a[28..28 + name.len()].copy_from_slice(name);
    a
}

/// `r0 = sys_bpf(cmd, &blob[0], size); exit`
fn sys_bpf_prog(cmd: i32, size: i32) -> Vec<u8> {
    let [a, b] = ld64(2, 6, 0, 0);
    prog(&[&[
        mov64(1, cmd),
        a,
        b,
        mov64(3, size),
        ins(0x85, 0, 0, 0, 166),
        EXIT,
    ]])
}

#[test]
fn mock_kernel_checks() {
    let mut k = MockKernel::new();
    let mut ctx = vec![0u8; 32];
    let out = run(
        &sys_bpf_prog(0, 72),
        &array_attr(b"good.name"),
        &mut ctx,
        &mut k,
    )
    .unwrap();
    assert_eq!(out.retval, 3);
    assert_eq!(k.map(3).unwrap().name, "good.name");
    let out = run(
        &sys_bpf_prog(0, 72),
        &array_attr(b"bad-name"),
        &mut ctx,
        &mut k,
    )
    .unwrap();
    assert_eq!(out.retval, -i64::from(EINVAL));
    assert!(k.syscalls()[1]
        .refused
        .as_deref()
        .unwrap()
        .contains("invalid character"));
    // Non-zero bytes past the command's last field.
    let mut a = array_attr(b"x");
    a.resize(100, 0);
    a[99] = 1;
    let out = run(&sys_bpf_prog(0, 100), &a, &mut ctx, &mut k).unwrap();
    assert_eq!(out.retval, -i64::from(EINVAL));
    // Injection: second MAP_CREATE from now fails.
    k.fail_nth(Cmd::MapCreate, 5, ENOMEM);
    assert_eq!(
        run(&sys_bpf_prog(0, 72), &array_attr(b"a"), &mut ctx, &mut k)
            .unwrap()
            .retval,
        4
    );
    assert_eq!(
        run(&sys_bpf_prog(0, 72), &array_attr(b"a"), &mut ctx, &mut k)
            .unwrap()
            .retval,
        -i64::from(ENOMEM)
    );
    assert!(k.syscalls().last().unwrap().injected);
    // Attr beyond the blob.
    assert_eq!(
        run(&sys_bpf_prog(0, 80), &array_attr(b"a"), &mut ctx, &mut k)
            .unwrap_err()
            .kind,
        ErrorKind::Memory
    );
    assert_eq!(k.open_fds(), vec![3, 4]);
}

#[test]
fn prog_load_resolves_fd_array() {
    // blob: [0..8) fd_array (2 slots), [8..32) insns (ld_imm64 map_idx[1]; exit),
    // [32..36) license, [40..180) attr.
    let mut blob = vec![0u8; 184];
    let [m0, m1] = ld64(1, 5, 1, 0);
    blob[8..16].copy_from_slice(&m0);
    blob[16..24].copy_from_slice(&m1);
    blob[24..32].copy_from_slice(&EXIT);
    blob[32..36].copy_from_slice(b"GPL\0");
    let mut k = MockKernel::new();
    let mut ctx = vec![0u8; 32];
    assert_eq!(
        run(&sys_bpf_prog(0, 72), &array_attr(b"m"), &mut ctx, &mut k)
            .unwrap()
            .retval,
        3
    );
    let mut load = |fd: i32| {
        let lda = |dst, off| ld64(dst, 6, 0, off);
        let [a0, a1] = lda(1, 40);
        let [i0, i1] = lda(2, 8);
        let [l0, l1] = lda(3, 32);
        let [f0, f1] = lda(4, 0);
        let p = prog(&[&[
            a0,
            a1,
            ins(0x62, 1, 0, 0, 31), // prog_type = SYSCALL
            ins(0x62, 1, 0, 4, 3),  // insn_cnt = 3
            i0,
            i1,
            ins(0x7b, 1, 2, 8, 0), // insns
            l0,
            l1,
            ins(0x7b, 1, 3, 16, 0), // license
            f0,
            f1,
            ins(0x7b, 1, 4, 120, 0), // fd_array
            ins(0x62, 4, 0, 4, fd),  // fd_array[1] = fd
            mov64(1, 5),
            a0,
            a1,
            ins(0xbf, 2, 1, 0, 0),
            mov64(1, 5),
            mov64(3, 140),
            ins(0x85, 0, 0, 0, 166),
            EXIT,
        ]]);
        let mut ctx = vec![0u8; 32];
        run(&p, &blob, &mut ctx, &mut k).unwrap().retval
    };
    assert_eq!(load(3), 4);
    assert_eq!(load(42), -i64::from(EBADF));
    let last = k.syscalls().last().unwrap();
    assert_eq!(last.mem.fd_array.get(&1), Some(&42));
    assert_eq!(last.mem.license.as_deref(), Some("GPL"));
    assert!(
        last.refused
            .as_deref()
            .unwrap()
            .contains("fd_array[1] = 42"),
        "{last}"
    );
    let prog = k.prog(4).unwrap();
    assert_eq!(prog.maps, vec![(0, k.object_id(3).unwrap())]);
}

/// The kernel's rules for a syscall program's ctx (`syscall_prog_is_valid_access`, and
/// test_run's ctx size): every access size-aligned and inside the block given.
#[test]
fn ctx_accesses_follow_the_kernels_rules() {
    let ctx_run = |code: u8, off: i16, ctx_len: usize| {
        let mut k = MockKernel::new();
        let mut ctx = vec![0u8; ctx_len];
        // r0 = *(size *)(r1 + off); exit
        let insns = prog(&[&[ins(code, 0, 1, off, 0)], &[EXIT]]);
        run(&insns, &[0u8; 8], &mut ctx, &mut k).map(|o| o.retval)
    };
    const LDX_DW: u8 = 0x79;
    const LDX_W: u8 = 0x61;
    assert_eq!(ctx_run(LDX_DW, 8, 16).unwrap(), 0);
    assert_eq!(ctx_run(LDX_W, 12, 16).unwrap(), 0);
    // A u64 at a 4-aligned offset: what the kernel refused as
    // `invalid bpf_context access off=364 size=8`.
    let err = ctx_run(LDX_DW, 12, 32).unwrap_err().to_string();
    assert!(
        err.contains("invalid bpf_context access off=12 size=8"),
        "{err}"
    );
    assert!(err.contains("not aligned"), "{err}");
    // Beyond the ctx block handed to test_run.
    let err = ctx_run(LDX_W, 16, 16).unwrap_err().to_string();
    assert!(err.contains("out of bounds"), "{err}");
}

/// `bpf_loop(3, cb, 0, 0)` whose callback adds its index to a blob word and stops at index
/// `stop`; the program returns the iteration count bpf_loop gave, the word in r0's high half.
fn bpf_loop_run(stop: i32, cb_ret_when_stopping: i32) -> Result<i64, Error> {
    // main: r1 = 3; r2 = &cb; r3 = 0; r4 = 0; call bpf_loop; r6 = r0;
    //       r1 = &blob[0]; r0 = *(u64 *)(r1 + 0); r0 <<= 32; r0 |= r6; exit
    // cb:   r3 = &blob[0]; r4 = *(u64 *)(r3 + 0); r4 += r1; *(u64 *)(r3 + 0) = r4;
    //       r0 = 0; if r1 != stop goto +1; r0 = cb_ret; exit
    let [f0, f1] = ld64(2, 4, 11, 0); // cb (insn 13) = this ld_imm64 (insn 1) + 1 + 11
    let [b0, b1] = ld64(1, 6, 0, 0);
    let [c0, c1] = ld64(3, 6, 0, 0);
    let insns = prog(&[
        &[mov64(1, 3), f0, f1, mov64(3, 0), mov64(4, 0)],
        &[ins(0x85, 0, 0, 0, 181), ins(0xbf, 6, 0, 0, 0), b0, b1],
        &[
            ins(0x79, 0, 1, 0, 0),
            ins(0x67, 0, 0, 0, 32),
            ins(0x4f, 0, 6, 0, 0),
            EXIT,
        ],
        &[
            c0,
            c1,
            ins(0x79, 4, 3, 0, 0),
            ins(0x0f, 4, 1, 0, 0),
            ins(0x7b, 3, 4, 0, 0),
        ],
        &[
            mov64(0, 0),
            ins(0x55, 1, 0, 1, stop),
            mov64(0, cb_ret_when_stopping),
            EXIT,
        ],
    ]);
    exec(&insns, &[0; 8])
}

#[test]
fn bpf_loop_runs_the_callback_per_index_until_it_returns_1() {
    // All three iterations: indexes 0 + 1 + 2 = 3 summed, 3 iterations.
    assert_eq!(bpf_loop_run(-1, 1).unwrap(), (3 << 32) | 3);
    // Stopped at index 1: 0 + 1 summed, 2 iterations (the stopping one counts).
    assert_eq!(bpf_loop_run(1, 1).unwrap(), (1 << 32) | 2);
    // A callback may only return 0 or 1.
    let e = bpf_loop_run(1, 2).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Helper, "{e}");
}

/// `r1 = map_idx[0]; r0 = *(u64 *)(r1 + off); exit`, with the map hash `hash`.
fn map_sha_word(off: i16, hash: MapHash, blob: &[u8]) -> Result<i64, Error> {
    let [m0, m1] = ld64(1, 5, 0, 0);
    let insns = prog(&[&[m0, m1, ins(0x79, 0, 1, off, 0), EXIT]]);
    let opts = Options {
        map_hash: hash,
        ..Options::default()
    };
    let mut k = MockKernel::new();
    let mut ctx = vec![0u8; 32];
    run_with(&opts, &insns, blob, &mut ctx, &mut k).map(|o| o.retval)
}

#[test]
fn map_idx_reads_the_loader_maps_sha() {
    let blob = [1u8, 2, 3, 4, 5];
    let sha = map_sha256(&blob);
    // The kernel hashes the array's 8-byte element: the value padded with zeros.
    let mut padded = blob.to_vec();
    padded.resize(8, 0);
    assert_eq!(sha, map_sha256(&padded));
    assert_ne!(sha, [0; 32]);
    for w in 0..4 {
        let want = u64::from_le_bytes(sha[8 * w..8 * w + 8].try_into().unwrap()) as i64;
        let got = map_sha_word(8 * w as i16, MapHash::Hashed, &blob).unwrap();
        assert_eq!(got, want, "word {w}");
        assert_eq!(
            map_sha_word(8 * w as i16, MapHash::Unhashed, &blob).unwrap(),
            0
        );
    }
    let given = [0x11u8; 32];
    assert_eq!(
        map_sha_word(0, MapHash::Given(given), &blob).unwrap(),
        0x1111_1111_1111_1111
    );
    // Only `sha` is modeled; beyond it is an emulator error.
    let e = map_sha_word(32, MapHash::Hashed, &blob).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Memory, "{e}");
}

#[test]
fn map_idx_is_read_only_and_only_map_0() {
    // *(u64 *)(r1 + 0) = r1 with r1 = map_idx[0]
    let [m0, m1] = ld64(1, 5, 0, 0);
    let store = prog(&[&[m0, m1, ins(0x7b, 1, 1, 0, 0), mov64(0, 0), EXIT]]);
    let e = exec(&store, &[0; 8]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Memory, "{e}");
    assert!(e.msg.contains("read-only"), "{e}");
    let [m0, m1] = ld64(1, 5, 1, 0);
    let e = exec(&prog(&[&[m0, m1, mov64(0, 0), EXIT]]), &[0; 8]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Insn, "{e}");
}
