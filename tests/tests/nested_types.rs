//! nested_types.bpf.o: globals of anonymous struct, union and enum types nested in each other,
//! written through the names the skeleton gives them (`types::RodataCfg`,
//! `types::RodataCfgInner`, ...) and read back after the `copy_nested` syscall program copied
//! them into `.bss`.

use std::mem::{align_of, offset_of, size_of};

use lskel::Map;
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/nested_types.bpf.o");

use nested_types::types::{
    self, BssOut, DataBits, DataFooX, DataFooX2, DataFooX2Sub, DataState, DataStateGrid,
    DataStateGridPts, DataStatePair, DataStatePairVal, DataStateWord, DataStateWordHalf, RodataCfg,
    RodataCfgInner, RodataCfgRules, RodataCfgState, RodataCfgTag, SettingsAnon2, SettingsRange,
};

fn run(skel: &nested_types::Skel) -> BssOut {
    let prog = skel.progs().copy_nested().unwrap();
    assert_eq!(run_syscall_prog(prog, &mut []).unwrap(), 0);
    skel.bss().out()
}

#[test]
fn layouts_match_c() {
    // tests/bpf/README.md, nested_types.bpf.c; no kernel needed.
    assert_eq!(size_of::<RodataCfg>(), 64);
    assert_eq!(align_of::<RodataCfg>(), 8);
    assert_eq!(offset_of!(RodataCfg, inner), 8);
    assert_eq!(offset_of!(RodataCfg, tag), 24);
    assert_eq!(offset_of!(RodataCfg, rules), 28);
    assert_eq!(offset_of!(RodataCfg, state), 52);
    assert_eq!(offset_of!(RodataCfg, ptr), 56);
    assert_eq!(size_of::<RodataCfgInner>(), 16);
    assert_eq!(offset_of!(RodataCfgInner, flags), 2);
    assert_eq!(offset_of!(RodataCfgInner, limit), 8);
    assert_eq!(size_of::<RodataCfgTag>(), 4);
    assert_eq!(size_of::<[RodataCfgRules; 3]>(), 24);
    assert_eq!(size_of::<RodataCfgState>(), 4);
    assert_eq!(size_of::<types::settings>(), 16);
    assert_eq!(offset_of!(types::settings, range), 4);
    assert_eq!(offset_of!(types::settings, __anon_2), 8);
    assert_eq!(offset_of!(types::settings, prio), 12);
    assert_eq!(size_of::<SettingsRange>(), 4);
    assert_eq!(size_of::<SettingsAnon2>(), 4);
    assert_eq!(size_of::<nested_types::Rodata>(), 80);
    assert_eq!(offset_of!(nested_types::Rodata, defaults), 64);

    assert_eq!(size_of::<DataState>(), 32);
    assert_eq!(offset_of!(DataState, pair), 8);
    assert_eq!(offset_of!(DataState, word), 16);
    assert_eq!(offset_of!(DataState, grid), 24);
    assert_eq!(offset_of!(DataStatePair, val), 4);
    assert_eq!(size_of::<DataStatePairVal>(), 4);
    assert_eq!(size_of::<DataStateWord>(), 8);
    assert_eq!(offset_of!(DataStateWordHalf, hi), 4);
    assert_eq!(size_of::<DataStateGrid>(), 4);
    assert_eq!(size_of::<DataStateGridPts>(), 2);
    assert_eq!(size_of::<DataFooX>(), 4);
    assert_eq!(size_of::<DataBits>(), 8);
    assert_eq!(size_of::<types::pair_t>(), 8);
    assert_eq!(offset_of!(nested_types::Data, foo_x), 32);
    assert_eq!(offset_of!(nested_types::Data, bits), 40);
    assert_eq!(offset_of!(nested_types::Data, pairs), 48);
    assert_eq!(size_of::<nested_types::Data>(), 64);

    // `.data.foo` `x` derives the name `.data` `foo_x` already has: it is numbered.
    assert_eq!(size_of::<DataFooX2>(), 12);
    assert_eq!(offset_of!(DataFooX2, sub), 4);
    assert_eq!(offset_of!(DataFooX2Sub, d), 4);

    assert_eq!(size_of::<BssOut>(), 128);
    assert_eq!(offset_of!(BssOut, cfg), 8);
    assert_eq!(offset_of!(BssOut, rules_sum), 56);
    assert_eq!(offset_of!(BssOut, pairs_sum), 124);
}

#[test]
fn initial_values_are_typed() {
    let open = nested_types::open();
    let cfg: RodataCfg = open.rodata.cfg;
    assert_eq!(cfg.mode, 3);
    let inner: RodataCfgInner = cfg.inner;
    assert_eq!(
        (inner.port, inner.flags, inner.limit),
        (8080, 0x5a, 1 << 36)
    );
    let rules: Vec<(u32, i32)> = cfg.rules.iter().map(|r| (r.id, r.weight)).collect();
    assert_eq!(rules, [(1, 10), (2, -20), (3, 30)]);
    assert_eq!(cfg.state, types::CFG_ON);
    assert_eq!((types::CFG_OFF, types::CFG_ON, types::CFG_AUTO), (0, 5, 9));
    let ptr: u64 = cfg.ptr;
    assert_eq!(ptr, 0);

    let d = open.rodata.defaults;
    assert_eq!(d.level, 4);
    assert_eq!((d.range.lo, d.range.hi), (100, 200));
    assert_eq!(d.prio, types::PRIO_LOW);
    assert_eq!(types::PRIO_LOW, -2);
    assert_eq!(types::PRIO_HIGH, 7);

    let s = open.data.state;
    assert_eq!(s.count, 40);
    assert_eq!(s.pair.a, 7);
    let grid: Vec<(u8, u8)> = s
        .grid
        .iter()
        .flat_map(|g| g.pts.iter().map(|p| (p.x, p.y)))
        .collect();
    assert_eq!(grid, [(1, 2), (3, 4), (5, 6), (7, 8)]);
    assert_eq!(open.data.foo_x.a, 11);
    let pairs: Vec<(u32, u32)> = open.data.pairs.iter().map(|p| (p.k, p.v)).collect();
    assert_eq!(pairs, [(1, 2), (3, 4)]);
    let x = open.data_foo.x;
    assert_eq!((x.b, x.sub.c, x.sub.d), (22, 33, 44));
    assert_eq!(open.bss.out.runs, 0);
}

/// `out.tag.word` as the kernel holds it: read through the map API, since reading a union
/// field in Rust needs `unsafe`.
fn out_tag_word(skel: &nested_types::Skel) -> u32 {
    let bss = Map::new(skel.maps().bss().fd()).unwrap();
    let value = bss.get(&0u32.to_ne_bytes()).unwrap().unwrap();
    let off = offset_of!(nested_types::Bss, out) + offset_of!(BssOut, tag);
    u32::from_ne_bytes(value[off..off + 4].try_into().unwrap())
}

#[test]
fn default_values_reach_the_program() {
    require_kernel!();
    let skel = nested_types::open().load().unwrap();
    let out = run(&skel);
    assert_eq!(out.runs, 1);
    assert_eq!(out.cfg.mode, 3);
    assert_eq!(out.cfg.port, 8080);
    assert_eq!(out.cfg.flags, 0x5a);
    assert_eq!(out.cfg.limit, 1 << 36);
    assert_eq!(out_tag_word(&skel), 0x0002_0001);
    let rules: Vec<(u32, i32)> = out.rules.iter().map(|r| (r.id, r.weight)).collect();
    assert_eq!(rules, [(1, 10), (2, -20), (3, 30)]);
    assert_eq!(out.rules_sum, 10 - 40 + 90);
    assert_eq!(out.state, 5);
    assert_eq!(out.level, 4);
    assert_eq!(out.range_sum, 300);
    assert_eq!(out.as_int, 0xaabb_ccdd);
    assert_eq!(out.prio, -2);
    assert_eq!(out.count, 41);
    assert_eq!(out.pair_a, 7);
    assert_eq!(out.pair_s_sum, -5 + 12);
    assert_eq!(out.word_hi, 0x2222_2222);
    assert_eq!(out.word_raw, 0x2222_2222_1111_1111);
    assert_eq!(out.grid_sum, 2 + 12 + 30 + 56);
    assert_eq!(out.foo_x_a, 11);
    assert_eq!(out.x_sum, 22 + 33 + 44);
    assert_eq!(out.bits_b7, 8);
    assert_eq!(out.pairs_sum, 2 + 12);
    assert_eq!(
        skel.data().state().count,
        41,
        ".data changed by the program"
    );
}

#[test]
fn values_set_before_load_through_the_generated_types_reach_the_program() {
    require_kernel!();
    let mut open = nested_types::open();
    // Whole values of the generated types, as a user builds them.
    let mut cfg: RodataCfg = open.rodata.cfg;
    cfg.mode = 9;
    cfg.inner = RodataCfgInner {
        port: 443,
        flags: 0x81,
        __pad_3: [0; 5],
        limit: 0xfeed_f00d_0000_0001,
    };
    cfg.tag = RodataCfgTag {
        halves: [0x1234, 0x5678],
    };
    cfg.rules = [
        RodataCfgRules { id: 4, weight: -1 },
        RodataCfgRules { id: 5, weight: 2 },
        RodataCfgRules { id: 6, weight: -3 },
    ];
    cfg.state = types::CFG_AUTO;
    open.rodata.cfg = cfg;
    open.rodata.defaults.level = 99;
    open.rodata.defaults.range = SettingsRange { lo: 1000, hi: 2000 };
    open.rodata.defaults.__anon_2 = SettingsAnon2 {
        as_bytes: [1, 2, 3, 4],
    };
    open.rodata.defaults.prio = types::PRIO_HIGH;

    let d = &mut open.data;
    d.state.count = 1000;
    d.state.pair = DataStatePair {
        a: 77,
        val: DataStatePairVal { s: [-300, -400] },
    };
    d.state.word = DataStateWord {
        half: DataStateWordHalf { lo: 5, hi: 6 },
    };
    d.state.grid[1].pts[0] = DataStateGridPts { x: 10, y: 20 };
    d.foo_x = DataFooX { a: 12345 };
    d.bits = DataBits {
        b: [0, 0, 0, 0, 0, 0, 0, 0xee],
    };
    d.pairs[1] = types::pair_t { k: 100, v: 7 };
    open.data_foo.x.sub = DataFooX2Sub {
        c: 1,
        __pad_1: [0; 3],
        d: 1_000_000,
    };

    let skel = open.load().unwrap();
    // The kernel's read-only copy holds the user's values.
    assert_eq!(skel.rodata().cfg.inner.port, 443);
    assert_eq!(skel.rodata().defaults.range.hi, 2000);

    let out = run(&skel);
    assert_eq!(out.cfg.mode, 9);
    assert_eq!(out.cfg.port, 443);
    assert_eq!(out.cfg.flags, 0x81);
    assert_eq!(out.cfg.limit, 0xfeed_f00d_0000_0001);
    assert_eq!(out_tag_word(&skel), 0x5678_1234);
    assert_eq!(out.rules_sum, -4 + 10 - 18);
    assert_eq!(out.rules[2].id, 6);
    assert_eq!(out.rules[2].weight, -3);
    assert_eq!(out.state, 9);
    assert_eq!(out.level, 99);
    assert_eq!(out.range_sum, 3000);
    assert_eq!(out.as_int, u32::from_ne_bytes([1, 2, 3, 4]));
    assert_eq!(out.prio, 7);
    assert_eq!(out.count, 1001);
    assert_eq!(out.pair_a, 77);
    assert_eq!(out.pair_s_sum, -700);
    assert_eq!(out.word_hi, 6);
    assert_eq!(out.word_raw, 6 << 32 | 5);
    assert_eq!(out.grid_sum, 2 + 12 + 200 + 56);
    assert_eq!(out.foo_x_a, 12345);
    assert_eq!(out.x_sum, 22 + 1 + 1_000_000);
    assert_eq!(out.bits_b7, 0xee);
    assert_eq!(out.pairs_sum, 2 + 700);
}

#[test]
fn mmap_writes_of_nested_values_are_seen_by_the_program() {
    require_kernel!();
    let skel = nested_types::open().load().unwrap();
    let mut state = skel.data().state();
    state.grid[0].pts[1] = DataStateGridPts { x: 9, y: 9 };
    state.word = DataStateWord { raw: u64::MAX };
    skel.data().set_state(state);
    let out = run(&skel);
    assert_eq!(out.grid_sum, 2 + 81 + 30 + 56);
    assert_eq!(out.word_hi, u32::MAX);
    assert_eq!(out.word_raw, u64::MAX);
    assert_eq!(run(&skel).runs, 2);
}
