//! Loader snapshots: for every fixture object in `tests/bpf/*.bpf.o`, the plan description and the loader
//! dump (`describe(&plan) + skel.dump()`) must equal the committed `gen/tests/snapshots/<stem>.txt`.
//!
//! After an intended change to the generator, rewrite the files with
//! `LSKEL_BLESS=1 cargo test -p lskel-gen --test snapshots` and review the diff.

use std::path::{Path, PathBuf};

const BLESS_HINT: &str = "LSKEL_BLESS=1 cargo test -p lskel-gen --test snapshots";
/// How many differing lines a mismatch report shows.
const MAX_DIFF_LINES: usize = 40;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf")
}

fn snapshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// `(stem, path)` of every fixture object, sorted.
fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = fixtures_dir();
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let file = p.file_name()?.to_str()?.to_string();
            file.ends_with(".bpf.o")
                .then(|| (file.split('.').next().unwrap_or_default().to_string(), p))
        })
        .collect();
    v.sort();
    v
}

fn bless() -> bool {
    std::env::var("LSKEL_BLESS").as_deref() == Ok("1")
}

/// Objects whose interpreter loader (`LoaderKind::Interp`) is also snapshot, in
/// `snapshots/interp/`: the program is the same for all, so a few show the op tables.
const INTERP_SNAPSHOTS: &[&str] = &[
    "calls",
    "core",
    "counter",
    "fentry",
    "globals",
    "kconfig",
    "kfuncs",
    "ksyms",
    "mapinmap",
    "maps",
    "missing_kfunc",
    "multi",
    "tailcall",
    "tp_btf",
];

/// Which loader a snapshot shows.
#[derive(Clone, Copy)]
enum Shown {
    /// The loader of this kind.
    Kind(lskel_gen::LoaderKind),
    /// The signed interpreter loader (its instructions do not depend on the key), with
    /// these options.
    Signed(lskel_gen::SignOptions),
}

/// Objects whose signed interpreter loader is snapshot, in `snapshots/signed/` (no ctx
/// overrides) and `snapshots/signed_overrides/` (with).
const SIGNED_SNAPSHOTS: &[&str] = &["counter", "kconfig", "mapinmap"];

/// The snapshot text of one object, with the loader `shown`.
fn render(data: &[u8], stem: &str, path: &Path, shown: Shown) -> String {
    let skel = match shown {
        Shown::Kind(kind) => lskel_gen::generate_with(data, stem, kind)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        Shown::Signed(opts) => {
            let plan = lskel_gen::Plan::build(data, stem)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // What the kernel gets: the trimmed plan, as `generate_signed_with` emits.
            let kernel = plan
                .for_kernel()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let loader = lskel_gen::interp::emit_with(&kernel, Some(opts))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            lskel_gen::Skeleton { plan, loader }
        }
    };
    lskel_gen::expand::describe(&skel.plan) + &skel.dump()
}

/// A compact line diff: a longest-common-subsequence alignment of the two texts, printed as the first
/// `MAX_DIFF_LINES` lines that differ, each with its line number in the expected (`-`) or actual (`+`)
/// text. Falls back to a positional comparison when the texts are too large for the LCS table.
fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut out = format!(
        "expected (snapshot) {} lines, actual {} lines\n",
        a.len(),
        b.len()
    );
    let mut shown = 0;
    let mut push = |out: &mut String, line: String| -> bool {
        if shown == MAX_DIFF_LINES {
            out.push_str("... (more differences)\n");
            shown += 1;
        }
        if shown > MAX_DIFF_LINES {
            return false;
        }
        out.push_str(&line);
        out.push('\n');
        shown += 1;
        true
    };

    // Trim the common prefix and suffix, then align what is left.
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);

    if ma.len().saturating_mul(mb.len()) > 4_000_000 {
        for i in 0..ma.len().max(mb.len()) {
            let (x, y) = (ma.get(i), mb.get(i));
            if x == y {
                continue;
            }
            if let Some(x) = x {
                if !push(&mut out, format!("-{:>6}: {x}", pre + i + 1)) {
                    break;
                }
            }
            if let Some(y) = y {
                if !push(&mut out, format!("+{:>6}: {y}", pre + i + 1)) {
                    break;
                }
            }
        }
        return out;
    }

    // lcs[i][j]: LCS length of ma[i..] and mb[j..].
    let (n, m) = (ma.len(), mb.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if ma[i] == mb[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && ma[i] == mb[j] {
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
            if !push(&mut out, format!("-{:>6}: {}", pre + i + 1, ma[i])) {
                break;
            }
            i += 1;
        } else {
            if !push(&mut out, format!("+{:>6}: {}", pre + j + 1, mb[j])) {
                break;
            }
            j += 1;
        }
    }
    out
}

#[test]
fn loader_snapshots_match() {
    let all = fixtures();
    assert!(
        !all.is_empty(),
        "no *.bpf.o fixtures in {}",
        fixtures_dir().display()
    );
    check(
        &all,
        &snapshots_dir(),
        Shown::Kind(lskel_gen::LoaderKind::StraightLine),
    );
}

#[test]
fn signed_loader_snapshots_match() {
    let some: Vec<(String, PathBuf)> = (fixtures().into_iter())
        .filter(|(stem, _)| SIGNED_SNAPSHOTS.contains(&stem.as_str()))
        .collect();
    assert_eq!(some.len(), SIGNED_SNAPSHOTS.len());
    let no_overrides = lskel_gen::SignOptions::default();
    check(
        &some,
        &snapshots_dir().join("signed"),
        Shown::Signed(no_overrides),
    );
    let overrides = lskel_gen::SignOptions {
        ctx_overrides: true,
    };
    let dir = snapshots_dir().join("signed_overrides");
    check(&some, &dir, Shown::Signed(overrides));
}

#[test]
fn interp_loader_snapshots_match() {
    let some: Vec<(String, PathBuf)> = (fixtures().into_iter())
        .filter(|(stem, _)| INTERP_SNAPSHOTS.contains(&stem.as_str()))
        .collect();
    assert_eq!(some.len(), INTERP_SNAPSHOTS.len());
    check(
        &some,
        &snapshots_dir().join("interp"),
        Shown::Kind(lskel_gen::LoaderKind::Interp),
    );
}

/// Compares (or, blessing, writes) the snapshot of each of `all` in `dir`.
fn check(all: &[(String, PathBuf)], dir: &Path, kind: Shown) {
    if bless() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    let mut failures = Vec::new();
    for (stem, path) in all {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let actual = render(&data, stem, path, kind);
        let snap = dir.join(format!("{stem}.txt"));
        if bless() {
            let unchanged = std::fs::read_to_string(&snap).is_ok_and(|old| old == actual);
            if !unchanged {
                std::fs::write(&snap, &actual)
                    .unwrap_or_else(|e| panic!("{}: {e}", snap.display()));
                eprintln!("blessed {}", snap.display());
            }
            continue;
        }
        match std::fs::read_to_string(&snap) {
            Err(e) => failures.push(format!(
                "{stem}: no snapshot {} ({e}); create it with `{BLESS_HINT}`",
                snap.display()
            )),
            Ok(expected) if expected != actual => failures.push(format!(
                "{stem}: the loader differs from {}; if the change is intended, run `{BLESS_HINT}` \
                 and review the diff\n{}",
                snap.display(),
                line_diff(&expected, &actual)
            )),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn generation_is_deterministic() {
    for (stem, path) in fixtures() {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let one = lskel_gen::generate(&data, &stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let two = lskel_gen::generate(&data, &stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert!(
            one.loader.insns == two.loader.insns,
            "{stem}: two generations gave different loader insns"
        );
        assert!(
            one.loader.blob == two.loader.blob,
            "{stem}: two generations gave different blobs"
        );
        assert_eq!(
            one.loader.ctx_size, two.loader.ctx_size,
            "{stem}: ctx size differs"
        );
    }
}

#[test]
fn line_diff_reports_changed_lines_with_numbers() {
    let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
    assert!(d.contains("-     2: b"), "{d}");
    assert!(d.contains("+     2: B"), "{d}");
    assert!(d.contains("+     5: e"), "{d}");
    assert!(!d.contains(": a"), "{d}");
    let many: String = (0..100).map(|i| format!("{i}\n")).collect();
    let d = line_diff(&many, "");
    assert!(d.contains("... (more differences)"), "{d}");
    assert_eq!(d.lines().count(), 1 + MAX_DIFF_LINES + 1, "{d}");
}
