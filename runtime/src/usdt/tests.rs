use super::*;

fn a(t: UsdtArgType, val_off: i64, reg_off: i16, signed: bool, shift: i8) -> UsdtArgSpec {
    UsdtArgSpec {
        val_off: val_off as u64,
        arg_type: t,
        reg_off,
        arg_signed: signed,
        arg_bitshift: shift,
    }
}

#[test]
fn x86_64_arg_specs() {
    use UsdtArgType::*;
    let cases = [
        ("-4@%eax", a(Reg, 0, 80, true, 32)),
        ("8@-8(%rbp)", a(RegDeref, -8, 32, false, 0)),
        ("4@$5", a(Const, 5, 0, false, 32)),
        ("-8@%rdi", a(Reg, 0, 112, true, 0)),
        ("-4@$-9", a(Const, -9, 0, true, 32)),
        ("8@(%rsp)", a(RegDeref, 0, 152, false, 0)),
        ("1@%r8b", a(Reg, 0, 72, false, 56)),
        ("-2@0x10(%r15)", a(RegDeref, 16, 0, true, 48)),
        ("8@%rip", a(Reg, 0, 128, false, 0)),
    ];
    for (s, want) in cases {
        assert_eq!(parse_x86_64_arg(s).unwrap(), want, "{s}");
    }
    for bad in [
        "3@%eax",
        "4@%xyz",
        "4@",
        "eax",
        "1@-96(%rbp,%rax,8)",
        "4@8(%rax",
    ] {
        assert!(parse_x86_64_arg(bad).is_err(), "{bad}");
    }
    let spec = parse_x86_64_args("-4@%eax  8@-8(%rbp) 4@$5", 7).unwrap();
    assert_eq!(spec.args.len(), 3);
    assert!(parse_x86_64_args("", 0).unwrap().args.is_empty());
    let many = vec!["8@%rax"; 13].join(" ");
    assert!(parse_x86_64_args(&many, 0).is_err());
}

#[test]
fn spec_layout() {
    let spec = parse_x86_64_args("-4@%eax 8@-8(%rbp)", 0x1122).unwrap();
    let b = spec.to_bytes();
    assert_eq!(
        &b[0..16],
        &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 80, 0, 1, 32]
    );
    assert_eq!(&b[16..24], &(-8i64).to_le_bytes());
    assert_eq!(&b[24..32], &[2, 0, 0, 0, 32, 0, 0, 0]);
    assert_eq!(&b[192..200], &0x1122u64.to_le_bytes());
    assert_eq!(&b[200..202], &2i16.to_le_bytes());
    assert!(b[202..].iter().all(|&x| x == 0));
}

#[test]
fn notes_of_a_handmade_elf() {
    // A minimal ELF64: header, one PT_LOAD (r-x, vaddr 0x400000 at offset 0), sections:
    // null, .note.stapsdt, .shstrtab.
    let mut desc = Vec::new();
    for addr in [0x400123u64, 0, 0] {
        desc.extend_from_slice(&addr.to_le_bytes());
    }
    desc.extend_from_slice(b"prov\0probe\0-4@%eax\0");
    let mut note = Vec::new();
    note.extend_from_slice(&8u32.to_le_bytes());
    note.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    note.extend_from_slice(&3u32.to_le_bytes());
    note.extend_from_slice(b"stapsdt\0");
    note.extend_from_slice(&desc);
    while note.len() % 4 != 0 {
        note.push(0);
    }
    let shstr = b"\0.note.stapsdt\0.shstrtab\0";
    let mut f = vec![0u8; 64 + 56];
    let note_off = f.len() as u64;
    f.extend_from_slice(&note);
    let str_off = f.len() as u64;
    f.extend_from_slice(shstr);
    while f.len() % 8 != 0 {
        f.push(0);
    }
    let shoff = f.len() as u64;
    let mut sh = |name: u32, ty: u32, off: u64, size: u64| {
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&name.to_le_bytes());
        h[4..8].copy_from_slice(&ty.to_le_bytes());
        h[24..32].copy_from_slice(&off.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        f.extend_from_slice(&h);
    };
    sh(0, 0, 0, 0);
    sh(1, 7, note_off, note.len() as u64);
    sh(15, 3, str_off, shstr.len() as u64);
    f[..6].copy_from_slice(b"\x7fELF\x02\x01");
    f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
    f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
    f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
    f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    f[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
    let ph = 64;
    f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes()); // R+X
    f[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes()); // offset
    f[ph + 16..ph + 24].copy_from_slice(&0x400000u64.to_le_bytes()); // vaddr
    f[ph + 40..ph + 48].copy_from_slice(&0x1000u64.to_le_bytes()); // memsz

    let t = find_usdt_targets(&f, Some("prov"), Some("probe")).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].note.args, "-4@%eax");
    assert_eq!(t[0].offset, 0x1123);
    assert_eq!(t[0].sema_offset, 0);
    assert!(find_usdt_targets(&f, Some("prov"), Some("other"))
        .unwrap()
        .is_empty());
    assert!(find_usdt_targets(b"not an elf", None, None).is_err());
}
