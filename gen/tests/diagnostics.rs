//! One run reports every independent problem of an object: each bad map definition and each
//! program that cannot be linked, not only the first; follow-on errors are left out.

use lskel_gen::error::RelocError;
use lskel_gen::Error;

fn object(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../ui-tests/objects/{name}.bpf.o"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn bad_maps_and_bad_programs_are_reported_together() {
    let e = lskel_gen::generate(&object("several_problems"), "several_problems").unwrap_err();
    let all = e.diagnostics();
    assert_eq!(all.len(), 4, "{e}");
    let maps: Vec<&str> = (all.iter())
        .filter_map(|d| match d {
            Error::Map { map, .. } => Some(map.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(maps, ["painted", "pinned"]);
    let relocs: Vec<(&str, &RelocError)> = (all.iter())
        .filter_map(|d| match d {
            Error::Reloc { symbol, source, .. } => Some((symbol.as_str(), source)),
            _ => None,
        })
        .collect();
    let no_map = |value| RelocError::NoMapThere {
        section: ".foo".into(),
        value,
    };
    assert_eq!(relocs, [("odd", &no_map(0)), ("odder", &no_map(8))]);
    // `use_painted`'s reference to the bad map `painted` is not reported again.
    assert!(!e.to_string().contains("`painted`: it points"), "{e}");
    assert!(
        e.to_string().starts_with("4 problems:\n- map `painted`: "),
        "{e}"
    );
}

#[test]
fn a_single_problem_is_reported_as_before() {
    let e = lskel_gen::generate(&object("custom_data_section"), "x").unwrap_err();
    assert_eq!(e.diagnostics(), [&e]);
    assert_eq!(
        e.to_string(),
        "section `syscall`, instruction 0 (offset 0x0): relocation against `odd`: it points into section `.foo` at 0x0, which holds no map or global data lskel knows"
    );
    let std_source = std::error::Error::source(&e).map(|s| s.to_string());
    assert_eq!(
        std_source.as_deref(),
        Some("it points into section `.foo` at 0x0, which holds no map or global data lskel knows")
    );
}

#[test]
fn every_bad_extern_is_reported_and_their_uses_are_not() {
    let e = lskel_gen::generate(&object("plain_externs"), "plain_externs").unwrap_err();
    let names: Vec<&str> = (e.diagnostics().into_iter())
        .map(|d| match d {
            Error::Extern { name, .. } => name.as_str(),
            other => panic!("not an extern error: {other}"),
        })
        .collect();
    assert_eq!(names, ["foo", "bar"]);
    // The relocations reading them would say "undefined symbol ...": follow-ons, left out.
    assert!(!e.to_string().contains("undefined symbol"), "{e}");
}
