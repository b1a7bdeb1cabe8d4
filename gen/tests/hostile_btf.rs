//! Fixture objects whose `.BTF` is rewritten so that a type refers to itself (an array whose
//! element is itself, a struct holding an array of itself): generating and expanding them
//! must end in an error naming the type, not in a stack overflow.

use std::path::PathBuf;

use lskel_gen::btf::{kind, Btf};
use object::{Object, ObjectSection};

fn fixture(stem: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/bpf/{stem}.bpf.o"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `data` with its `.BTF` changed by `edit`, written back in place (same length).
fn with_btf(data: &[u8], edit: impl FnOnce(&mut Btf)) -> Vec<u8> {
    let file = object::File::parse(data).unwrap();
    let (off, len) = file
        .section_by_name(".BTF")
        .and_then(|s| s.file_range())
        .expect("a .BTF section");
    let (off, len) = (off as usize, len as usize);
    let mut btf = Btf::parse(&data[off..off + len]).unwrap();
    edit(&mut btf);
    let bytes = btf.to_bytes();
    assert_eq!(bytes.len(), len, "the rewritten .BTF keeps its length");
    let mut out = data.to_vec();
    out[off..off + len].copy_from_slice(&bytes);
    out
}

/// `lskel gen`: the skeleton, then its expansion to tokens.
fn generate_and_expand(data: &[u8]) -> Result<String, String> {
    let skel = lskel_gen::generate(data, "hostile").map_err(|e| e.to_string())?;
    let ident = lskel_gen::expand::types::ident("hostile");
    lskel_gen::expand::skeleton::expand(&skel, &ident, None)
        .map(|t| t.to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn a_kconfig_char_array_of_itself_is_an_error() {
    let data = with_btf(&fixture("kconfig"), |btf| {
        let var = btf.find("CONFIG_LOCALVERSION", kind::VAR).unwrap();
        let arr = btf
            .skip_mods_and_typedefs(btf.get(var).unwrap().size_or_type)
            .unwrap();
        let t = btf.get_mut(arr).unwrap();
        assert_eq!(t.kind(), kind::ARRAY);
        t.extra[0] = arr;
    });
    let e = lskel_gen::generate(&data, "hostile")
        .unwrap_err()
        .to_string();
    assert!(e.contains("(ARRAY `<anon>`) refers to itself"), "{e}");
    assert!(generate_and_expand(&data).is_err());
}

/// The type of global variable `name`, past typedefs and modifiers.
fn var_type(btf: &Btf, name: &str) -> u32 {
    let var = btf.find(name, kind::VAR).unwrap();
    btf.skip_mods_and_typedefs(btf.get(var).unwrap().size_or_type)
        .unwrap()
}

#[test]
fn a_global_array_of_itself_is_an_error() {
    // `__u32 data_arr[4]` in `.data` becomes an array of arrays of itself.
    let data = with_btf(&fixture("globals"), |btf| {
        let arr = var_type(btf, "data_arr");
        let t = btf.get_mut(arr).unwrap();
        assert_eq!(t.kind(), kind::ARRAY);
        t.extra[0] = arr;
    });
    let e = generate_and_expand(&data).unwrap_err();
    assert!(e.contains("(ARRAY `<anon>`) refers to itself"), "{e}");
}

#[test]
fn a_global_struct_holding_an_array_of_itself_is_an_error() {
    // `pair_t pairs[2]` in `.data`, `typedef struct { __u32 k; .. } pair_t`: member `k`
    // becomes a `pair_t[2]`, so the struct holds an array of itself through the typedef.
    let data = with_btf(&fixture("nested_types"), |btf| {
        let arr = var_type(btf, "pairs");
        let (elem, _, _) = btf.get(arr).unwrap().array().unwrap();
        let st = btf.skip_mods_and_typedefs(elem).unwrap();
        let t = btf.get_mut(st).unwrap();
        assert_eq!(t.kind(), kind::STRUCT);
        t.extra[1] = arr;
    });
    // Planning never looks inside the types of global data; the expansion does.
    assert!(lskel_gen::generate(&data, "hostile").is_ok());
    let e = generate_and_expand(&data).unwrap_err();
    assert!(e.contains("refers to itself"), "{e}");
}
