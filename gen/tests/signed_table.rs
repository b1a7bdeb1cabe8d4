//! The op table of a signed loader: without ctx overrides it reads none of the ctx fields a
//! caller could use to change what the signed programs see (map shapes, reused or inner maps,
//! initial values); with them it is the unsigned table, behind the hash check.

use std::ops::Range;
use std::path::{Path, PathBuf};

use lskel_abi::ctx;
use lskel_gen::interp::ops::{kind, Op, OP_SIZE};
use lskel_gen::maps::{DataKind, MapOrigin};
use lskel_gen::{Error, Loader, Plan, SignOptions};

const NO_OVERRIDES: SignOptions = SignOptions {
    ctx_overrides: false,
};
const OVERRIDES: SignOptions = SignOptions {
    ctx_overrides: true,
};

/// Every object of `tests/bpf` and `gen/tests/objects`, with its stem.
fn objects() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in [root.join("../tests/bpf"), root.join("tests/objects")] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
            .collect();
        paths.sort();
        for p in paths {
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let stem = file.split('.').next().unwrap().to_string();
            v.push((stem, std::fs::read(&p).unwrap()));
        }
    }
    assert!(v.len() > 40, "fixtures missing: {}", v.len());
    v
}

fn ops_of(loader: &Loader) -> Vec<Op> {
    let (off, n) = loader.ops.expect("an interpreter loader");
    let table = &loader.blob[off as usize..off as usize + n * OP_SIZE];
    table
        .chunks_exact(OP_SIZE)
        .map(|r| Op::decode(r).unwrap())
        .collect()
}

/// The blob ranges (in the loader's ctx area) of the ctx fields a loader without overrides
/// must not read, each with what it is.
fn forbidden(plan: &Plan, area: u32) -> Vec<(Range<u32>, String)> {
    use ctx::map as d;
    let mut v = Vec::new();
    for (i, map) in plan.maps.iter().enumerate() {
        let base = area + ctx::map_desc(i) as u32;
        let mut field = |off: usize, len: u32, what: &str| {
            let start = base + off as u32;
            v.push((start..start + len, format!("map `{}` {what}", map.name)));
        };
        field(d::FD, 4, "map_fd (a map to reuse)");
        field(d::MAX_ENTRIES, 4, "max_entries");
        if map.data_kind() != Some(DataKind::Kconfig) {
            field(d::INITIAL_VALUE, 8, "initial_value");
        }
        field(d::KEY_SIZE, 4, "key_size");
        if !matches!(map.origin, MapOrigin::StructOps(_)) {
            field(d::VALUE_SIZE, 4, "value_size");
        }
        field(d::MAP_FLAGS, 4, "map_flags");
        field(d::INNER_MAP_FD, 4, "inner_map_fd");
        field(d::MAP_EXTRA, 8, "map_extra");
    }
    v
}

/// The blob bytes `op` reads as a source (not as an attr or a destination).
fn read_range(op: &Op) -> Option<Range<u32>> {
    match op.kind {
        kind::COPY if op.flags & lskel_gen::interp::ops::flag::WIDE != 0 => Some(op.a..op.a + 8),
        kind::COPY | kind::JUMP => Some(op.a..op.a + 4),
        kind::READ => Some(op.a..op.a + 8),
        _ => None,
    }
}

#[test]
fn no_overrides_reads_no_override_field_of_the_ctx() {
    let mut checked = 0;
    for (stem, data) in objects() {
        let plan = Plan::build(&data, &stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let loader = match lskel_gen::interp::emit_with(&plan, Some(NO_OVERRIDES)) {
            Ok(l) => l,
            Err(Error::Map { map, what }) => {
                // Only a map-in-map the object gives no inner map is refused.
                let m = plan.maps.iter().find(|m| m.name == map).unwrap();
                assert!(
                    lskel_gen::maps::is_map_in_map(m.map_type) && m.inner.is_none(),
                    "{stem}: `{map}` refused: {what}"
                );
                assert!(what.contains("ctx_overrides"), "{stem}: {what}");
                continue;
            }
            Err(e) => panic!("{stem}: {e}"),
        };
        let bad = forbidden(&plan, loader.ctx_area.unwrap());
        for (n, op) in ops_of(&loader).iter().enumerate() {
            let Some(r) = read_range(op) else { continue };
            for (f, what) in &bad {
                assert!(
                    r.end <= f.start || f.end <= r.start,
                    "{stem}: op {n} ({op:?}) reads the ctx's {what}"
                );
            }
            if op.kind == kind::JUMP {
                assert_ne!(op.b, ctx::set::REUSE, "{stem}: op {n} tests the REUSE bit");
                assert_ne!(op.b, ctx::set::INNER_MAP, "{stem}: op {n} tests INNER_MAP");
            }
        }
        // The kconfig values still come from the ctx (the runtime computes them).
        for (i, map) in plan.maps.iter().enumerate() {
            if map.data_kind() == Some(DataKind::Kconfig) {
                let at = loader.ctx_area.unwrap() + ctx::map_initial_value(i) as u32;
                assert!(
                    ops_of(&loader)
                        .iter()
                        .any(|o| o.kind == kind::READ && o.a == at),
                    "{stem}: `.kconfig` is not read from the ctx"
                );
            }
        }
        checked += 1;
    }
    assert!(checked > 40, "only {checked} objects checked");
}

#[test]
fn no_overrides_refuses_a_map_in_map_without_inner_definition() {
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/objects/map_settings.bpf.o"),
    )
    .unwrap();
    let plan = Plan::build(&data, "map_settings").unwrap();
    let e = lskel_gen::interp::emit_with(&plan, Some(NO_OVERRIDES)).unwrap_err();
    assert!(
        matches!(&e, Error::Map { map, .. } if map == "outer"),
        "{e}"
    );
    assert!(e.to_string().contains("`outer`"), "{e}");
    // With overrides (and unsigned) the user gives the inner map at load time.
    lskel_gen::interp::emit_with(&plan, Some(OVERRIDES)).unwrap();
    lskel_gen::interp::emit(&plan).unwrap();
}

#[test]
fn overrides_give_the_unsigned_table_behind_the_check() {
    for (stem, data) in objects() {
        let plan = Plan::build(&data, &stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let unsigned = lskel_gen::interp::emit(&plan).unwrap();
        let signed = lskel_gen::interp::emit_with(&plan, Some(OVERRIDES)).unwrap();
        assert!(signed.blob == unsigned.blob, "{stem}: blobs differ");
        assert_eq!(signed.ops, unsigned.ops, "{stem}");
        assert_eq!(signed.steps, unsigned.steps, "{stem}");
        let (s, u) = (&signed.insns, &unsigned.insns);
        assert!(s.len() > u.len(), "{stem}: no check in front");
        assert!(
            s[s.len() - u.len()..] == u[..],
            "{stem}: the signed loader is not the check then the unsigned loader"
        );
        let fewer = lskel_gen::interp::emit_with(&plan, Some(NO_OVERRIDES));
        if let Ok(fewer) = fewer {
            assert!(
                ops_of(&fewer).len() <= ops_of(&signed).len(),
                "{stem}: no overrides gave more ops"
            );
        }
    }
}
