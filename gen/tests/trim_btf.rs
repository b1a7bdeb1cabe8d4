//! The BTF the loader hands the kernel ([`Plan::for_kernel`]) is smaller than the object's and
//! says the same things: every map key/value type, func_info FUNC and CO-RE root names the same
//! type (same kind, name and size) after renumbering, every line_info and CO-RE string reads the
//! same, and the trimmed BTF parses back.

mod common;

use common::*;
use lskel_gen::btf::Btf;
use lskel_gen::maps::MapDef;
use lskel_gen::reloc::Records;

fn words(r: &Records, at: usize) -> Vec<u32> {
    if (r.rec_size as usize) < at + 4 {
        return Vec::new();
    }
    r.bytes
        .chunks_exact(r.rec_size as usize)
        .map(|c| u32::from_le_bytes(c[at..at + 4].try_into().unwrap()))
        .collect()
}

/// Kind, name and size of type `id`: what must survive renumbering.
fn describe(btf: &Btf, id: u32) -> (u32, String, Option<u64>) {
    if id == 0 {
        return (0, String::new(), None);
    }
    let t = btf.get(id).unwrap();
    (
        t.kind(),
        btf.type_name(id).unwrap().to_string(),
        btf.size_of(id).ok(),
    )
}

fn maps_and_inner(maps: &[MapDef]) -> Vec<&MapDef> {
    let mut out = Vec::new();
    for m in maps {
        let mut m = m;
        out.push(m);
        while let Some(i) = m.inner.as_deref() {
            out.push(i);
            m = i;
        }
    }
    out
}

#[test]
fn trimmed_btf_says_the_same_things() {
    let mut shrank = 0;
    for f in fixtures() {
        let full = &f.skel.plan;
        let kern = full.for_kernel().unwrap();
        let back = Btf::parse(&kern.btf.to_bytes()).unwrap();
        assert_eq!(back.len(), kern.btf.len(), "{}", f.stem);
        let (a, b) = (full.btf.to_bytes().len(), kern.btf.to_bytes().len());
        assert!(b <= a, "{}: trimmed BTF grew: {a} -> {b}", f.stem);
        shrank += usize::from(b < a);
        for (m, k) in maps_and_inner(&full.maps)
            .into_iter()
            .zip(maps_and_inner(&kern.maps))
        {
            for (old, new) in [
                (m.btf_key_type_id, k.btf_key_type_id),
                (m.btf_value_type_id, k.btf_value_type_id),
            ] {
                assert_eq!(old == 0, new == 0, "{}: `{}`", f.stem, m.name);
                assert_eq!(
                    describe(&full.btf, old),
                    describe(&kern.btf, new),
                    "{}: `{}`",
                    f.stem,
                    m.name
                );
            }
        }
        for (p, q) in full.programs.iter().zip(&kern.programs) {
            let (l, k) = (&p.linked, &q.linked);
            let what = format!("{}: `{}`", f.stem, p.def.func.name);
            for (old, new) in words(&l.func_info, 4)
                .into_iter()
                .zip(words(&k.func_info, 4))
            {
                assert_eq!(describe(&full.btf, old), describe(&kern.btf, new), "{what}");
                assert_eq!(kern.btf.get(new).unwrap().kind(), 12, "{what}: a FUNC");
            }
            for (old, new) in words(&l.core_relos, 4)
                .into_iter()
                .zip(words(&k.core_relos, 4))
            {
                assert_eq!(describe(&full.btf, old), describe(&kern.btf, new), "{what}");
            }
            for at in [4, 8] {
                for (old, new) in words(&l.line_info, at)
                    .into_iter()
                    .zip(words(&k.line_info, at))
                {
                    assert_eq!(full.btf.name(old).unwrap(), kern.btf.name(new).unwrap());
                }
            }
            for (old, new) in words(&l.core_relos, 8)
                .into_iter()
                .zip(words(&k.core_relos, 8))
            {
                assert_eq!(full.btf.name(old).unwrap(), kern.btf.name(new).unwrap());
            }
            // Everything else in the records is untouched.
            assert_eq!(l.line_info.bytes.len(), k.line_info.bytes.len(), "{what}");
            assert_eq!(l.insns, k.insns, "{what}");
        }
    }
    assert!(shrank > 10, "only {shrank} fixtures lost BTF bytes");
}
