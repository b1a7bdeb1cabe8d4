//! Conformance with libbpf: every fixture object is loaded twice, once through lskel (generated loader
//! program) and once by libbpf (`bpftool prog loadall`), and for every program the kernel's translated
//! instructions (`BPF_OBJ_GET_INFO_BY_FD` xlated insns) must be identical once map ids are normalised.
//!
//! What is compared, per fixture:
//! - the set of program names loaded by each side;
//! - per program: prog type, attach BTF id, number of maps used (`map_ids`), and the xlated instructions
//!   byte for byte, after each map id in an `ld_imm64` of src_reg `BPF_PSEUDO_MAP_FD` (1) or
//!   `BPF_PSEUDO_MAP_VALUE` (2) is replaced by its index in order of first appearance in that program.
//!
//! Needs root and `bpftool` (libbpf) with bpffs at `/sys/fs/bpf`. Without the kernel the test skips (fails
//! under `LSKEL_REQUIRE_KERNEL=1`); without bpftool likewise.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use lskel::kconfig::{KconfigExtern, KconfigType};
use lskel::skel::{load as skel_load, SkelKconfig, SkelSpec};
use lskel::sys::bpf::{map_get_fd_by_id, map_info, obj_get, prog_info, ProgInfo};
use lskel::LoadOptions;
use lskel_tests::{fixtures, require_kernel};

const BPFFS: &str = "/sys/fs/bpf";
const LD_IMM64: u8 = 0x18;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;

fn require_kernel_var() -> bool {
    std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1")
}

/// Whether `bpftool` runs. Under `LSKEL_REQUIRE_KERNEL=1` its absence is a failure, otherwise a skip.
fn bpftool_available() -> bool {
    match Command::new("bpftool").arg("version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let why = format!(
                "`bpftool version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            no_bpftool(&why)
        }
        Err(e) => no_bpftool(&format!("cannot run `bpftool`: {e}")),
    }
}

fn no_bpftool(why: &str) -> bool {
    if require_kernel_var() {
        panic!("LSKEL_REQUIRE_KERNEL=1 but {why}; the libbpf conformance test needs bpftool");
    }
    eprintln!("skipping: {why}; install bpftool to compare with libbpf");
    false
}

/// A pin directory in bpffs, removed (with everything pinned in it) on drop, panics included.
struct PinDir(PathBuf);

impl PinDir {
    fn new(stem: &str) -> PinDir {
        // bpffs refuses names with a '.', so the stem and pid only.
        let name: String = format!("lskel_conformance_{}_{stem}", std::process::id())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = Path::new(BPFFS).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        PinDir(dir)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        if self.0.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.0) {
                eprintln!("warning: could not remove {}: {e}", self.0.display());
            }
        }
    }
}

/// Loads `obj` with libbpf (`bpftool prog loadall`), pinning every program in `pins`; returns the program
/// fds by name (pin file names are program names).
fn load_with_libbpf(obj: &Path, pins: &PinDir) -> Result<BTreeMap<String, OwnedFd>, String> {
    let out = Command::new("bpftool")
        .arg("prog")
        .arg("loadall")
        .arg(obj)
        .arg(&pins.0)
        .output()
        .map_err(|e| format!("cannot run bpftool: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`bpftool prog loadall {} {}` failed ({}):\n{}",
            obj.display(),
            pins.0.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut progs = BTreeMap::new();
    let entries = std::fs::read_dir(&pins.0).map_err(|e| format!("{}: {e}", pins.0.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", pins.0.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = CString::new(entry.path().into_os_string().into_encoded_bytes())
            .map_err(|e| format!("pin path: {e}"))?;
        let fd = obj_get(&path).map_err(|e| format!("BPF_OBJ_GET {name}: {e}"))?;
        progs.insert(name, fd);
    }
    Ok(progs)
}

/// The `.kconfig` description a generated skeleton carries, built from the plan at run time.
fn kconfig_spec(plan: &lskel_gen::Plan) -> Option<SkelKconfig> {
    use lskel_gen::externs::{ExternKind, KconfigType as G};
    let map = plan
        .maps
        .iter()
        .position(|m| m.data_kind() == Some(lskel_gen::maps::DataKind::Kconfig))?;
    let externs: Vec<KconfigExtern> = (plan.externs.list.iter())
        .filter_map(|e| match e.kind {
            ExternKind::Kconfig { offset, ty } => Some(KconfigExtern {
                name: String::leak(e.name.clone()),
                offset: offset as usize,
                ty: match ty {
                    G::Bool => KconfigType::Bool,
                    G::Tristate => KconfigType::Tristate,
                    G::Char => KconfigType::Char,
                    G::Int { size, signed } => KconfigType::Int {
                        size: size as usize,
                        signed,
                    },
                    G::Str { len } => KconfigType::Str { len: len as usize },
                },
                weak: e.weak,
            }),
            _ => None,
        })
        .collect();
    Some(SkelKconfig {
        map,
        size: plan.maps[map].value_size as usize,
        externs: Vec::leak(externs),
    })
}

/// Program fds by name and the map fds of one lskel load.
type LskelLoad = (BTreeMap<String, OwnedFd>, Vec<OwnedFd>);

/// Objects the reference libbpf (1.1, in bpftool 7.1) cannot take, and what it says: section
/// names newer than it, and `?` programs, which `prog loadall` cannot pin.
const LIBBPF_1_1_CANNOT: &[(&str, &str)] = &[
    ("nolicense", "can't pin program that wasn't loaded"),
    ("sec_new", "failed to guess program type from ELF section"),
    ("sec_refused", "can't pin program that wasn't loaded"),
    (
        "sec_refused_new",
        "failed to guess program type from ELF section",
    ),
];

/// The errno in libbpf's "failed to load: -N" line.
fn libbpf_errno(stderr: &str) -> Option<i32> {
    // A missing extern is refused by libbpf in user space, before any syscall: ENOENT.
    if stderr.contains("not found in kernel or module BTFs") {
        return Some(2);
    }
    let at = stderr.find("failed to load: -")? + "failed to load: -".len();
    stderr[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Loads `obj` through lskel, as a generated skeleton does (`skel::load`: the loader, which
/// binds the `.rodata` maps to every program); returns the program fds by name and the map fds.
fn load_with_lskel(data: &[u8], stem: &str) -> Result<LskelLoad, (String, Option<i32>)> {
    let skel = lskel_gen::generate(data, stem).map_err(|e| (format!("generate: {e}"), None))?;
    // SkelSpec wants 'static data, as generated code has: leak this test's copies.
    let spec = SkelSpec {
        name: "conformance",
        // SAFETY: the loader lskel-gen generated for this object, described by the fields
        // below (no initial values, targets or struct_ops: none is given at load).
        loader: {
            let (blob, insns) = (
                Vec::leak(skel.loader.blob.clone()),
                Vec::leak(skel.loader.insns.clone()),
            );
            match skel.loader.ctx_area {
                // SAFETY: as below; an interpreter loader leaves its fds at this blob offset.
                Some(area) => unsafe {
                    lskel::sys::trusted::TrustedLoader::with_ctx_area(blob, insns, area as usize)
                },
                None => unsafe { lskel::sys::trusted::TrustedLoader::new(blob, insns) },
            }
        },
        n_maps: skel.plan.maps.len(),
        n_progs: skel.plan.programs.len(),
        kconfig: kconfig_spec(&skel.plan),
        steps: Vec::leak(
            skel.loader
                .steps
                .iter()
                .map(|s| &*String::leak(s.clone()))
                .collect(),
        ),
        // Fixtures name their targets in their sections: nothing is set at load time.
        targets: &[],
        // Fixtures compared with libbpf have no struct_ops maps (libbpf 1.1 cannot take them).
        struct_ops: &[],
        ctx_size: skel.loader.ctx_size,
        // No initial value is given at load.
        initial_sizes: &[],
        // No map is reused or pinned.
        map_defs: &[],
    };
    let opts = LoadOptions {
        log_level: 1,
        log_size: 0,
        keep_loader: false,
        keyring: lskel::Keyring::Session,
        signature: lskel::SignatureCheck::Required,
    };
    // As libbpf: programs of `?` sections are not loaded.
    let autoload: Vec<bool> = skel
        .plan
        .programs
        .iter()
        .map(|p| !p.def.autoload_off)
        .collect();
    let progs: Vec<lskel::OpenProg> = autoload
        .iter()
        .map(|&on| lskel::OpenProg::new(on))
        .collect();
    let progs: Vec<&lskel::OpenProg> = progs.iter().collect();
    let fds = skel_load(&spec, &[], &[], &progs, &opts).map_err(|e| {
        (
            format!("lskel load: {e}"),
            e.errno().map(|n| n.raw_os_error()),
        )
    })?;
    let progs = skel
        .plan
        .programs
        .iter()
        .map(|p| p.def.func.name.clone())
        .zip(fds.progs)
        .filter_map(|(name, fd)| Some((name, fd?)))
        .collect();
    Ok((progs, fds.maps))
}

/// The xlated instructions with every map id replaced by its index in order of first appearance.
fn normalise_map_ids(xlated: &[u8]) -> Vec<u8> {
    let mut out = xlated.to_vec();
    let mut ids: HashMap<u32, u32> = HashMap::new();
    let mut k = 0;
    while k + 16 <= out.len() {
        let insn = &mut out[k..k + 8];
        let src = insn[1] >> 4;
        if insn[0] == LD_IMM64 {
            if src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_MAP_VALUE {
                let id = u32::from_le_bytes(insn[4..8].try_into().expect("4 bytes"));
                let next = ids.len() as u32;
                let idx = *ids.entry(id).or_insert(next);
                insn[4..8].copy_from_slice(&idx.to_le_bytes());
            }
            k += 16;
        } else {
            k += 8;
        }
    }
    out
}

/// The first differing lines of two disassemblies, with a little context, for a failure message.
fn disasm_diff(lskel: &[u8], libbpf: &[u8]) -> String {
    let a = lskel_gen::disasm::disassemble(lskel, &|_| None);
    let b = lskel_gen::disasm::disassemble(libbpf, &|_| None);
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let Some(first) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) else {
        return "(disassemblies are identical: the difference is in bits the disassembler does not show)\n"
            .to_string();
    };
    let mut out = format!(
        "lskel: {} lines, libbpf: {} lines; first difference at line {}\n",
        a.len(),
        b.len(),
        first + 1
    );
    let start = first.saturating_sub(3);
    let mut shown = 0;
    for i in start..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        if x == y {
            if i < first || shown < 20 {
                out.push_str(&format!("   {}\n", x.unwrap_or("")));
            }
        } else {
            if let Some(x) = x {
                out.push_str(&format!(" - {x}    (lskel)\n"));
            }
            if let Some(y) = y {
                out.push_str(&format!(" + {y}    (libbpf)\n"));
            }
            shown += 1;
        }
        if shown >= 20 || i >= first + 30 {
            out.push_str("   ...\n");
            break;
        }
    }
    out
}

/// The kernel names of maps `ids`, for messages.
fn map_names(ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(
            |&id| match map_get_fd_by_id(id).and_then(|fd| map_info(fd.as_fd())) {
                Ok(info) => info.name,
                Err(e) => format!("#{id} ({e})"),
            },
        )
        .collect()
}

/// Compares the maps two loads of program `name` use (`map_ids`), by kernel map name.
///
/// They must be the same: libbpf binds every `.rodata*` map to each program after load
/// (`BPF_PROG_BIND_MAP`); lskel's loader binds them in each program load (`fd_array_cnt`,
/// with the `.rodata*` maps first in `fd_array`).
fn compare_maps(name: &str, ours: &[u32], theirs: &[u32]) -> Vec<String> {
    let (a, b) = (map_names(ours), map_names(theirs));
    let mut only_theirs = b.clone();
    let mut only_ours = Vec::new();
    for n in &a {
        match only_theirs.iter().position(|m| m == n) {
            Some(k) => {
                only_theirs.remove(k);
            }
            None => only_ours.push(n.clone()),
        }
    }
    if only_ours.is_empty() && only_theirs.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "program `{name}`: uses {} maps {a:?} (lskel) != {} maps {b:?} (libbpf); \
         only lskel: {only_ours:?}, only libbpf: {only_theirs:?}",
        a.len(),
        b.len()
    )]
}

/// Compares one program loaded by both sides; returns the differences found.
fn compare_prog(name: &str, ours: &ProgInfo, theirs: &ProgInfo) -> Vec<String> {
    let mut problems = Vec::new();
    if ours.prog_type != theirs.prog_type {
        problems.push(format!(
            "program `{name}`: prog type {} (lskel) != {} (libbpf)",
            ours.prog_type, theirs.prog_type
        ));
    }
    if ours.attach_btf_id != theirs.attach_btf_id {
        problems.push(format!(
            "program `{name}`: attach_btf_id {} (lskel) != {} (libbpf)",
            ours.attach_btf_id, theirs.attach_btf_id
        ));
    }
    problems.extend(compare_maps(name, &ours.map_ids, &theirs.map_ids));
    if ours.xlated_insns.is_empty() || theirs.xlated_insns.is_empty() {
        problems.push(format!(
            "program `{name}`: the kernel gave no xlated insns (lskel {} bytes, libbpf {} bytes)",
            ours.xlated_insns.len(),
            theirs.xlated_insns.len()
        ));
        return problems;
    }
    let a = normalise_map_ids(&ours.xlated_insns);
    let b = normalise_map_ids(&theirs.xlated_insns);
    if a != b {
        problems.push(format!(
            "program `{name}`: xlated insns differ (lskel {} insns, libbpf {} insns, map ids normalised)\n{}",
            a.len() / 8,
            b.len() / 8,
            disasm_diff(&a, &b)
        ));
    }
    problems
}

/// Loads one fixture both ways and compares; returns the differences found.
fn check_fixture(path: &Path) -> Vec<String> {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let stem = file.split('.').next().unwrap().to_string();
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    // Both loaders run first: where this kernel refuses an object (fentry under lockdown,
    // per-CPU ksyms without CONFIG_KALLSYMS_ALL), both must refuse it with the same errno.
    let ours = load_with_lskel(&data, &stem);
    let pins = PinDir::new(&stem);
    let theirs = load_with_libbpf(path, &pins);
    // The map fds stay open until the comparison is done.
    let ((ours, _our_maps), theirs) = match (ours, theirs) {
        (Ok(o), Ok(t)) => (o, t),
        (Err((e, Some(errno))), Err(libbpf)) => {
            return match libbpf_errno(&libbpf) {
                Some(theirs) if theirs == errno => {
                    eprintln!("{file}: refused by both loaders with errno {errno}, as expected on this kernel");
                    Vec::new()
                }
                theirs => vec![format!("{file}: both loaders fail, lskel with errno {errno} ({e}), libbpf with {theirs:?}:\n{libbpf}")],
            };
        }
        (Err((e, _)), _) => return vec![format!("{file}: {e}")],
        (Ok(_), Err(e)) => {
            // The reference here is bpftool 7.1 / libbpf 1.1: objects it cannot take at all are
            // named, with the reason it gives, and not compared; anything else is a difference.
            return match LIBBPF_1_1_CANNOT
                .iter()
                .find(|(s, why)| *s == stem && e.contains(why))
            {
                Some((_, why)) => {
                    eprintln!("{file}: not compared: libbpf 1.1 refuses it (\"{why}\"); lskel loads it (load_all checks it)");
                    Vec::new()
                }
                None => vec![format!("{file}: {e}")],
            };
        }
    };
    let mut problems = Vec::new();
    let our_names: BTreeSet<&String> = ours.keys().collect();
    let their_names: BTreeSet<&String> = theirs.keys().collect();
    if our_names != their_names {
        problems.push(format!(
            "{file}: program names differ: lskel {our_names:?}, libbpf {their_names:?}"
        ));
    }
    assert!(!ours.is_empty(), "{file}: no programs loaded");
    for (name, fd) in &ours {
        let Some(lib_fd) = theirs.get(name) else {
            continue;
        };
        let a = prog_info(fd.as_fd()).unwrap_or_else(|e| panic!("{file}: prog_info {name}: {e}"));
        let b =
            prog_info(lib_fd.as_fd()).unwrap_or_else(|e| panic!("{file}: prog_info {name}: {e}"));
        problems.extend(
            compare_prog(name, &a, &b)
                .into_iter()
                .map(|p| format!("{file}: {p}")),
        );
    }
    problems
}

#[test]
fn xlated_insns_match_libbpf() {
    require_kernel!();
    if !bpftool_available() {
        return;
    }
    let all = fixtures();
    assert!(!all.is_empty(), "no fixture objects in tests/bpf");
    let mut problems = Vec::new();
    for path in &all {
        problems.extend(check_fixture(path));
    }
    assert!(
        problems.is_empty(),
        "{} conformance difference(s) with libbpf:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn normalisation_numbers_maps_by_first_use() {
    // Two ld_imm64 map references (ids 77, then 42 as a map value), a plain ld_imm64 and 77 again.
    let mut prog = Vec::new();
    let ld = |src: u8, imm: u32| {
        let mut v = vec![LD_IMM64, 1 | (src << 4), 0, 0];
        v.extend_from_slice(&imm.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 8, 0, 0, 0]);
        v
    };
    prog.extend(ld(BPF_PSEUDO_MAP_FD, 77));
    prog.extend(ld(BPF_PSEUDO_MAP_VALUE, 42));
    prog.extend(ld(0, 77));
    prog.extend(ld(BPF_PSEUDO_MAP_FD, 77));
    let n = normalise_map_ids(&prog);
    let imm = |k: usize| u32::from_le_bytes(n[k * 16 + 4..k * 16 + 8].try_into().unwrap());
    assert_eq!([imm(0), imm(1), imm(2), imm(3)], [0, 1, 77, 0]);
    // Second slot (the value offset of a MAP_VALUE) is untouched.
    assert_eq!(&n[16 + 12..16 + 16], &[8, 0, 0, 0]);
}

#[test]
fn disasm_diff_shows_first_difference() {
    // r0 = 0; exit  vs  r0 = 1; exit
    let a = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    let mut b = a;
    b[4] = 1;
    let d = disasm_diff(&a, &b);
    assert!(d.contains("first difference at line 1"), "{d}");
    assert!(d.contains(" - ") && d.contains("(lskel)"), "{d}");
    assert!(d.contains(" + ") && d.contains("(libbpf)"), "{d}");
}
