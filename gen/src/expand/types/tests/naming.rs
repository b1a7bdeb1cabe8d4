//! How types and sections are named.

use super::*;

#[test]
fn names() {
    assert_eq!(section_type_name(".bss").to_string(), "Bss");
    assert_eq!(section_type_name(".data.custom").to_string(), "DataCustom");
    assert_eq!(
        section_field_name(".rodata.custom").to_string(),
        "rodata_custom"
    );
    assert_eq!(ident("type").to_string(), "r#type");
    assert_eq!(ident("self").to_string(), "self_");
    assert_eq!(ident("dump_task.___fmt").to_string(), "dump_task____fmt");
}

#[test]
fn camel_case_of_c_names() {
    assert_eq!(camel_case("inner"), "Inner");
    assert_eq!(camel_case("foo_bar"), "FooBar");
    assert_eq!(camel_case("__anon_2"), "Anon2");
    assert_eq!(camel_case("RodataCfg"), "RodataCfg");
    assert_eq!(camel_case("ipv4_addr"), "Ipv4Addr");
    assert_eq!(camel_case("nested_t"), "NestedT");
    assert_eq!(camel_case("_"), "");
}

#[test]
fn anonymous_types_are_named_after_where_they_first_appear() {
    let (btf, sec) = rodata_btf(0);
    let names = TypeNames::new(&btf, &[(sec, ".rodata")]).unwrap();
    let name_of = |member_path: &[&str]| -> String {
        // Follow `cfg`'s type down the member path.
        let cfg = btf.get(sec).unwrap().secinfos().next().unwrap().0;
        let mut id = btf.get(cfg).unwrap().size_or_type;
        for m in member_path {
            let (t, _) = resolve(&btf, id).unwrap();
            let t = btf.get(t).unwrap();
            id = t
                .members()
                .find(|&(n, _, _)| btf.name(n).unwrap() == *m)
                .unwrap()
                .1;
        }
        let (mut t, _) = resolve(&btf, id).unwrap();
        while let Some((elem, _, _)) = btf.get(t).unwrap().array() {
            t = elem;
        }
        names.get(t).unwrap().to_string()
    };
    assert_eq!(name_of(&[]), "RodataCfg");
    assert_eq!(name_of(&["inner"]), "RodataCfgInner");
    assert_eq!(name_of(&["tag"]), "RodataCfgTag");
    assert_eq!(name_of(&["rules"]), "RodataCfgRules", "array element");
    assert_eq!(name_of(&["state"]), "RodataCfgState", "anonymous enum");
    assert_eq!(
        all_names(&btf, &[(sec, ".rodata")]),
        [
            "RodataCfg",
            "RodataCfgInner",
            "RodataCfgRules",
            "RodataCfgState",
            "RodataCfgTag",
            "SettingsAnon1",
            "SettingsRange",
            "pair_t",
            "settings",
        ],
        "C names kept, typedef names used, static variables left out, no BTF id anywhere"
    );
}

#[test]
fn names_do_not_depend_on_btf_ids() {
    let (a, sec_a) = rodata_btf(0);
    let (b, sec_b) = rodata_btf(5);
    assert_ne!(sec_a, sec_b);
    assert_eq!(
        all_names(&a, &[(sec_a, ".rodata")]),
        all_names(&b, &[(sec_b, ".rodata")])
    );
    // And the same object named twice gives the same names.
    assert_eq!(
        all_names(&a, &[(sec_a, ".rodata")]),
        all_names(&a, &[(sec_a, ".rodata")])
    );
}

#[test]
fn derived_names_are_numbered_only_on_a_real_clash() {
    let mut b = Builder::new();
    let u32_ = b.int("unsigned int", 4, false);
    // `.data` `foo_x` and `.data.foo` `x` both derive `DataFooX`.
    let t1 = b.record(kind::STRUCT, "", 4, &[("a", u32_, 0)]);
    let foo_x = b.var("foo_x", t1);
    let t2 = b.record(kind::STRUCT, "", 4, &[("b", u32_, 0)]);
    let x = b.var("x", t2);
    // `.data` `cfg` is anonymous, and a later variable's type is C's `struct DataCfg`: the
    // C name wins although the anonymous type comes first.
    let t3 = b.record(kind::STRUCT, "", 4, &[("c", u32_, 0)]);
    let cfg = b.var("cfg", t3);
    let t4 = b.record(kind::STRUCT, "DataCfg", 4, &[("d", u32_, 0)]);
    let other = b.var("other", t4);
    // Two C structs named `s` (objects linked from two sources), one named `u32`.
    let s1 = b.record(kind::STRUCT, "s", 4, &[("e", u32_, 0)]);
    let v1 = b.var("v1", s1);
    let s2 = b.record(kind::STRUCT, "s", 4, &[("f", u32_, 0)]);
    let v2 = b.var("v2", s2);
    let s3 = b.record(kind::STRUCT, "u32", 4, &[("g", u32_, 0)]);
    let v3 = b.var("v3", s3);
    // `.data` `solo` clashes with nothing.
    let t5 = b.record(kind::STRUCT, "", 4, &[("h", u32_, 0)]);
    let solo = b.var("solo", t5);
    let data = b.datasec(
        ".data",
        28,
        &[
            (foo_x, 0, 4),
            (cfg, 4, 4),
            (other, 8, 4),
            (v1, 12, 4),
            (v2, 16, 4),
            (v3, 20, 4),
            (solo, 24, 4),
        ],
    );
    let data_foo = b.datasec(".data.foo", 4, &[(x, 0, 4)]);
    let btf = b.build();
    let names = TypeNames::new(&btf, &[(data, ".data"), (data_foo, ".data.foo")]).unwrap();
    assert_eq!(names.get(t1), Some("DataFooX"));
    assert_eq!(names.get(t2), Some("DataFooX2"));
    assert_eq!(names.get(t4), Some("DataCfg"));
    assert_eq!(names.get(t3), Some("DataCfg2"));
    assert_eq!(names.get(s1), Some("s"));
    assert_eq!(names.get(s2), Some("s_2"));
    assert_eq!(
        names.get(s3),
        Some("u32_2"),
        "a primitive's name is never shadowed"
    );
    assert_eq!(names.get(t5), Some("DataSolo"));
    // The section order decides who is first.
    let names = TypeNames::new(&btf, &[(data_foo, ".data.foo"), (data, ".data")]).unwrap();
    assert_eq!(names.get(t2), Some("DataFooX"));
    assert_eq!(names.get(t1), Some("DataFooX2"));
}
