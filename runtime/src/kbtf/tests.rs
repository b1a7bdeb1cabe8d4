use super::*;

/// Builds BTF blobs type by type. Every type record is a run of u32 words, so the blob can be
/// written in either byte order.
struct Builder {
    words: Vec<u32>,
    strings: Vec<u8>,
    count: u32,
}

impl Builder {
    fn new() -> Self {
        Builder {
            words: Vec::new(),
            strings: vec![0],
            count: 0,
        }
    }

    fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn add(&mut self, name: &str, k: u8, flag: bool, vlen: u32, sz: u32, extra: &[u32]) -> u32 {
        let name_off = self.str(name);
        let info = (flag as u32) << 31 | (k as u32) << 24 | vlen;
        self.words.extend([name_off, info, sz]);
        self.words.extend_from_slice(extra);
        self.count += 1;
        self.count
    }

    fn int(&mut self, name: &str, size: u32) -> u32 {
        self.add(name, kind::INT, false, 0, size, &[size * 8])
    }
    fn ptr(&mut self, to: u32) -> u32 {
        self.add("", kind::PTR, false, 0, to, &[])
    }
    fn modifier(&mut self, k: u8, name: &str, to: u32) -> u32 {
        self.add(name, k, false, 0, to, &[])
    }
    fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.add("", kind::ARRAY, false, 0, 0, &[elem, index, n])
    }
    /// Members are (name, type, bit offset, bitfield bits); any bitfield sets kind_flag.
    fn composite(
        &mut self,
        k: u8,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let flag = members.iter().any(|m| m.3 != 0);
        let mut extra = Vec::new();
        for &(mname, ty, bit_off, bits) in members {
            let off = if flag { bits << 24 | bit_off } else { bit_off };
            extra.extend([self.str(mname), ty, off]);
        }
        self.add(name, k, flag, members.len() as u32, size, &extra)
    }
    fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite(kind::STRUCT, name, size, members)
    }
    fn func_proto(&mut self, ret: u32, params: &[u32]) -> u32 {
        let extra: Vec<u32> = params.iter().flat_map(|&p| [0, p]).collect();
        self.add(
            "",
            kind::FUNC_PROTO,
            false,
            params.len() as u32,
            ret,
            &extra,
        )
    }

    fn build(&self, big_endian: bool) -> Vec<u8> {
        let word = |w: u32| {
            if big_endian {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        };
        let type_len = self.words.len() as u32 * 4;
        let mut out = Vec::new();
        out.extend_from_slice(&if big_endian {
            MAGIC.to_be_bytes()
        } else {
            MAGIC.to_le_bytes()
        });
        out.extend([VERSION, 0]);
        for w in [
            HEADER_LEN as u32,
            0,
            type_len,
            type_len,
            self.strings.len() as u32,
        ] {
            out.extend(word(w));
        }
        for &w in &self.words {
            out.extend(word(w));
        }
        out.extend_from_slice(&self.strings);
        out
    }
}

/// A kernel-like BTF with `struct demo_ops` and its value type, plus one type of every kind.
fn demo_btf(big_endian: bool) -> Vec<u8> {
    let mut b = Builder::new();
    let uint = b.int("unsigned int", 4);
    let int = b.int("int", 4);
    let u8_ = b.int("unsigned char", 1);
    let u64_ = b.int("unsigned long long", 8);
    let char_ = b.int("char", 1);
    let u32_a = b.modifier(kind::TYPEDEF, "__u32", uint);
    let u32_b = b.modifier(kind::TYPEDEF, "u32", u32_a);
    let cu32 = b.modifier(kind::CONST, "", u32_b);
    let vcu32 = b.modifier(kind::VOLATILE, "", cu32);
    let sock = b.add("sock", kind::FWD, false, 0, 0, &[]);
    let sock_p = b.ptr(sock);
    let rsock_p = b.modifier(kind::RESTRICT, "", sock_p);
    let proto = b.func_proto(u32_b, &[rsock_p]);
    let fn_p = b.ptr(proto);
    let fn_t = b.modifier(kind::TYPEDEF, "ssthresh_fn", fn_p);
    let cfn_t = b.modifier(kind::CONST, "", fn_t);
    let tagged = b.modifier(kind::TYPE_TAG, "rcu", sock);
    let tagged_p = b.ptr(tagged);
    let void_p = b.ptr(0);
    let name_arr = b.array(char_, int, 16);
    let grid_row = b.array(vcu32, int, 3);
    let grid = b.array(grid_row, int, 2);
    let anon_u = b.composite(kind::UNION, "", 8, &[("a", u64_, 0, 0), ("b", uint, 0, 0)]);
    let one = b.str("ONE");
    let e = b.add("e", kind::ENUM, false, 1, 4, &[one, 1]);
    b.add("e64", kind::ENUM64, false, 1, 8, &[0, 1, 2]);
    let func = b.add("do_it", kind::FUNC, false, 0, proto, &[]);
    let var = b.add("a_var", kind::VAR, false, 0, u64_, &[1]);
    b.add(".data", kind::DATASEC, false, 1, 8, &[var, 0, 8]);
    b.add("double", kind::FLOAT, false, 0, 8, &[]);
    b.add("bpf_kfunc", kind::DECL_TAG, false, 0, func, &[u32::MAX]);
    // A look-alike that must not be picked: a FWD named like the value type.
    b.add("bpf_struct_ops_demo_ops", kind::FWD, false, 0, 0, &[]);
    let flags = b.strukt("demo_flags", 4, &[("lo", u8_, 0, 3), ("hi", uint, 3, 29)]);
    let demo = b.strukt(
        "demo_ops",
        104,
        &[
            ("ssthresh", cfn_t, 0, 0),   // 0, 8, func
            ("limit", vcu32, 64, 0),     // 8, 4
            ("mode", e, 96, 0),          // 12, 4
            ("name", name_arr, 128, 0),  // 16, 16
            ("owner", tagged_p, 256, 0), // 32, 8
            ("cookie", void_p, 320, 0),  // 40, 8
            ("grid", grid, 384, 0),      // 48, 24
            ("", anon_u, 576, 0),        // 72, 8
            ("flags", flags, 640, 0),    // 80, 4
            ("release", fn_p, 704, 0),   // 88, 8, func
            ("big", u64_, 768, 0),       // 96, 8
        ],
    );
    let common = b.strukt(
        "bpf_struct_ops_common_value",
        8,
        &[("refcnt", int, 0, 0), ("state", int, 32, 0)],
    );
    b.strukt(
        "bpf_struct_ops_demo_ops",
        192,
        &[("common", common, 0, 0), ("data", demo, 512, 0)],
    );
    // A struct with bitfield members (kind_flag set), declared after its value type.
    let bits = b.count + 2;
    b.strukt(
        "bpf_struct_ops_bits",
        16,
        &[("common", common, 0, 0), ("data", bits, 64, 0)],
    );
    b.strukt(
        "bits",
        8,
        &[
            ("on", uint, 0, 1),
            ("level", uint, 1, 7),
            ("word", uint, 32, 0),
        ],
    );
    b.build(big_endian)
}

fn member(name: &str, offset: usize, size: usize, is_func: bool, bits: u8) -> KernelMember {
    KernelMember {
        name: name.into(),
        offset,
        size,
        is_func,
        bitfield_bits: bits,
    }
}

fn what(e: Error) -> String {
    match e {
        Error::KernelBtf { what } => what,
        other => panic!("expected Error::KernelBtf, got {other:?}"),
    }
}

#[test]
fn demo_layout_resolves_chains_arrays_and_func_pointers() {
    for big_endian in [false, true] {
        let l = struct_ops_layout(&demo_btf(big_endian), "demo_ops").unwrap();
        assert_eq!((l.value_size, l.data_offset, l.struct_size), (192, 64, 104));
        assert_eq!(
            l.members,
            [
                member("ssthresh", 0, 8, true, 0),
                member("limit", 8, 4, false, 0),
                member("mode", 12, 4, false, 0),
                member("name", 16, 16, false, 0),
                member("owner", 32, 8, false, 0),
                member("cookie", 40, 8, false, 0),
                member("grid", 48, 24, false, 0),
                member("", 72, 8, false, 0),
                member("flags", 80, 4, false, 0),
                member("release", 88, 8, true, 0),
                member("big", 96, 8, false, 0),
            ],
            "big_endian {big_endian}"
        );
    }
}

#[test]
fn kind_flag_bitfield_offsets() {
    let l = struct_ops_layout(&demo_btf(false), "bits").unwrap();
    assert_eq!((l.value_size, l.data_offset), (16, 8));
    assert_eq!(
        l.members,
        [
            member("on", 0, 4, false, 1),
            member("level", 0, 4, false, 7),
            member("word", 4, 4, false, 0),
        ]
    );
}

#[test]
fn missing_types_are_named() {
    let btf = demo_btf(false);
    let e = what(struct_ops_layout(&btf, "nope").unwrap_err());
    assert_eq!(
        e,
        "the running kernel has no struct_ops type `bpf_struct_ops_nope` (is the subsystem \
         built in?)"
    );

    let mut b = Builder::new();
    let int = b.int("int", 4);
    b.strukt("bpf_struct_ops_x", 8, &[("common", int, 0, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(
        e.contains("`struct bpf_struct_ops_x` has no member `data`"),
        "{e}"
    );

    let mut b = Builder::new();
    let int = b.int("int", 4);
    let y = b.strukt("y", 4, &[("v", int, 0, 0)]);
    b.strukt("bpf_struct_ops_x", 8, &[("data", y, 0, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(e.contains("is not a `struct x`"), "{e}");
}

#[test]
fn truncated_input_is_an_error_at_every_length() {
    let btf = demo_btf(false);
    for len in 0..btf.len() {
        let r = struct_ops_layout(&btf[..len], "demo_ops");
        let e = what(r.unwrap_err());
        assert!(e.starts_with("malformed kernel BTF: "), "len {len}: {e}");
    }
}

#[test]
fn corrupt_input_never_panics() {
    let btf = demo_btf(false);
    let mut ok = 0;
    for at in 0..btf.len() {
        for flip in [0x01u8, 0x10, 0x80, 0xff] {
            let mut bad = btf.clone();
            bad[at] ^= flip;
            for name in ["demo_ops", "bits"] {
                if let Ok(l) = struct_ops_layout(&bad, name) {
                    ok += 1;
                    let _ = l.translate(&[], &[]);
                }
            }
        }
    }
    assert!(
        ok > 0,
        "some flips (in unused types and strings) must still parse"
    );
}

#[test]
fn corrupt_headers_and_types_are_described() {
    let good = demo_btf(false);
    let check = |bytes: &[u8], expect: &str| {
        let e = what(struct_ops_layout(bytes, "demo_ops").unwrap_err());
        assert!(e.contains(expect), "expected {expect:?} in {e:?}");
    };
    let mut bad = good.clone();
    bad[0] = 0;
    check(&bad, "bad magic");
    let mut bad = good.clone();
    bad[2] = 2;
    check(&bad, "version 2, expected 1");
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&bad, "header length");
    let mut bad = good.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&bad, "type section");
    let mut bad = good.clone();
    bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&bad, "string section");
    // The first type's kind byte (info's top byte, little-endian) set to 20.
    let mut bad = good.clone();
    bad[HEADER_LEN + 7] = 20;
    check(&bad, "type id 1 (at byte 0) has unknown kind 20");

    // A typedef that names itself, used by a member.
    let mut b = Builder::new();
    let looped = b.modifier(kind::TYPEDEF, "loop", 1);
    let st = b.strukt("x", 8, &[("m", looped, 0, 0)]);
    b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(e.contains("longer than 32 (a loop?)"), "{e}");

    // An array whose size overflows.
    let mut b = Builder::new();
    let u64_ = b.int("u64", 8);
    let a = b.array(u64_, u64_, u32::MAX);
    let aa = b.array(a, u64_, u32::MAX);
    let st = b.strukt("x", 8, &[("m", aa, 0, 0)]);
    b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(e.contains("overflows"), "{e}");

    // A member whose type id does not exist; one of a FUNC_PROTO (no size).
    for ty in [99, 2] {
        let mut b = Builder::new();
        let int = b.int("int", 4);
        b.func_proto(int, &[]);
        let st = b.strukt("x", 8, &[("m", ty, 0, 0)]);
        b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
        let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
        let expect = if ty == 99 {
            "type id 99, which does not exist"
        } else {
            "FUNC_PROTO"
        };
        assert!(e.contains(expect), "{e}");
    }

    // A member past the end of its struct, and a struct past the end of the value.
    let mut b = Builder::new();
    let int = b.int("int", 4);
    let st = b.strukt("x", 4, &[("m", int, 32, 0)]);
    b.strukt("bpf_struct_ops_x", 8, &[("data", st, 0, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(e.contains("does not fit its 4-byte struct"), "{e}");
    let mut b = Builder::new();
    let int = b.int("int", 4);
    let st = b.strukt("x", 4, &[("m", int, 0, 0)]);
    b.strukt("bpf_struct_ops_x", 8, &[("data", st, 64, 0)]);
    let e = what(struct_ops_layout(&b.build(false), "x").unwrap_err());
    assert!(e.contains("does not fit in the 8-byte"), "{e}");
}

/// The object's view of `demo_ops`: an older header with other offsets and fewer members.
fn object_members() -> Vec<ObjectMember<'static>> {
    let m = |name, offset, size, is_func| ObjectMember {
        name,
        offset,
        size,
        is_func,
    };
    vec![
        m("release", 0, 8, true),
        m("name", 8, 16, false),
        m("limit", 24, 4, false),
        m("gone", 28, 4, false),
        m("ssthresh", 32, 8, true),
        m("gone_fn", 40, 8, true),
    ]
}

#[test]
fn translate_moves_members_to_kernel_offsets() {
    let l = struct_ops_layout(&demo_btf(false), "demo_ops").unwrap();
    let mut object = vec![0u8; 48];
    object[8..13].copy_from_slice(b"demo\0");
    object[24..28].copy_from_slice(&7u32.to_le_bytes());
    let v = l.translate(&object_members(), &object).unwrap();
    assert_eq!(v.value.len(), 192);
    assert_eq!(v.func_offsets, [Some(64 + 88), Some(64), None]);
    let mut expect = vec![0u8; 192];
    expect[64 + 16..64 + 21].copy_from_slice(b"demo\0");
    expect[64 + 8..64 + 12].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(v.value, expect);
}

#[test]
fn translate_refuses_what_the_kernel_cannot_take() {
    let l = struct_ops_layout(&demo_btf(false), "demo_ops").unwrap();
    let members = object_members();
    let mut object = vec![0u8; 48];
    object[28] = 1;
    let e = what(l.translate(&members, &object).unwrap_err());
    assert_eq!(
        e,
        "struct_ops `demo_ops`: the object sets member `gone`, which the running kernel's \
         `struct demo_ops` does not have"
    );

    let wrong_size = [ObjectMember {
        name: "limit",
        offset: 0,
        size: 8,
        is_func: false,
    }];
    let e = what(l.translate(&wrong_size, &[1; 8]).unwrap_err());
    assert!(
        e.contains("`limit` as 8 bytes, but the running kernel's is 4 bytes"),
        "{e}"
    );

    let data_over_func = [ObjectMember {
        name: "ssthresh",
        offset: 0,
        size: 8,
        is_func: false,
    }];
    let e = what(l.translate(&data_over_func, &[1; 8]).unwrap_err());
    assert!(e.contains("it is a function pointer"), "{e}");
    let func_over_data = [ObjectMember {
        name: "big",
        offset: 0,
        size: 8,
        is_func: true,
    }];
    let e = what(l.translate(&func_over_data, &[0; 8]).unwrap_err());
    assert!(
        e.contains("`big` is a function pointer in the object"),
        "{e}"
    );

    let outside = [ObjectMember {
        name: "limit",
        offset: 6,
        size: 4,
        is_func: false,
    }];
    let e = what(l.translate(&outside, &[0; 8]).unwrap_err());
    assert!(e.contains("lies outside its 8-byte struct"), "{e}");

    let bits = struct_ops_layout(&demo_btf(false), "bits").unwrap();
    let set_bitfield = [ObjectMember {
        name: "level",
        offset: 0,
        size: 4,
        is_func: false,
    }];
    let e = what(bits.translate(&set_bitfield, &[1, 0, 0, 0]).unwrap_err());
    assert!(e.contains("bitfield"), "{e}");
}

/// The real kernel's BTF, or `None` (with the reason printed) when it cannot be read and
/// `LSKEL_REQUIRE_KERNEL=1` is not set.
fn kernel_btf() -> Option<&'static [u8]> {
    match vmlinux_btf() {
        Ok(btf) => Some(btf),
        Err(e) if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") => {
            panic!("LSKEL_REQUIRE_KERNEL=1 but the kernel BTF is unreadable: {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

/// `(name, bit offset)` of each member of `struct name` as `bpftool btf dump file` prints it, or
/// `None` when bpftool cannot be run.
fn bpftool_members(name: &str) -> Option<Vec<(String, u32)>> {
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX_BTF_PATH])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => {
            eprintln!(
                "skipping the bpftool comparison: bpftool failed: {}",
                out.status
            );
            return None;
        }
        Err(e) => {
            eprintln!("skipping the bpftool comparison: cannot run bpftool: {e}");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out);
    let head = format!("] STRUCT '{name}' size=");
    let mut lines = text.lines().skip_while(|l| !l.contains(&head));
    assert!(
        lines.next().is_some(),
        "bpftool does not list struct {name}"
    );
    let members = lines
        .take_while(|l| l.starts_with('\t'))
        .map(|l| {
            let name = l.split('\'').nth(1).unwrap().to_owned();
            let bits = l.split("bits_offset=").nth(1).unwrap();
            let bits = bits.split_whitespace().next().unwrap().parse().unwrap();
            (name, bits)
        })
        .collect();
    Some(members)
}

fn assert_matches_bpftool(l: &StructOpsLayout) {
    let Some(expect) = bpftool_members(&l.struct_name) else {
        return;
    };
    let got: Vec<(String, u32)> = l
        .members
        .iter()
        .map(|m| (m.name.clone(), m.offset as u32 * 8))
        .collect();
    assert_eq!(got, expect, "members of struct {}", l.struct_name);
    eprintln!(
        "struct {}: {} members match bpftool",
        l.struct_name,
        got.len()
    );
}

#[test]
fn real_kernel_bpf_dummy_ops() {
    let Some(btf) = kernel_btf() else { return };
    let l = struct_ops_layout(btf, "bpf_dummy_ops").unwrap();
    assert_eq!((l.value_size, l.data_offset), (128, 64));
    assert_eq!(l.member("test_1"), Some(&member("test_1", 0, 8, true, 0)));
    assert_eq!(kernel_struct_ops_layout("bpf_dummy_ops").unwrap(), l);
    assert_matches_bpftool(&l);
}

#[test]
fn real_kernel_tcp_congestion_ops() {
    let Some(btf) = kernel_btf() else { return };
    let l = struct_ops_layout(btf, "tcp_congestion_ops").unwrap();
    assert_eq!((l.value_size, l.data_offset), (256, 64));
    assert_eq!(
        l.member("ssthresh"),
        Some(&member("ssthresh", 0, 8, true, 0))
    );
    assert_eq!(
        l.member("cong_avoid"),
        Some(&member("cong_avoid", 8, 8, true, 0))
    );
    assert_eq!(l.member("name"), Some(&member("name", 88, 16, false, 0)));
    assert!(!l.member("owner").unwrap().is_func);
    assert_matches_bpftool(&l);
}

#[test]
fn real_kernel_missing_struct_ops() {
    let Some(btf) = kernel_btf() else { return };
    let e = what(struct_ops_layout(btf, "foo").unwrap_err());
    assert_eq!(
        e,
        "the running kernel has no struct_ops type `bpf_struct_ops_foo` (is the subsystem \
         built in?)"
    );
}

/// Prints how long one lookup takes on the real kernel BTF (run with `--release --nocapture`).
#[test]
fn real_kernel_lookup_time() {
    let Some(btf) = kernel_btf() else { return };
    let rounds = 20;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        struct_ops_layout(btf, "tcp_congestion_ops").unwrap();
    }
    let each = start.elapsed() / rounds;
    let (parsed, _) = Btf::parse(btf, None).unwrap();
    eprintln!(
        "struct_ops_layout over {} bytes, {} types: {each:?} per lookup",
        btf.len(),
        parsed.offsets.len()
    );
}
