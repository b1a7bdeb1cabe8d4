//! The `vmlinux.h` lskel writes from the running kernel's BTF is a working substitute for
//! bpftool's: every BPF C fixture in tests/bpf compiles against it with clang, the layout of
//! every uniquely named struct and union matches BTF (sizes and member offsets checked by
//! `_Static_assert`), and, where bpftool is installed, the objects built with either header
//! have the same program and data sections byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lskel_gen::btf::{cdump, kind, Btf};

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

fn require() -> bool {
    std::env::var_os("LSKEL_REQUIRE_KERNEL").is_some_and(|v| v == "1")
}

/// `CLANG`, else the first of clang-19, clang that runs.
fn find_clang() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("CLANG") {
        Ok(c) => vec![c],
        Err(_) => vec!["clang-19".into(), "clang".into()],
    };
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn compile(clang: &str, include: &Path, src: &Path, obj: &Path) -> Result<(), String> {
    let mut cmd = Command::new(clang);
    cmd.args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        "-mcpu=v3",
        "-Wall",
    ])
    .arg("-I")
    .arg(include);
    let text = std::fs::read_to_string(src).unwrap_or_default();
    if text.contains("<bpf/usdt.bpf.h>") {
        let multiarch = Command::new("gcc")
            .arg("-print-multiarch")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "x86_64-linux-gnu".into());
        cmd.arg("-idirafter")
            .arg(format!("/usr/include/{multiarch}"));
    }
    let out = cmd
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(obj)
        .output()
        .map_err(|e| format!("{clang}: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("vmlinux.h") {
        return Err(format!("{}:\n{stderr}", src.display()));
    }
    Ok(())
}

/// `_Static_assert`s on the size and named member offsets of every struct and union whose
/// name only one type has (tags: structs, unions and enums share a namespace). `va_list` is
/// 8 bytes on the BPF target but 24 on x86: records holding one are left out, as they differ
/// with bpftool's header too.
fn layout_asserts(btf: &Btf) -> String {
    let mut count = std::collections::HashMap::new();
    for id in btf.ids() {
        let t = btf.get(id).unwrap();
        if matches!(
            t.kind(),
            kind::STRUCT | kind::UNION | kind::FWD | kind::ENUM | kind::ENUM64
        ) {
            *count.entry(btf.type_name(id).unwrap()).or_insert(0) += 1;
        }
    }
    let mut out = String::from("#include \"vmlinux.h\"\n");
    for id in btf.ids() {
        let t = btf.get(id).unwrap();
        let name = btf.type_name(id).unwrap();
        if !matches!(t.kind(), kind::STRUCT | kind::UNION) || name.is_empty() || count[name] != 1 {
            continue;
        }
        let holds_va_list = t.members().any(|(_, ty, _)| {
            let mut found = false;
            let _ = btf.skip_mods_noting(ty, |id, _| {
                found |= btf.type_name(id).is_ok_and(|n| n.contains("va_list"));
                Ok(())
            });
            found
        });
        if holds_va_list {
            continue;
        }
        let tag = if t.kind() == kind::UNION {
            "union"
        } else {
            "struct"
        };
        out.push_str(&format!(
            "_Static_assert(sizeof({tag} {name}) == {}, \"size of {name}\");\n",
            t.size_or_type
        ));
        for (m_name, _, off) in t.members() {
            let m_name = btf.name(m_name).unwrap();
            let (bit_off, bits) = if t.kflag() {
                (off & 0xff_ffff, off >> 24)
            } else {
                (off, 0)
            };
            if m_name.is_empty() || bits != 0 || bit_off % 8 != 0 {
                continue;
            }
            out.push_str(&format!(
                "_Static_assert(__builtin_offsetof({tag} {name}, {m_name}) == {}, \"{name}.{m_name}\");\n",
                bit_off / 8
            ));
        }
    }
    out
}

/// The sections of an object that its code and data live in (not BTF, DWARF, relocations,
/// symbols), by name.
fn payload_sections(obj: &Path) -> Vec<(String, Vec<u8>)> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(obj).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = file
        .sections()
        .filter_map(|s| {
            let name = s.name().ok()?.to_string();
            let skip = [
                ".BTF",
                ".debug",
                ".rel",
                ".symtab",
                ".strtab",
                ".llvm",
                ".shstrtab",
            ];
            if name.is_empty() || skip.iter().any(|p| name.starts_with(p)) {
                return None;
            }
            Some((name, s.data().ok()?.to_vec()))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn fixtures_compile_against_lskel_vmlinux_h() {
    let Some(clang) = find_clang() else {
        assert!(
            !require(),
            "LSKEL_REQUIRE_KERNEL=1 but no clang (CLANG, clang-19, clang) runs"
        );
        eprintln!("skipped: no clang (CLANG, clang-19, clang) on PATH");
        return;
    };
    let Ok(raw) = std::fs::read(KERNEL_BTF) else {
        assert!(
            !require(),
            "LSKEL_REQUIRE_KERNEL=1 but {KERNEL_BTF} is unreadable"
        );
        eprintln!("skipped: no {KERNEL_BTF}");
        return;
    };
    let start = Instant::now();
    let btf = Btf::parse(&raw).unwrap();
    let header = cdump::vmlinux_header(&btf).unwrap();
    let took = start.elapsed();
    eprintln!(
        "vmlinux.h: {} types, {} bytes, written in {:.1} ms",
        btf.len() - 1,
        header.len(),
        took.as_secs_f64() * 1e3
    );

    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("vmlinux_h-{}", std::process::id()));
    let (ours, theirs) = (tmp.join("ours"), tmp.join("bpftool"));
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::write(ours.join("vmlinux.h"), &header).unwrap();
    // bpftool's header, when bpftool is there, to compare the objects.
    let have_bpftool = Command::new("bpftool")
        .args(["btf", "dump", "file", KERNEL_BTF, "format", "c"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            std::fs::create_dir_all(&theirs).unwrap();
            std::fs::write(theirs.join("vmlinux.h"), o.stdout).unwrap();
        })
        .is_some();

    // Layout: sizes and offsets exactly as BTF says.
    let asserts = tmp.join("layout.c");
    std::fs::write(&asserts, layout_asserts(&btf)).unwrap();
    compile(&clang, &ours, &asserts, &tmp.join("layout.o")).unwrap();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf");
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.c")))
        .collect();
    srcs.sort();
    assert!(srcs.len() > 10, "fixtures missing from {}", dir.display());
    let errors = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(src) = srcs.get(i) else { break };
                let stem = src.file_name().unwrap().to_str().unwrap().replace(".c", ".o");
                let obj = tmp.join(format!("ours-{stem}"));
                if let Err(e) = compile(&clang, &ours, src, &obj) {
                    errors.lock().unwrap().push(e);
                    continue;
                }
                if !have_bpftool {
                    continue;
                }
                let reference = tmp.join(format!("bpftool-{stem}"));
                if compile(&clang, &theirs, src, &reference).is_ok()
                    && payload_sections(&obj) != payload_sections(&reference)
                {
                    errors.lock().unwrap().push(format!(
                        "{stem}: code or data differs from the object built with bpftool's vmlinux.h"
                    ));
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    eprintln!(
        "{} fixtures compiled against lskel's vmlinux.h{}",
        srcs.len(),
        if have_bpftool {
            ", objects identical to bpftool-header builds"
        } else {
            ""
        }
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The BTF of every fixture object (clang's, not the kernel's: bitfields, anonymous members,
/// function pointers, DATASECs to skip) also dumps to C that clang accepts.
#[test]
fn object_btf_dumps_to_valid_c() {
    use object::{Object, ObjectSection};
    let Some(clang) = find_clang() else {
        assert!(
            !require(),
            "LSKEL_REQUIRE_KERNEL=1 but no clang (CLANG, clang-19, clang) runs"
        );
        eprintln!("skipped: no clang (CLANG, clang-19, clang) on PATH");
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("object_btf-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf");
    let mut done = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_str().is_some_and(|s| s.ends_with(".bpf.o")) {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let Some(btf) = file.section_by_name(".BTF") else {
            continue;
        };
        let btf = Btf::parse(btf.data().unwrap()).unwrap();
        let c = cdump::dump_c(&btf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace(".bpf.o", ".c");
        let src = tmp.join(&name);
        std::fs::write(&src, c).unwrap();
        let out = Command::new(&clang)
            .args(["-target", "bpf", "-fsyntax-only", "-Werror"])
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        done += 1;
    }
    assert!(done > 10, "only {done} objects with BTF");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Corrupted BTF that still parses (words of the fixtures' `.BTF` flipped) dumps to C or
/// gives an error: never a panic or an endless walk.
#[test]
fn mutated_btf_never_panics() {
    use object::{Object, ObjectSection};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut parsed, mut dumped) = (0, 0);
    for stem in ["nested_types", "globals", "maps", "counter", "struct_ops"] {
        let Ok(data) = std::fs::read(dir.join(format!("{stem}.bpf.o"))) else {
            continue;
        };
        let file = object::File::parse(&*data).unwrap();
        let Some(sec) = file.section_by_name(".BTF") else {
            continue;
        };
        let btf = sec.data().unwrap().to_vec();
        for _ in 0..3000 {
            let mut m = btf.clone();
            for _ in 0..1 + next() % 3 {
                // Inside the type section (after the 24-byte header), one byte.
                let at = 24 + (next() as usize) % (m.len() - 24);
                m[at] = next() as u8;
            }
            let Ok(b) = Btf::parse(&m) else { continue };
            parsed += 1;
            if let Ok(c) = cdump::dump_c(&b) {
                assert!(c.len() < 256 << 20);
                dumped += 1;
            }
        }
    }
    eprintln!("{parsed} mutants parsed, {dumped} dumped");
    assert!(parsed > 0);
}
