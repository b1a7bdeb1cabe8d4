use super::*;

fn ext(name: &'static str, ty: KconfigType) -> KconfigExtern {
    KconfigExtern {
        name,
        offset: 0,
        ty,
        weak: false,
    }
}

/// Converts `value` for an extern of type `ty`; the bytes written or the error text.
fn conv(ty: KconfigType, value: &str) -> Result<Vec<u8>, String> {
    let e = ext("CONFIG_X", ty);
    let mut out = vec![0xaa; ty.size()];
    set_value(&e, &mut out, value.as_bytes())?;
    Ok(out)
}

const I8: KconfigType = KconfigType::Int {
    size: 1,
    signed: true,
};
const U8: KconfigType = KconfigType::Int {
    size: 1,
    signed: false,
};
const I16: KconfigType = KconfigType::Int {
    size: 2,
    signed: true,
};
const U16: KconfigType = KconfigType::Int {
    size: 2,
    signed: false,
};
const I32: KconfigType = KconfigType::Int {
    size: 4,
    signed: true,
};
const U32: KconfigType = KconfigType::Int {
    size: 4,
    signed: false,
};
const U64: KconfigType = KconfigType::Int {
    size: 8,
    signed: false,
};
const I64: KconfigType = KconfigType::Int {
    size: 8,
    signed: true,
};

#[test]
fn parse_lines() {
    assert_eq!(
        parse_line(b"CONFIG_BPF=y"),
        Ok(Line::Set {
            name: b"CONFIG_BPF",
            value: b"y"
        })
    );
    assert_eq!(
        parse_line(b"CONFIG_HOST=\"a=b\""),
        Ok(Line::Set {
            name: b"CONFIG_HOST",
            value: b"\"a=b\""
        })
    );
    assert_eq!(
        parse_line(b"# CONFIG_FOO is not set"),
        Ok(Line::NotSet {
            name: b"CONFIG_FOO"
        })
    );
    assert_eq!(
        parse_line(b"# Automatically generated file"),
        Ok(Line::Other)
    );
    assert_eq!(parse_line(b"#"), Ok(Line::Other));
    assert_eq!(parse_line(b""), Ok(Line::Other));
    assert_eq!(parse_line(b"  CONFIG_INDENTED"), Ok(Line::Other));
    assert_eq!(parse_line(b"CONFIG_NOSEP"), Err("no separator"));
    assert_eq!(parse_line(b"CONFIG_NOVALUE="), Err("no value"));
}

#[test]
fn parse_u64_like_strtoull() {
    assert_eq!(parse_u64(b"123"), Ok(123));
    assert_eq!(parse_u64(b"0x1f"), Ok(0x1f));
    assert_eq!(parse_u64(b"0X1F"), Ok(0x1f));
    assert_eq!(parse_u64(b"017"), Ok(0o17));
    assert_eq!(parse_u64(b"0"), Ok(0));
    assert_eq!(parse_u64(b" +5"), Ok(5));
    assert_eq!(parse_u64(b"-1"), Ok(u64::MAX));
    assert_eq!(parse_u64(b"18446744073709551615"), Ok(u64::MAX));
    assert_eq!(parse_u64(b"18446744073709551616"), Err("out of range"));
    assert_eq!(parse_u64(b"08"), Err("not an integer"));
    assert_eq!(parse_u64(b"0x"), Err("not an integer"));
    assert_eq!(parse_u64(b"12a"), Err("not an integer"));
    assert_eq!(parse_u64(b"-"), Err("not an integer"));
    assert_eq!(parse_u64(b"1 "), Err("not an integer"));
}

#[test]
fn tristate_letters() {
    use KconfigType::*;
    assert_eq!(conv(Bool, "y"), Ok(vec![1]));
    assert_eq!(conv(Bool, "n"), Ok(vec![0]));
    assert_eq!(
        conv(Bool, "m"),
        Err("value 'm' implies tristate or char type".into())
    );
    assert_eq!(conv(Tristate, "y"), Ok(TRI_YES.to_ne_bytes().to_vec()));
    assert_eq!(conv(Tristate, "m"), Ok(TRI_MODULE.to_ne_bytes().to_vec()));
    assert_eq!(conv(Tristate, "n"), Ok(TRI_NO.to_ne_bytes().to_vec()));
    assert_eq!(conv(Char, "y"), Ok(vec![b'y']));
    assert_eq!(conv(Char, "m"), Ok(vec![b'm']));
    assert_eq!(conv(U8, "n"), Ok(vec![b'n']));
    // Only the first letter counts, as in libbpf.
    assert_eq!(conv(Bool, "yes"), Ok(vec![1]));
    for ty in [I32, U64, Str { len: 4 }] {
        assert_eq!(
            conv(ty, "y"),
            Err("value 'y' implies bool, tristate, or char type".into())
        );
    }
}

#[test]
fn strings() {
    use KconfigType::*;
    assert_eq!(
        conv(Str { len: 8 }, "\"none\""),
        Ok(b"none\0\xaa\xaa\xaa".to_vec())
    );
    assert_eq!(conv(Str { len: 5 }, "\"none\""), Ok(b"none\0".to_vec()));
    // Too long: truncated to len - 1 bytes plus NUL.
    assert_eq!(conv(Str { len: 4 }, "\"none\""), Ok(b"non\0".to_vec()));
    assert_eq!(conv(Str { len: 1 }, "\"none\""), Ok(b"\0".to_vec()));
    assert_eq!(conv(Str { len: 3 }, "\"\""), Ok(b"\0\xaa\xaa".to_vec()));
    // Escapes are kept as written, as libbpf does.
    assert_eq!(
        conv(Str { len: 16 }, r#""a\"b\\c""#),
        Ok(b"a\\\"b\\\\c\0\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa".to_vec())
    );
    assert_eq!(
        conv(Str { len: 4 }, "\""),
        Err("invalid string config '\"'".into())
    );
    assert_eq!(
        conv(Str { len: 4 }, "\"abc"),
        Err("invalid string config '\"abc'".into())
    );
    for ty in [Bool, Tristate, Char, I32] {
        assert_eq!(
            conv(ty, "\"x\""),
            Err("value '\"x\"' implies char array type".into())
        );
    }
}

#[test]
fn numbers() {
    use KconfigType::*;
    assert_eq!(conv(I32, "1000"), Ok(1000i32.to_ne_bytes().to_vec()));
    assert_eq!(conv(U32, "0x1f"), Ok(0x1fu32.to_ne_bytes().to_vec()));
    assert_eq!(conv(I32, "-1"), Ok((-1i32).to_ne_bytes().to_vec()));
    assert_eq!(conv(I16, "-32768"), Ok((-32768i16).to_ne_bytes().to_vec()));
    assert_eq!(
        conv(I16, "-32769"),
        Err("value '18446744073709518847' doesn't fit in 2 bytes".into())
    );
    assert_eq!(conv(I16, "32767"), Ok(32767i16.to_ne_bytes().to_vec()));
    assert!(conv(I16, "32768").is_err());
    assert_eq!(conv(U16, "65535"), Ok(65535u16.to_ne_bytes().to_vec()));
    assert_eq!(
        conv(U16, "65536"),
        Err("value '65536' doesn't fit in 2 bytes".into())
    );
    assert!(conv(U16, "-1").is_err());
    assert_eq!(conv(U64, "-1"), Ok(u64::MAX.to_ne_bytes().to_vec()));
    assert_eq!(
        conv(I64, "0xffffffffffffffff"),
        Ok(u64::MAX.to_ne_bytes().to_vec())
    );
    assert_eq!(conv(U32, "4294967295"), Ok(u32::MAX.to_ne_bytes().to_vec()));
    assert!(conv(U32, "4294967296").is_err());
    assert!(conv(I32, "2147483648").is_err());
    // Char is signed; Int of size 1 is a char of its own signedness.
    assert_eq!(conv(Char, "127"), Ok(vec![127]));
    assert!(conv(Char, "128").is_err());
    assert_eq!(conv(Char, "-128"), Ok(vec![0x80]));
    assert_eq!(conv(U8, "255"), Ok(vec![255]));
    assert!(conv(U8, "256").is_err());
    assert!(conv(I8, "128").is_err());
    // Numbers need an integer or char type.
    for ty in [Bool, Tristate, Str { len: 8 }] {
        assert_eq!(conv(ty, "1"), Err("value '1' implies integer type".into()));
    }
    assert_eq!(
        conv(I32, "12abc"),
        Err("value '12abc' isn't a valid integer (not an integer)".into())
    );
    assert!(conv(I32, "99999999999999999999").is_err());
}

#[test]
fn virtual_numbers() {
    use KconfigType::*;
    let mut b = [0u8; 1];
    assert_eq!(set_num(&ext("LINUX_B", Bool), &mut b, 1), Ok(()));
    assert_eq!(b, [1]);
    assert_eq!(
        set_num(&ext("LINUX_B", Bool), &mut b, 2),
        Err("value '2' isn't boolean compatible".into())
    );
    let mut t = [0u8; 4];
    assert_eq!(
        set_num(&ext("LINUX_T", Tristate), &mut t, 1),
        Err("value '1' implies integer, char, or boolean type".into())
    );
    assert_eq!(set_num(&ext("LINUX_U", U32), &mut t, 0x06_12_2c), Ok(()));
    assert_eq!(t, 0x06_12_2cu32.to_ne_bytes());
}

#[test]
fn kernel_versions_from_strings() {
    assert_eq!(
        kernel_version_from_release("6.18.44-fc-v782"),
        Some(kernel_version_code(6, 18, 44))
    );
    assert_eq!(kernel_version_code(6, 18, 44), 0x06122c);
    assert_eq!(kernel_version_from_release("5.15.0"), Some(0x050f00));
    assert_eq!(kernel_version_from_release("4.19.300-1"), Some(0x0413ff));
    assert_eq!(kernel_version_from_release("5.10.255"), Some(0x050aff));
    assert_eq!(kernel_version_from_release("6.1.0-rc3+"), Some(0x060100));
    assert_eq!(kernel_version_from_release("6.18"), None);
    assert_eq!(kernel_version_from_release("6.18-rc1"), None);
    assert_eq!(kernel_version_from_release("v6.1.0"), None);
    assert_eq!(kernel_version_from_release(""), None);

    // Ubuntu: /proc/version_signature wins over uname.
    assert_eq!(
        kernel_version_from(
            Some("Ubuntu 5.4.0-12.15-generic 5.4.8\n"),
            "#13-Ubuntu SMP",
            "5.4.0-12-generic"
        ),
        kernel_version_code(5, 4, 8)
    );
    // Debian: uname -v.
    assert_eq!(
        kernel_version_from(
            None,
            "#1 SMP Debian 4.19.260-1 (2022-09-29)",
            "4.19.0-22-amd64"
        ),
        kernel_version_code(4, 19, 260)
    );
    // Debian with a patch level over 255 is clamped.
    assert_eq!(
        kernel_version_from(
            None,
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.300-1",
            "6.1.0-9-amd64"
        ),
        kernel_version_code(6, 1, 255)
    );
    // A version signature that does not parse falls through to Debian, then to the release.
    assert_eq!(
        kernel_version_from(Some("garbage"), "#1 SMP", "6.6.7-arch1"),
        kernel_version_code(6, 6, 7)
    );
    // "Debian" not followed by a version: not a Debian kernel.
    assert_eq!(
        kernel_version_from(None, "#1 SMP Debian", "6.6.7"),
        kernel_version_code(6, 6, 7)
    );
    assert_eq!(kernel_version_from(None, "#1", "garbage"), 0);
}

#[test]
fn kallsyms_lookup() {
    let text = b"ffffffff81000000 T _stext\n\
        ffffffff81234560 T __x64_sys_bpf\n\
        ffffffffc0000000 t __x64_sys_bpf_helper\t[some_mod]\n\
        0000000000000000 T __arm64_sys_bpf\t[a_module]\n";
    assert!(kallsyms_has(&text[..], "__x64_sys_bpf"));
    assert!(kallsyms_has(&text[..], "_stext"));
    assert!(!kallsyms_has(&text[..], "__x64_sys_bp"));
    assert!(!kallsyms_has(&text[..], "__arm64_sys_bpf"));
    assert!(!kallsyms_has(&b""[..], "__x64_sys_bpf"));
}

fn run(externs: &[KconfigExtern], size: usize, config: &str) -> Result<Vec<u8>> {
    let mut v = vec![0u8; size];
    fill_with_config(&mut v, externs, config.as_bytes())?;
    Ok(v)
}

fn kerr(r: Result<Vec<u8>>) -> (String, String) {
    match r {
        Err(Error::Kconfig { name, what }) => (name, what),
        other => panic!("expected a Kconfig error, got {other:?}"),
    }
}

#[test]
fn fill_from_a_config() {
    use KconfigType::*;
    let config = "\
# Automatically generated file; DO NOT EDIT.
CONFIG_BPF_SYSCALL=y
CONFIG_HZ=250
# CONFIG_FOO is not set
CONFIG_DEFAULT_HOSTNAME=\"(none)\"
CONFIG_MOD=m
CONFIG_HZ=1000
CONFIG_OTHER=\"ignored, no extern\"
";
    let externs = [
        KconfigExtern {
            name: "CONFIG_BPF_SYSCALL",
            offset: 0,
            ty: Bool,
            weak: false,
        },
        KconfigExtern {
            name: "CONFIG_MOD",
            offset: 4,
            ty: Tristate,
            weak: false,
        },
        KconfigExtern {
            name: "CONFIG_HZ",
            offset: 8,
            ty: I32,
            weak: true,
        },
        KconfigExtern {
            name: "CONFIG_DEFAULT_HOSTNAME",
            offset: 12,
            ty: Str { len: 16 },
            weak: false,
        },
        KconfigExtern {
            name: "CONFIG_FOO",
            offset: 28,
            ty: Bool,
            weak: true,
        },
        KconfigExtern {
            name: "CONFIG_MISSING",
            offset: 32,
            ty: U64,
            weak: true,
        },
    ];
    let v = run(&externs, 40, config).unwrap();
    assert_eq!(v[0], 1);
    assert_eq!(v[4..8], TRI_MODULE.to_ne_bytes());
    // The first line for a name wins.
    assert_eq!(v[8..12], 250i32.to_ne_bytes());
    assert_eq!(&v[12..28], b"(none)\0\0\0\0\0\0\0\0\0\0");
    assert_eq!(v[28], 0);
    assert_eq!(v[32..40], [0; 8]);

    // Strong and not set, either by "is not set" or by absence.
    let strong = [KconfigExtern {
        name: "CONFIG_FOO",
        offset: 0,
        ty: Bool,
        weak: false,
    }];
    assert_eq!(
        kerr(run(&strong, 1, config)),
        (
            "CONFIG_FOO".into(),
            "not set in the given kernel config and not __weak".into()
        )
    );
    let strong = [KconfigExtern {
        name: "CONFIG_NOPE",
        offset: 0,
        ty: Bool,
        weak: false,
    }];
    assert_eq!(kerr(run(&strong, 1, config)).0, "CONFIG_NOPE");

    // A bad value names the extern, the value and the line.
    let bad = [KconfigExtern {
        name: "CONFIG_MOD",
        offset: 0,
        ty: Bool,
        weak: true,
    }];
    assert_eq!(
        kerr(run(&bad, 1, config)),
        (
            "CONFIG_MOD".into(),
            "value 'm' implies tristate or char type (line 6 of the given kernel config)".into()
        )
    );
    // A malformed CONFIG_ line fails the whole file, extern or not.
    let (name, what) = kerr(run(
        &externs[..1],
        1,
        "CONFIG_BPF_SYSCALL=y\nCONFIG_BROKEN\n",
    ));
    assert_eq!(name, "the given kernel config");
    assert!(
        what.contains("line 2") && what.contains("CONFIG_BROKEN") && what.contains("no separator"),
        "{what}"
    );
}

#[test]
fn fill_checks_layout_and_names() {
    use KconfigType::*;
    let e = [KconfigExtern {
        name: "CONFIG_X",
        offset: 2,
        ty: I32,
        weak: true,
    }];
    assert!(kerr(run(&e, 4, "")).1.contains("do not fit"));
    let e = [KconfigExtern {
        name: "CONFIG_X",
        offset: 0,
        ty: Int {
            size: 3,
            signed: false,
        },
        weak: true,
    }];
    assert!(kerr(run(&e, 4, "")).1.contains("integer size 3"));
    let e = [KconfigExtern {
        name: "CONFIG_X",
        offset: usize::MAX,
        ty: Bool,
        weak: true,
    }];
    assert!(kerr(run(&e, 4, "")).1.contains("do not fit"));
    // Unknown virtual externs: LINUX_* weak is 0, strong is an error; other prefixes always fail.
    let e = [KconfigExtern {
        name: "LINUX_UNKNOWN",
        offset: 0,
        ty: U32,
        weak: true,
    }];
    assert_eq!(run(&e, 4, "").unwrap(), [0; 4]);
    let e = [KconfigExtern {
        name: "LINUX_UNKNOWN",
        offset: 0,
        ty: U32,
        weak: false,
    }];
    assert_eq!(kerr(run(&e, 4, "")).0, "LINUX_UNKNOWN");
    let e = [KconfigExtern {
        name: "OTHER_THING",
        offset: 0,
        ty: U32,
        weak: true,
    }];
    assert_eq!(kerr(run(&e, 4, "")).0, "OTHER_THING");
    // Weak unknown LINUX_* of a non-numeric type: libbpf's set_kcfg_value_num refuses it.
    let e = [KconfigExtern {
        name: "LINUX_UNKNOWN",
        offset: 0,
        ty: Str { len: 4 },
        weak: true,
    }];
    assert_eq!(kerr(run(&e, 4, "")).0, "LINUX_UNKNOWN");
}

#[test]
fn parsed_config_indexes_first_lines_and_refuses_a_bad_line_anywhere() {
    let text =
        b"# c\nCONFIG_A=y\nCONFIG_B=\"x=y\"\nCONFIG_A=n\n# CONFIG_C is not set\nCONFIG_D=0x10"
            .to_vec();
    let c = ParsedConfig::parse(text, "t".into()).unwrap();
    assert_eq!(c.get("CONFIG_A"), Some((&b"y"[..], 2)));
    assert_eq!(c.get("CONFIG_B"), Some((&b"\"x=y\""[..], 3)));
    assert_eq!(c.get("CONFIG_D"), Some((&b"0x10"[..], 6)));
    assert_eq!(c.get("CONFIG_C"), None);
    let e = ParsedConfig::parse(b"CONFIG_A=y\nCONFIG_BAD\n".to_vec(), "t".into()).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}
