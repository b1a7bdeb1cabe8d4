//! Signed interpreter loaders in `lskel-emu`, with the loader map's `struct bpf_map.sha`
//! modeled ([`MapHash`]): the loader runs only on the blob it was signed with, once the
//! runtime froze and hashed the map; anything else returns `HASH_MISMATCH` before a single
//! `bpf(2)` command. Without ctx overrides, the map settings and initial values a caller
//! puts in the ctx change nothing.

mod common;

use common::*;
use lskel_abi::ctx::HASH_MISMATCH;
use lskel_emu::{
    ctx, ctx_map_fd, run_with, set_ctx_u32, set_ctx_u64, MapHash, MockKernel, Options, Outcome,
};
use lskel_gen::maps::{DataKind, MapOrigin};
use lskel_gen::{Plan, SignOptions, Skeleton};

const NO_OVERRIDES: SignOptions = SignOptions {
    ctx_overrides: false,
};
const OVERRIDES: SignOptions = SignOptions {
    ctx_overrides: true,
};

/// The signed skeleton of fixture `stem`, or `None` when `opts` refuse it.
fn signed(stem: &str, opts: SignOptions) -> Option<Fixture> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/bpf/{stem}.bpf.o"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plan = Plan::build(&data, stem).unwrap();
    let loader = lskel_gen::interp::emit_with(&plan, Some(opts)).ok()?;
    Some(Fixture {
        stem: stem.to_string(),
        skel: Skeleton { plan, loader },
    })
}

/// Every fixture's stem.
fn stems() -> Vec<String> {
    fixtures().into_iter().map(|f| f.stem).collect()
}

/// Runs `f`'s loader over `blob` with the map hash `hash`; reads the ctx area back into
/// `ctx` when the loader got past its check (as the runtime does after a run).
fn run_signed(
    f: &Fixture,
    blob: &[u8],
    hash: MapHash,
    k: &mut MockKernel,
    ctx: &mut [u8],
) -> Outcome {
    let opts = Options {
        map_hash: hash,
        ..Options::default()
    };
    let out = run_with(&opts, &f.skel.loader.insns, blob, ctx, k)
        .unwrap_or_else(|e| panic!("{}: emulator error: {e}", f.stem));
    if out.retval != i64::from(HASH_MISMATCH) {
        let area = f.skel.loader.ctx_area.unwrap() as usize;
        ctx.copy_from_slice(&out.blob[area..area + ctx.len()]);
    }
    out
}

#[test]
fn signed_loaders_run_on_the_hashed_blob_they_were_signed_with() {
    let mut loaded = 0;
    for stem in stems() {
        for opts in [NO_OVERRIDES, OVERRIDES] {
            let Some(f) = signed(&stem, opts) else {
                assert!(!opts.ctx_overrides, "{stem}: refused with overrides");
                continue;
            };
            let mut k = kernel_for(&f.skel, Home::Vmlinux);
            let mut ctx = fresh_ctx(&f);
            let out = run_signed(&f, &f.skel.loader.blob, MapHash::Hashed, &mut k, &mut ctx);
            assert_eq!(
                out.retval,
                0,
                "{stem} ({opts:?}): failed at {:?}\n{}",
                failed_step_text(&f, &ctx),
                syscall_list(&k)
            );
            assert_loaded(&f, &k, &ctx);
            loaded += 1;
        }
    }
    assert!(loaded > 60, "only {loaded} signed loads");
}

/// The loader stopped at its check: no `bpf(2)` command, no object, and the ctx (and blob)
/// as they were.
fn assert_stopped(
    f: &Fixture,
    what: &str,
    out: &Outcome,
    k: &MockKernel,
    ctx: &[u8],
    before: &[u8],
    blob: &[u8],
) {
    assert_eq!(out.retval, i64::from(HASH_MISMATCH), "{} {what}", f.stem);
    assert!(
        k.syscalls().is_empty(),
        "{} {what}:\n{}",
        f.stem,
        syscall_list(k)
    );
    assert!(k.objects().is_empty(), "{} {what}: objects made", f.stem);
    assert!(k.open_fds().is_empty(), "{} {what}: fds open", f.stem);
    assert!(ctx == before, "{} {what}: ctx written", f.stem);
    assert!(out.blob == blob, "{} {what}: blob written", f.stem);
}

#[test]
fn one_flipped_blob_byte_fails_the_hash_check() {
    for stem in ["counter", "kconfig", "mapinmap", "globals"] {
        let f = signed(stem, NO_OVERRIDES).unwrap();
        let blob = &f.skel.loader.blob;
        let (ops, n_ops) = f.skel.loader.ops.unwrap();
        let init = (f.skel.loader.data_init.iter()).flatten().next().copied();
        // The first byte (fd_array), an op of the table, an initial value, the last byte.
        let mut at = vec![0, ops as usize + 24 * (n_ops / 2) + 8, blob.len() - 1];
        at.extend(init.map(|v| v as usize));
        for at in at {
            let mut flipped = blob.clone();
            flipped[at] ^= 0x01;
            let mut k = kernel_for(&f.skel, Home::Vmlinux);
            let mut ctx = fresh_ctx(&f);
            let before = ctx.clone();
            // The runtime froze and hashed the map holding the flipped blob.
            let out = run_signed(&f, &flipped, MapHash::Hashed, &mut k, &mut ctx);
            assert_stopped(
                &f,
                &format!("byte {at:#x} flipped"),
                &out,
                &k,
                &ctx,
                &before,
                &flipped,
            );
        }
    }
}

#[test]
fn an_unhashed_or_otherwise_hashed_map_fails_the_hash_check() {
    let f = signed("counter", NO_OVERRIDES).unwrap();
    let blob = &f.skel.loader.blob;
    let mut other = lskel_emu::map_sha256(blob);
    other[31] ^= 0x80; // only the last of the four words differs
    for (what, hash) in [
        ("unhashed", MapHash::Unhashed),
        ("hash of other contents", MapHash::Given(other)),
    ] {
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        let mut ctx = fresh_ctx(&f);
        let before = ctx.clone();
        let out = run_signed(&f, blob, hash, &mut k, &mut ctx);
        assert_stopped(&f, what, &out, &k, &ctx, &before, blob);
    }
    // The kernel's hash is the generator's digest of the blob.
    assert_eq!(
        lskel_emu::map_sha256(blob),
        lskel_gen::sign::blob_sha256(blob)
    );
}

#[test]
fn unsigned_loaders_never_read_the_map_hash() {
    let f = fixture("counter");
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let mut ctx = fresh_ctx(&f);
    let out = run_signed(&f, &f.skel.loader.blob, MapHash::Unhashed, &mut k, &mut ctx);
    assert_eq!(out.retval, 0, "{}", syscall_list(&k));
}

/// What `hostile_ctx` asked for map `i`.
enum Asked {
    Nothing,
    /// These initial bytes.
    Value(Vec<u8>),
    /// 7 entries, `BPF_F_NO_PREALLOC` toggled.
    Shape,
}

/// A ctx asking for other initial values of `f`'s data maps and another shape of its hash
/// maps; `k` holds the user's values.
fn hostile_ctx(f: &Fixture, k: &mut MockKernel, ctx: &mut [u8]) -> Vec<Asked> {
    let mut asked = Vec::new();
    for (i, m) in f.skel.plan.maps.iter().enumerate() {
        asked.push(match m.origin {
            // A section that starts zeroed takes user values through its mmap, not the ctx.
            MapOrigin::Data { kind, .. } if kind != DataKind::Kconfig && !m.starts_zeroed() => {
                let bytes = vec![0xa5; m.value_size as usize];
                let addr = k.add_user_mem(&bytes);
                set_ctx_u64(ctx, lskel_gen::abi::ctx::map_initial_value(i), addr);
                Asked::Value(bytes)
            }
            MapOrigin::Btf { .. } if m.map_type == lskel_abi::map_type::HASH => {
                set_ctx_u32(ctx, lskel_gen::abi::ctx::map_max_entries(i), 7);
                set_ctx_u32(ctx, ctx::map_flags(i), m.map_flags ^ NO_PREALLOC);
                set_ctx_u32(ctx, ctx::map_set(i), lskel_gen::abi::ctx::set::MAP_FLAGS);
                Asked::Shape
            }
            _ => Asked::Nothing,
        });
    }
    asked
}

/// `BPF_F_NO_PREALLOC`
const NO_PREALLOC: u32 = 1;

#[test]
fn without_overrides_the_ctx_cannot_change_maps_or_initial_values() {
    let (mut values, mut shapes) = (0, 0);
    for stem in ["counter", "globals", "maps"] {
        for opts in [NO_OVERRIDES, OVERRIDES] {
            let f = signed(stem, opts).unwrap();
            let mut k = kernel_for(&f.skel, Home::Vmlinux);
            let mut ctx = fresh_ctx(&f);
            let asked = hostile_ctx(&f, &mut k, &mut ctx);
            let out = run_signed(&f, &f.skel.loader.blob, MapHash::Hashed, &mut k, &mut ctx);
            assert_eq!(
                out.retval,
                0,
                "{stem} ({opts:?}): failed at {:?}\n{}",
                failed_step_text(&f, &ctx),
                syscall_list(&k)
            );
            for (i, m) in f.skel.plan.maps.iter().enumerate() {
                let obj = k.map(ctx_map_fd(&ctx, i)).unwrap();
                let what = format!("{stem} ({opts:?}): `{}`", m.name);
                match (&m.origin, &asked[i]) {
                    (MapOrigin::Data { init, .. }, Asked::Value(user)) => {
                        let value = obj.entries.get(&0u32.to_le_bytes()[..]);
                        let mut want = init.clone();
                        want.resize(m.value_size as usize, 0);
                        let want = if opts.ctx_overrides { user } else { &want };
                        assert_eq!(value, Some(want), "{what}");
                        values += 1;
                    }
                    (_, Asked::Shape) => {
                        let want = if opts.ctx_overrides {
                            (7, m.map_flags ^ NO_PREALLOC)
                        } else {
                            (m.max_entries, m.map_flags)
                        };
                        assert_eq!((obj.max_entries, obj.map_flags), want, "{what}");
                        shapes += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(
        values >= 4 && shapes >= 4,
        "{values} values, {shapes} shapes checked"
    );
}
#[test]
fn without_overrides_a_map_to_reuse_is_not_taken() {
    let f = signed("counter", NO_OVERRIDES).unwrap();
    let mut k = kernel_for(&f.skel, Home::Vmlinux);
    let m = &f.skel.plan.maps[0];
    let theirs = k.add_map(lskel_emu::MapObject {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: 1,
        map_flags: m.map_flags,
        name: "theirs".into(),
        btf: None,
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        frozen: false,
        entries: Default::default(),
    });
    let mut ctx = fresh_ctx(&f);
    set_ctx_u32(&mut ctx, ctx::map_fd(0), theirs as u32);
    set_ctx_u32(&mut ctx, ctx::map_set(0), ctx::SET_REUSE);
    let out = run_signed(&f, &f.skel.loader.blob, MapHash::Hashed, &mut k, &mut ctx);
    assert_eq!(out.retval, 0, "{}", syscall_list(&k));
    let fd = ctx_map_fd(&ctx, 0);
    assert_ne!(fd, theirs, "the given map was used");
    let obj = k.map(fd).unwrap();
    assert_eq!(
        (obj.name.as_str(), obj.max_entries),
        (truncated(&m.kernel_name).as_str(), m.max_entries)
    );
}
