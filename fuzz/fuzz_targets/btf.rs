//! Arbitrary bytes as a `.BTF` section: `Btf::parse` must not panic, and whatever it accepts must
//! survive a `to_bytes` round trip: the serialized form re-parses to the same types and strings
//! and serializes to the same bytes again. Writing it as C (`vmlinux.h` style) must not panic
//! either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lskel_gen::btf::Btf;

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else {
        return;
    };
    let _ = lskel_gen::btf::cdump::dump_c(&btf);
    let bytes = btf.to_bytes();
    let again = match Btf::parse(&bytes) {
        Ok(b) => b,
        Err(e) => panic!("to_bytes output does not re-parse: {e}"),
    };
    assert_eq!(btf.len(), again.len(), "type count changed in the round trip");
    for id in btf.ids() {
        let (a, b) = (btf.get(id).unwrap(), again.get(id).unwrap());
        assert_eq!(a, b, "type [{id}] changed in the round trip");
        assert_eq!(
            btf.type_name(id).ok(),
            again.type_name(id).ok(),
            "name of type [{id}] changed in the round trip"
        );
    }
    assert_eq!(bytes, again.to_bytes(), "second serialization differs");
});
