//! Every number lskel-abi holds, compared with what a C compiler makes of the kernel's headers.
//!
//! A C program prints each `C_VALUES` expression; it is compiled against the installed uapi
//! headers (`linux/bpf.h`, `linux/btf.h`, and `errno.h` for the error codes) and, for what those headers are too old to have,
//! against the running kernel's BTF dumped as C (`bpftool btf dump ... format c`). Our own ctx
//! structs are declared in the program as C, the way libbpf's `skel_internal.h` declares its
//! part of them. An expression neither source knows is listed, not failed: it is newer than
//! both.

use std::path::{Path, PathBuf};
use std::process::Command;

use lskel_abi::ALL_C_VALUES;

/// The ctx structs, written from the layout lskel documents (not generated from the Rust).
const CTX_DECLS: &str = r#"
struct lskel_ctx_header { __u32 sz; __u32 flags; __u32 log_level; __u32 log_size; __u64 log_buf; };
struct lskel_map_desc {
    int map_fd; __u32 max_entries; __u64 initial_value;
    __u32 set; __u32 key_size; __u32 value_size; __u32 map_flags; __u32 numa_node;
    int inner_map_fd; __u64 map_extra;
};
struct lskel_prog_desc { int prog_fd; };
struct lskel_status { __u32 failed_step; __u32 possible_cpus; __u64 reserved; };
struct lskel_attach_target {
    __u64 name; __u32 name_sz; __u32 attach_prog_fd; __u32 attach_btf_id; __u32 reserved;
};
"#;

const UAPI_PRELUDE: &str =
    "#include <stdio.h>\n#include <stddef.h>\n#include <errno.h>\n#include <linux/bpf.h>\n#include <linux/btf.h>\n";
const VMLINUX_PRELUDE: &str = "#include \"vmlinux.h\"\n#define offsetof(t, m) __builtin_offsetof(t, m)\nint printf(const char *, ...);\n";

struct Item {
    module: &'static str,
    expr: &'static str,
    value: i128,
}

fn items() -> Vec<Item> {
    ALL_C_VALUES
        .iter()
        .flat_map(|(module, table)| {
            table.iter().map(move |&(expr, value)| Item {
                module,
                expr,
                value,
            })
        })
        .collect()
}

fn require() -> bool {
    std::env::var_os("LSKEL_REQUIRE_KERNEL").is_some_and(|v| v == "1")
}

fn compiler() -> Option<String> {
    let mut candidates: Vec<String> = std::env::var("CC").ok().into_iter().collect();
    candidates.extend(["cc", "gcc", "clang"].map(String::from));
    candidates.into_iter().find(|cc| {
        Command::new(cc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The program for `which` items; line `first_line + k` prints item `which[k]`.
fn program(prelude: &str, items: &[Item], which: &[usize]) -> (String, usize) {
    let mut src = format!("{prelude}{CTX_DECLS}int main(void) {{\n");
    let first_line = src.lines().count() + 1;
    for &i in which {
        src.push_str(&format!(
            "printf(\"{i} %lld\\n\", (long long)({}));\n",
            items[i].expr
        ));
    }
    src.push_str("return 0;\n}\n");
    (src, first_line)
}

/// Compiles and runs the program for `which`, dropping the items the compiler refuses (names
/// the headers do not have). Returns each printed item's value and the dropped items.
fn evaluate(
    cc: &str,
    dir: &Path,
    prelude: &str,
    items: &[Item],
    mut which: Vec<usize>,
) -> (Vec<(usize, i128)>, Vec<usize>) {
    let mut dropped = Vec::new();
    let (c, exe) = (dir.join("values.c"), dir.join("values"));
    loop {
        let (src, first_line) = program(prelude, items, &which);
        std::fs::write(&c, &src).expect("write the C program");
        let out = Command::new(cc)
            .arg("-w")
            .arg("-I")
            .arg(dir)
            .arg("-o")
            .arg(&exe)
            .arg(&c)
            .output()
            .expect("run the C compiler");
        if out.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let prefix = format!("{}:", c.display());
        let mut bad: Vec<usize> = stderr
            .lines()
            .filter(|l| l.contains("error"))
            .filter_map(|l| l.strip_prefix(&prefix)?.split(':').next()?.parse().ok())
            .collect();
        bad.sort_unstable();
        bad.dedup();
        let range = first_line..first_line + which.len();
        assert!(
            !bad.is_empty() && bad.iter().all(|l| range.contains(l)),
            "the C program does not compile outside the values:\n{stderr}\n{src}"
        );
        for line in bad.iter().rev() {
            dropped.push(which.remove(line - first_line));
        }
    }
    let out = Command::new(&exe).output().expect("run the C program");
    assert!(out.status.success(), "the C program failed");
    let values = String::from_utf8(out.stdout)
        .expect("ASCII output")
        .lines()
        .map(|l| {
            let (i, v) = l.split_once(' ').expect("`index value`");
            (i.parse().expect("index"), v.parse().expect("value"))
        })
        .collect();
    (values, dropped)
}

/// The running kernel's BTF as C, if bpftool can dump it.
fn vmlinux_h(dir: &Path) -> Option<PathBuf> {
    let out = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "c",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let path = dir.join("vmlinux.h");
    std::fs::write(&path, out.stdout).ok()?;
    Some(path)
}

#[test]
fn every_value_matches_the_kernel_headers() {
    let Some(cc) = compiler() else {
        assert!(
            !require(),
            "no C compiler (cc, gcc, clang, $CC) to check the ABI with"
        );
        eprintln!("skipped: no C compiler (cc, gcc, clang, $CC) to check the ABI with");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("uapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let items = items();

    let (mut values, mut missing) =
        evaluate(&cc, &dir, UAPI_PRELUDE, &items, (0..items.len()).collect());
    let uapi_checked = values.len();
    if !missing.is_empty() {
        match vmlinux_h(&dir) {
            Some(_) => {
                let (more, still) = evaluate(&cc, &dir, VMLINUX_PRELUDE, &items, missing);
                values.extend(more);
                missing = still;
            }
            None => eprintln!("no running kernel BTF (bpftool, /sys/kernel/btf/vmlinux)"),
        }
    }

    let wrong: Vec<String> = values
        .iter()
        .filter(|&&(i, v)| items[i].value != v)
        .map(|&(i, v)| {
            let it = &items[i];
            format!(
                "{}: `{}` is {} in C, {} here",
                it.module, it.expr, v, it.value
            )
        })
        .collect();
    missing.sort_unstable();
    for &i in &missing {
        eprintln!(
            "not checked (in neither the headers nor the kernel's BTF): {}",
            items[i].expr
        );
    }
    eprintln!(
        "{} values checked ({} from the uapi headers), {} not found",
        values.len(),
        uapi_checked,
        missing.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        wrong.is_empty(),
        "ABI values differ from the kernel's:\n{}",
        wrong.join("\n")
    );
    assert!(
        uapi_checked > items.len() / 2,
        "most values must come from the uapi headers"
    );
}
