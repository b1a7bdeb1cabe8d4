//! What is defined, and how: nested definitions, enums, refused types, types beside the
//! global data, string accessors.

use super::*;

#[test]
fn nested_definitions_name_their_siblings_plainly() {
    let (btf, sec) = rodata_btf(0);
    let mut types = TypeGen::new(&btf, &[(sec, ".rodata")]).unwrap();
    let section = types
        .datasec_struct(sec, &section_type_name(".rodata"))
        .unwrap()
        .0
        .to_string();
    assert!(
        section.contains("pub cfg : types :: RodataCfg"),
        "{section}"
    );
    assert!(
        section.contains("pub defaults : types :: settings"),
        "{section}"
    );
    assert!(
        section.contains("pub pairs : [types :: pair_t ; 2]"),
        "{section}"
    );
    assert!(!section.contains("hidden"), "{section}");
    let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
    assert!(!defs.contains("types ::"), "inside `mod types`: {defs}");
    for field in [
        "pub inner : RodataCfgInner",
        "pub tag : RodataCfgTag",
        "pub rules : [RodataCfgRules ; 3]",
        "pub state : RodataCfgState",
        "pub ptr : u64",
        "pub range : SettingsRange",
        "pub __anon_1 : SettingsAnon1",
    ] {
        assert!(defs.contains(field), "{field} in {defs}");
    }
    assert!(defs.contains("pub union RodataCfgTag"), "{defs}");
    assert!(defs.contains("pub type RodataCfgState = u32 ;"), "{defs}");
    assert!(
        defs.contains("pub const CFG_ON : RodataCfgState = 5 ;"),
        "{defs}"
    );
    // Every definition is valid Rust.
    for d in types.definitions() {
        syn::parse2::<syn::File>(d.clone()).unwrap();
    }
    syn::parse_str::<syn::File>(&section).unwrap();
}

#[test]
fn enum_constants_keep_their_sign_and_fit_their_type() {
    let mut b = Builder::new();
    let signed = b.enumeration("prio", 4, true, &[("LOW", -2), ("HIGH", 7)]);
    let small = b.enumeration("", 1, false, &[("SMALL", 3), ("TOO_BIG", 300)]);
    let v1 = b.var("prio", signed);
    let v2 = b.var("small", small);
    let sec = b.datasec(".bss", 8, &[(v1, 0, 4), (v2, 4, 1)]);
    let btf = b.build();
    let mut types = TypeGen::new(&btf, &[(sec, ".bss")]).unwrap();
    let (section, vars) = types
        .datasec_struct(sec, &section_type_name(".bss"))
        .unwrap();
    let section = section.to_string();
    // Enums are integers: both get atomic accessors, typed by size and sign.
    let atomics: Vec<String> = vars
        .iter()
        .map(|v| {
            format!(
                "{}:{:?}",
                v.c_name,
                v.atomic.as_ref().map(|a| a.to_string())
            )
        })
        .collect();
    assert_eq!(
        atomics,
        ["prio:Some(\"AtomicI32\")", "small:Some(\"AtomicU8\")"]
    );
    assert!(section.contains("pub prio : types :: prio"), "{section}");
    assert!(
        section.contains("pub small : types :: BssSmall"),
        "{section}"
    );
    let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
    assert!(defs.contains("pub type prio = i32 ;"), "{defs}");
    assert!(defs.contains("pub const LOW : prio = - 2 ;"), "{defs}");
    assert!(defs.contains("pub const HIGH : prio = 7 ;"), "{defs}");
    assert!(defs.contains("pub type BssSmall = u8 ;"), "{defs}");
    assert!(defs.contains("pub const SMALL : BssSmall = 3 ;"), "{defs}");
    assert!(!defs.contains("TOO_BIG"), "300 does not fit a u8: {defs}");
}

/// `.data` holding `struct s { int x; struct s more[1]; } v`, the member an array of the
/// struct itself (hostile BTF): `(btf, datasec id)`.
fn self_holding_struct() -> (Btf, u32) {
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let s = int + 1;
    b.record(kind::STRUCT, "s", 8, &[("x", int, 0), ("more", s + 1, 4)]);
    b.array(s, int, 1);
    let v = b.var("v", s);
    let sec = b.datasec(".data", 8, &[(v, 0, 8)]);
    (b.build(), sec)
}

#[test]
fn a_struct_holding_itself_is_refused_not_overflowed() {
    let (btf, sec) = self_holding_struct();
    let mut gen = TypeGen::new(&btf, &[(sec, ".data")]).unwrap();
    let e = gen.contains_union(2).unwrap_err().to_string();
    assert!(e.contains("type [2] (STRUCT `s`) refers to itself"), "{e}");
    let e = gen
        .datasec_struct(sec, &ident("Data"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("refers to itself"), "{e}");
    let e = TypeGen::new(&btf, &[(sec, ".data")])
        .unwrap()
        .rust_type(2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("refers to itself"), "{e}");
}

#[test]
fn an_array_of_itself_or_a_typedef_loop_is_refused() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let arr = b.array(int + 1, int, 2); // [2]: an array of itself
    let td = b.typedef("loop_t", arr + 2); // [3] -> [4] -> [3]
    b.add("", kind::CONST, 0, td, vec![]);
    let v = b.var("a", arr);
    let w = b.var("t", td);
    let sec = b.datasec(".data", 16, &[(v, 0, 8), (w, 8, 4)]);
    let btf = b.build();
    let e = TypeNames::new(&btf, &[(sec, ".data")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("type [2] (ARRAY `<anon>`) refers to itself"),
        "{e}"
    );
    let mut gen = TypeGen {
        btf: &btf,
        names: TypeNames::default(),
        defined: HashMap::new(),
        consts: HashSet::new(),
        defs: Vec::new(),
        has_union: HashMap::new(),
        skipped: Vec::new(),
    };
    for id in [arr, td] {
        let e = gen.rust_type(id).unwrap_err().to_string();
        assert!(e.contains("refers to itself"), "[{id}]: {e}");
        let e = gen.contains_union(id).unwrap_err().to_string();
        assert!(e.contains("refers to itself"), "[{id}]: {e}");
    }
    let e = resolve(&btf, td).unwrap_err().to_string();
    assert!(
        e.contains("type [3] (TYPEDEF `loop_t`) refers to itself"),
        "{e}"
    );
}

/// `.bss` holding `struct used { u32 x; }`; beside it, types no global uses: `struct
/// event { u64 seq; char comm[16]; struct { u16 port; } inner; }`, a typedef'd anonymous
/// `evt_t`, `enum kind`, a bare anonymous struct, `struct loop_s` (holds itself) and
/// `struct odd` (a member of kind FUNC_PROTO).
fn extra_types_btf() -> (Btf, u32) {
    let mut b = Builder::new();
    let u32_ = b.int("unsigned int", 4, false);
    let u64_ = b.int("unsigned long long", 8, false);
    let u16_ = b.int("unsigned short", 2, false);
    let char_ = b.int("char", 1, true);
    let comm = b.array(char_, u32_, 16);
    let used = b.record(kind::STRUCT, "used", 4, &[("x", u32_, 0)]);
    let inner = b.record(kind::STRUCT, "", 2, &[("port", u16_, 0)]);
    b.record(
        kind::STRUCT,
        "event",
        32,
        &[("seq", u64_, 0), ("comm", comm, 8), ("inner", inner, 24)],
    );
    let anon = b.record(kind::STRUCT, "", 4, &[("a", u32_, 0)]);
    b.typedef("evt_t", anon);
    b.enumeration("kind", 4, false, &[("KIND_A", 1), ("KIND_B", 2)]);
    b.record(kind::STRUCT, "", 4, &[("nobody", u32_, 0)]);
    let loop_s = b.types.len() as u32 + 1;
    let arr = loop_s + 1;
    b.record(
        kind::STRUCT,
        "loop_s",
        8,
        &[("x", u32_, 0), ("more", arr, 4)],
    );
    b.array(loop_s, u32_, 1);
    let proto = b.add("", kind::FUNC_PROTO, 0, 0, vec![]);
    b.record(kind::STRUCT, "odd", 4, &[("f", proto, 0)]);
    let v = b.var("u", used);
    let sec = b.datasec(".bss", 4, &[(v, 0, 4)]);
    (b.build(), sec)
}

#[test]
fn every_named_type_is_generated_not_only_those_of_globals() {
    let (btf, sec) = extra_types_btf();
    let mut types = TypeGen::new(&btf, &[(sec, ".bss")]).unwrap();
    types.datasec_struct(sec, &ident("Bss")).unwrap();
    types.define_all().unwrap();
    let defs: String = types.definitions().iter().map(|d| d.to_string()).collect();
    for want in [
        "pub struct used",
        "pub struct event",
        "pub inner : EventInner",
        "pub struct EventInner",
        "pub struct evt_t",
        "pub type kind = u32 ;",
        "pub const KIND_B : kind = 2 ;",
        "pub fn from_bytes (bytes : & [u8])",
    ] {
        assert!(defs.contains(want), "{want} in {defs}");
    }
    assert!(!defs.contains("nobody"), "anonymous and unnamed: {defs}");
    assert!(
        !defs.contains("loop_s") && !defs.contains("struct odd"),
        "{defs}"
    );
    let skipped = types.skipped().join("\n");
    assert!(
        skipped.contains("`struct loop_s`: ") && skipped.contains("refers to itself"),
        "{skipped}"
    );
    assert!(
        skipped.contains("`struct odd`: member `f`: holds a type of BTF kind 13"),
        "{skipped}"
    );
    let doc = module_doc(types.skipped());
    assert!(
        doc.contains("Not generated") && doc.contains("- `struct odd`"),
        "{doc}"
    );
    for d in types.definitions() {
        syn::parse2::<syn::File>(d.clone()).unwrap();
    }
    // No skipped type: no "Not generated" list.
    assert!(!module_doc(&[]).contains("Not generated"));
}

#[test]
fn char_arrays_get_string_accessors_with_free_names() {
    let mut b = Builder::new();
    let u32_ = b.int("unsigned int", 4, false);
    let char_ = b.int("char", 1, true);
    // An unsigned char with the CHAR encoding counts; a plain unsigned char does not.
    let uchar = b.add("unsigned char", kind::INT, 0, 1, vec![(2 << 24) | 8]);
    let u8_ = b.int("unsigned char", 1, false);
    let c16 = b.array(char_, u32_, 16);
    let c8 = b.array(uchar, u32_, 8);
    let raw = b.array(u8_, u32_, 4);
    let row = b.array(char_, u32_, 3);
    let grid = b.array(row, u32_, 2);
    let ev = b.record(
        kind::STRUCT,
        "ev",
        40,
        &[
            ("comm", c16, 0),
            ("set_comm", c8, 16),
            ("raw", raw, 24),
            ("grid", grid, 28),
            ("n", u32_, 36),
        ],
    );
    // Packed (a u32 at offset 1): the accessors copy the array instead of borrowing it.
    let p = b.record(kind::STRUCT, "p", 9, &[("tag", c8, 0), ("v", u32_, 1)]);
    let un = b.record(kind::UNION, "un", 16, &[("name", c16, 0), ("v", u32_, 0)]);
    let _ = (ev, p, un);
    let btf = b.build();
    let mut types = TypeGen::new(&btf, &[]).unwrap();
    types.define_all().unwrap();
    let defs: Vec<String> = types.definitions().iter().map(|d| d.to_string()).collect();
    let def = |name: &str| -> &String {
        defs.iter()
            .find(|d| {
                d.contains(&format!("pub struct {name} "))
                    || d.contains(&format!("pub union {name} "))
            })
            .unwrap()
    };
    let ev = def("ev");
    for m in [
        "fn comm_str (& self) -> :: std :: borrow :: Cow < '_ , str >",
        "fn set_comm_str (& self)", // the getter of field `set_comm`
        "fn set_comm_str_ (& mut self , s : & str)", // the setter of `comm`, renamed
        "fn set_set_comm_str (& mut self , s : & str)",
        "__lskel :: c_chars_str (& self . comm)",
        "fn as_bytes (& self)",
        "unsafe impl __lskel :: PodBytes for ev",
    ] {
        assert!(ev.contains(m), "{m} in {ev}");
    }
    assert!(
        !ev.contains("raw_str") && !ev.contains("grid_str") && !ev.contains("n_str"),
        "{ev}"
    );
    let p = def("p");
    assert!(p.contains("repr (C , packed)"), "{p}");
    assert!(
        p.contains("let a = self . tag ;"),
        "copied out of the packed struct: {p}"
    );
    let un = def("un");
    assert!(
        un.contains("fn from_bytes") && !un.contains("as_bytes") && !un.contains("PodBytes"),
        "{un}"
    );
    assert!(
        !un.contains("name_str"),
        "union fields are not read safely: {un}"
    );
    for d in types.definitions() {
        syn::parse2::<syn::File>(d.clone()).unwrap();
    }
}
