//! Layouts the loader cannot encode are refused at generation time with `Error::Limit`, never
//! emitted as a loader the kernel then refuses. Objects with thousands of maps are built here:
//! a minimal ELF whose maps are `.data.*` sections (they need no BTF types), so nothing large is
//! committed.

use lskel_gen::{Error, Plan};

/// `Elf64_Shdr` fields of one section, with its contents.
struct Sec {
    name: String,
    sh_type: u32,
    flags: u64,
    link: u32,
    info: u32,
    entsize: u64,
    data: Vec<u8>,
}

/// A little-endian EM_BPF ET_REL object with a one-type `.BTF`, an empty symbol table and one
/// 4-byte `.data.m<i>` section per map.
fn many_data_maps(n: usize) -> Vec<u8> {
    const SHT_PROGBITS: u32 = 1;
    const SHT_SYMTAB: u32 = 2;
    const SHT_STRTAB: u32 = 3;
    const SHF_WRITE_ALLOC: u64 = 0x3;
    // `.BTF`: one type, `int` (the kernel refuses BTF without types).
    let mut btf = Vec::new();
    btf.extend_from_slice(&0xeb9f_u16.to_le_bytes()); // magic
    btf.extend_from_slice(&[1, 0]); // version, flags
    for v in [24u32, 0, 16, 16, 5] {
        // hdr_len, type_off, type_len, str_off, str_len
        btf.extend_from_slice(&v.to_le_bytes());
    }
    // BTF_KIND_INT `int`: name_off 1, info (kind 1 << 24), size 4, signed 32 bits.
    for v in [1u32, 1 << 24, 4, (1 << 24) | 32] {
        btf.extend_from_slice(&v.to_le_bytes());
    }
    btf.extend_from_slice(b"\0int\0");
    let mut secs = vec![
        Sec {
            name: ".strtab".into(),
            sh_type: SHT_STRTAB,
            flags: 0,
            link: 0,
            info: 0,
            entsize: 0,
            data: Vec::new(), // filled below
        },
        Sec {
            name: ".symtab".into(),
            sh_type: SHT_SYMTAB,
            flags: 0,
            link: 1,
            info: 1,
            entsize: 24,
            data: vec![0; 24], // the null symbol
        },
        Sec {
            name: ".BTF".into(),
            sh_type: SHT_PROGBITS,
            flags: 0,
            link: 0,
            info: 0,
            entsize: 0,
            data: btf,
        },
    ];
    for i in 0..n {
        secs.push(Sec {
            name: format!(".data.m{i}"),
            sh_type: SHT_PROGBITS,
            flags: SHF_WRITE_ALLOC,
            link: 0,
            info: 0,
            entsize: 0,
            data: (i as u32 + 1).to_le_bytes().to_vec(),
        });
    }
    let mut strtab = vec![0u8];
    let mut name_off = Vec::new();
    for s in &secs {
        name_off.push(strtab.len() as u32);
        strtab.extend_from_slice(s.name.as_bytes());
        strtab.push(0);
    }
    secs[0].data = strtab;

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &secs {
        out.resize(out.len().next_multiple_of(8), 0);
        offsets.push(out.len() as u64);
        out.extend_from_slice(&s.data);
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0; 64]); // section 0
    for (k, s) in secs.iter().enumerate() {
        out.extend_from_slice(&name_off[k].to_le_bytes());
        out.extend_from_slice(&s.sh_type.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // sh_addr
        out.extend_from_slice(&offsets[k].to_le_bytes());
        out.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&s.link.to_le_bytes());
        out.extend_from_slice(&s.info.to_le_bytes());
        out.extend_from_slice(&8u64.to_le_bytes()); // sh_addralign
        out.extend_from_slice(&s.entsize.to_le_bytes());
    }
    // ELF header: the section indexes above are shifted by the null section.
    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&(secs.len() as u16 + 1).to_le_bytes());
    h[62..64].copy_from_slice(&1u16.to_le_bytes()); // e_shstrndx
    out
}

fn limit_text(r: lskel_gen::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Limit { what }) => what,
        other => panic!("expected Error::Limit, got {other:?}"),
    }
}

#[test]
fn the_synthetic_object_is_what_it_claims() {
    let skel = lskel_gen::generate(&many_data_maps(3), "many").expect("3 maps");
    let names: Vec<&str> = skel.plan.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, [".data.m0", ".data.m1", ".data.m2"]);
    assert!(skel.plan.programs.is_empty());
}

#[test]
fn maps_up_to_the_ctx_offset_limit_generate() {
    // 682 maps: the status word lands at 24 + 48 * 682 = 32760, every ctx offset the loader
    // reads fits.
    let skel = lskel_gen::generate(&many_data_maps(682), "many").expect("682 maps fit");
    assert_eq!(skel.plan.maps.len(), 682);
    assert_eq!(skel.loader.ctx_size, 32776);
}

#[test]
fn too_many_maps_for_the_16_bit_ctx_offset_is_a_limit_error() {
    // 683 maps: the status word would be at 32808, which a 16-bit offset cannot reach (the
    // generator used to emit a negative offset such as `*(u32 *)(r6 - 32760)` and the kernel
    // refused the loader).
    let straight = lskel_gen::generate_with(
        &many_data_maps(683),
        "many",
        lskel_gen::LoaderKind::StraightLine,
    );
    let text = limit_text(straight);
    assert!(
        text.contains("for 683 maps and 0 programs puts its 4-byte status word at offset 32808"),
        "{text}"
    );
    assert!(text.contains("16-bit instruction offset"), "{text}");
    assert!(text.contains("at or below 32764 (over by 44)"), "{text}");
    assert!(
        Error::Limit { what: text.clone() }
            .to_string()
            .starts_with("limit exceeded: "),
        "{text}"
    );
}

#[test]
fn the_interpreter_reads_the_ctx_at_no_fixed_offset_so_takes_more_maps() {
    // Its ctx copy lives in the blob: only test_run's 65535-byte ctx bounds the object.
    let skel =
        lskel_gen::generate_with(&many_data_maps(1300), "many", lskel_gen::LoaderKind::Interp)
            .expect("1300 maps");
    assert!(skel.loader.ctx_area.is_some());
    let text = limit_text(lskel_gen::generate_with(
        &many_data_maps(1400),
        "many",
        lskel_gen::LoaderKind::Interp,
    ));
    assert!(text.contains("test_run accepts at most 65535"), "{text}");
}

#[test]
fn a_ctx_field_past_the_status_word_is_caught_by_the_emitter() {
    // The status word fits, the attach-target entry after it does not: the up-front check
    // passes and the emitter's checked path names the field that does not fit.
    let late = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/objects/late_target.bpf.o"),
    )
    .unwrap();
    let mut plan = Plan::build(&late, "late_target").unwrap();
    let n_progs = plan.programs.len();
    assert!(!plan.targets.is_empty());
    // status = 24 + 48 * n_maps + 4 * n_progs rounded up to 8, at most 32764; the target
    // entry follows the 16-byte trailer: its u64 name pointer, then its u32 name size.
    // Programs are added so that the status word lands close enough to the limit.
    let mut n_progs = n_progs;
    while (24 + 48 * 681 + 4 * n_progs).next_multiple_of(8) < 32752 {
        let mut p = plan.programs[n_progs - 1].clone();
        p.target = None;
        plan.programs.push(p);
        n_progs += 1;
    }
    let extra = plan.maps[0].clone();
    let n_maps = 681;
    let mut i = 0;
    while plan.maps.len() < n_maps {
        let mut m = extra.clone();
        m.name = format!("extra{i}");
        plan.maps.push(m);
        i += 1;
    }
    let status = (24 + 48 * n_maps + 4 * n_progs).next_multiple_of(8);
    assert!(status <= 32764 && status + 16 > 32767, "status at {status}");
    let text = limit_text(lskel_gen::loader::emit(&plan));
    assert!(
        text.starts_with(&format!(
            "ctx offset {} (`name` of attach-target entry #0 (program `late_tp`);",
            status + 16
        )),
        "{text}"
    );
    assert!(
        text.contains("does not fit the 16-bit instruction offset (max 32767), in loader step \"attach target of `late_tp`"),
        "{text}"
    );
}
