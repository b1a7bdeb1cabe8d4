//! lskel-build compiles BPF C into an object lskel-gen accepts, reports the headers it read,
//! writes vmlinux.h on request, and says clearly what went wrong.

use std::path::{Path, PathBuf};

use lskel_build::{BpfBuilder, Error};

fn require() -> bool {
    std::env::var_os("LSKEL_REQUIRE_KERNEL").is_some_and(|v| v == "1")
}

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lskel-build-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether a compiler is there; when not, the test is skipped (failed under
/// LSKEL_REQUIRE_KERNEL=1).
fn have_clang(dir: &Path) -> bool {
    std::fs::write(dir.join("probe.c"), "int x;\n").unwrap();
    match BpfBuilder::new(dir.join("probe.c"))
        .out_dir(dir)
        .target_arch("x86_64")
        .compile()
    {
        Err(Error::ClangNotFound { tried }) => {
            assert!(
                !require(),
                "LSKEL_REQUIRE_KERNEL=1 but no clang: tried {tried:?}"
            );
            eprintln!("skipped: no clang (tried {tried:?})");
            false
        }
        other => {
            other.unwrap();
            true
        }
    }
}

const SOURCE: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "local.h"

int counter = START;

SEC("raw_tp/sys_enter")
int count(void *ctx)
{
	__sync_fetch_and_add(&counter, STEP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn compiles_an_object_and_lists_its_headers() {
    let dir = tmp("headers");
    if !have_clang(&dir) {
        return;
    }
    let inc = dir.join("inc");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::write(inc.join("local.h"), "#define STEP 2\n").unwrap();
    std::fs::write(dir.join("prog.bpf.c"), SOURCE).unwrap();
    let out_dir = dir.join("out");
    let out = BpfBuilder::new(dir.join("prog.bpf.c"))
        .include(&inc)
        .define("START", "5")
        .out_dir(&out_dir)
        .target_arch(std::env::consts::ARCH)
        .compile()
        .unwrap();
    assert_eq!(out.object, out_dir.join("prog.bpf.o"));
    let data = std::fs::read(&out.object).unwrap();
    // ELF, e_machine EM_BPF (247).
    assert_eq!(&data[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([data[18], data[19]]), 247);
    // lskel-gen takes it.
    let skel = lskel_gen::generate(&data, "prog").unwrap();
    let described = lskel_gen::expand::describe(&skel.plan);
    assert!(described.contains("count"), "{described}");

    let lines = out.cargo_rerun_lines();
    let has = |suffix: &str| {
        lines
            .iter()
            .any(|l| l.starts_with("cargo:rerun-if-changed=") && l.ends_with(suffix))
    };
    assert!(has("/prog.bpf.c"), "{lines:#?}");
    assert!(has("/inc/local.h"), "{lines:#?}");
    assert!(has("bpf/bpf_helpers.h"), "{lines:#?}");
    assert!(has("linux/bpf.h"), "{lines:#?}");
    assert!(lines.contains(&"cargo:rerun-if-env-changed=CLANG".to_string()));
    // Nothing from the output directory.
    assert!(!lines.iter().any(|l| l.contains("/out/")), "{lines:#?}");
}

#[test]
fn writes_vmlinux_h_and_compiles_a_fixture_against_it() {
    let dir = tmp("vmlinux");
    if !have_clang(&dir) {
        return;
    }
    if !Path::new(lskel_build::KERNEL_BTF).exists() {
        assert!(!require(), "LSKEL_REQUIRE_KERNEL=1 but no kernel BTF");
        eprintln!("skipped: no {}", lskel_build::KERNEL_BTF);
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf/counter.bpf.c");
    let out = BpfBuilder::new(&src)
        .vmlinux_h(true)
        .out_dir(&dir)
        .target_arch("x86_64")
        .compile()
        .unwrap();
    let header = std::fs::read_to_string(dir.join("include/vmlinux.h")).unwrap();
    assert!(header.starts_with("#ifndef __VMLINUX_H__"));
    assert!(header.contains("struct task_struct {"));
    let data = std::fs::read(&out.object).unwrap();
    let skel = lskel_gen::generate(&data, "counter").unwrap();
    assert!(lskel_gen::expand::describe(&skel.plan).contains("count_syscalls"));
    // vmlinux.h is generated, not a source: no rerun line for it, but one for the BTF.
    assert!(!out.dependencies.iter().any(|d| d.ends_with("vmlinux.h")));
    assert!(out
        .dependencies
        .contains(&PathBuf::from(lskel_build::KERNEL_BTF)));
    // A second build leaves an unchanged header alone.
    let before = std::fs::metadata(dir.join("include/vmlinux.h"))
        .unwrap()
        .modified()
        .unwrap();
    BpfBuilder::new(&src)
        .vmlinux_h(true)
        .out_dir(&dir)
        .target_arch("x86_64")
        .compile()
        .unwrap();
    let after = std::fs::metadata(dir.join("include/vmlinux.h"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn errors_say_what_was_tried_and_what_clang_said() {
    let dir = tmp("errors");
    let e = BpfBuilder::new(dir.join("x.bpf.c"))
        .out_dir(&dir)
        .clang("/nonexistent/clang-99")
        .compile()
        .unwrap_err();
    assert!(matches!(e, Error::ClangNotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("/nonexistent/clang-99") && msg.contains("CLANG"),
        "{msg}"
    );

    let e = BpfBuilder::new(dir.join("x.bpf.c"))
        .out_dir(&dir)
        .target_arch("wasm32")
        .compile();
    if let Err(Error::Config(msg)) = &e {
        assert!(msg.contains("wasm32"), "{msg}");
    } else if !matches!(e, Err(Error::ClangNotFound { .. })) {
        panic!("{e:?}");
    }

    if !have_clang(&dir) {
        return;
    }
    std::fs::write(
        dir.join("bad.bpf.c"),
        "int f(void) { return undeclared_thing; }\n",
    )
    .unwrap();
    let e = BpfBuilder::new(dir.join("bad.bpf.c"))
        .out_dir(&dir)
        .target_arch("x86_64")
        .compile()
        .unwrap_err();
    let Error::Compile {
        stderr, command, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(stderr.contains("undeclared_thing"), "{stderr}");
    assert!(
        command.contains("-target bpf") && command.contains("-D__TARGET_ARCH_x86"),
        "{command}"
    );
    assert!(e.to_string().contains("undeclared_thing"));

    let e = BpfBuilder::new(dir.join("probe.c"))
        .out_dir(&dir)
        .btf(dir.join("no-such-btf"))
        .target_arch("x86_64")
        .compile()
        .unwrap_err();
    assert!(e.to_string().contains("no-such-btf"), "{e}");
}
