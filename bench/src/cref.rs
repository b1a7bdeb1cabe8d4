//! The C references, built per object in a scratch directory: bpftool's light skeleton
//! (`bpftool gen skeleton -L`, loaded through libbpf's `skel_internal.h`) and libbpf's
//! skeleton (`bpftool gen skeleton`, linked against the system libbpf), each driven by a small
//! C program that times `open_and_load` + `destroy` and prints one line per load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Which C skeleton a driver loads.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `bpftool gen skeleton -L`.
    Light,
    /// `bpftool gen skeleton`.
    Libbpf,
}

impl Kind {
    fn header(self, name: &str) -> String {
        match self {
            Kind::Light => format!("{name}.lskel.h"),
            Kind::Libbpf => format!("{name}.skel.h"),
        }
    }
}

/// A built C driver for one object and kind.
pub struct Driver {
    exe: PathBuf,
}

/// What bpftool generated for an object's light skeleton.
pub struct LightGen {
    /// Median wall time of `bpftool gen skeleton -L` (a process start included).
    pub gen_time: Duration,
    /// `opts.data_sz + opts.insns_sz`: the bytes the light skeleton embeds.
    pub embedded: usize,
}

/// What a driver includes before the skeleton, tried in this order until one compiles: a
/// skeleton may name libbpf's types (`enum libbpf_tristate` for `.kconfig`) or the object's
/// own global types (then the object's BTF, dumped as C, declares them; that dump can clash
/// with libc for vmlinux-heavy objects, so it is the last resort).
const PRELUDES: [&str; 3] = [
    "",
    "#include <bpf/libbpf.h>\n",
    "#include <bpf/libbpf.h>\n#include \"types.h\"\n",
];

fn driver_source(kind: Kind, name: &str, prelude: &str) -> String {
    let quiet = match kind {
        Kind::Light => "",
        Kind::Libbpf => {
            "static int quiet(enum libbpf_print_level l, const char *f, va_list a)\n\
             { (void)l; (void)f; (void)a; return 0; }\n"
        }
    };
    let silence = match kind {
        Kind::Light => "",
        Kind::Libbpf => "\tlibbpf_set_print(quiet);\n",
    };
    let header = kind.header(name);
    // skel_internal.h uses errno without including it; the libbpf skeleton needs libbpf.h.
    let includes = match kind {
        Kind::Light => "#include <errno.h>\n#include <string.h>\n",
        Kind::Libbpf => "#include <errno.h>\n#include <string.h>\n#include <bpf/libbpf.h>\n",
    };
    format!(
        "{prelude}#include <stdarg.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n\
         {includes}#include \"{header}\"\n\n{quiet}\
         static long long now(void)\n{{\n\tstruct timespec t;\n\n\
         \tclock_gettime(CLOCK_MONOTONIC, &t);\n\treturn t.tv_sec * 1000000000LL + t.tv_nsec;\n}}\n\n\
         int main(int argc, char **argv)\n{{\n\tint n = argc > 1 ? atoi(argv[1]) : 1;\n\n{silence}\
         \tfor (int i = 0; i < n; i++) {{\n\t\tlong long t0 = now();\n\
         \t\tstruct {name} *s = {name}__open_and_load();\n\n\
         \t\tif (!s) {{\n\t\t\tfprintf(stderr, \"{name}__open_and_load failed: %s\\n\", strerror(errno));\n\t\t\treturn 1;\n\t\t}}\n\
         \t\t{name}__destroy(s);\n\t\tprintf(\"%lld\\n\", now() - t0);\n\t}}\n\treturn 0;\n}}\n"
    )
}

fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // The first error line says why (gcc's last lines are context).
        let first = err
            .lines()
            .find(|l| l.contains("error"))
            .or_else(|| err.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("");
        return Err(format!("{:?} failed: {}", cmd.get_program(), first.trim()));
    }
    Ok(out.stdout)
}

/// Generates `kind`'s header for `obj` into `dir`; returns the time bpftool took.
fn generate(kind: Kind, obj: &Path, name: &str, dir: &Path) -> Result<Duration, String> {
    let mut cmd = Command::new("bpftool");
    cmd.args(["gen", "skeleton"]);
    if let Kind::Light = kind {
        cmd.arg("-L");
    }
    cmd.arg(obj).args(["name", name]);
    let t0 = Instant::now();
    let header = run(&mut cmd)?;
    let took = t0.elapsed();
    std::fs::write(dir.join(kind.header(name)), header).map_err(|e| e.to_string())?;
    Ok(took)
}

/// Generates the light skeleton `runs` times (timing each) and reads its sizes.
pub fn light_gen(obj: &Path, name: &str, dir: &Path, runs: usize) -> Result<LightGen, String> {
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        times.push(generate(Kind::Light, obj, name, dir)?);
    }
    let text =
        std::fs::read_to_string(dir.join(Kind::Light.header(name))).map_err(|e| e.to_string())?;
    let field = |key: &str| -> Result<usize, String> {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(key)?
                    .trim()
                    .strip_suffix(';')?
                    .parse()
                    .ok()
            })
            .ok_or_else(|| format!("no `{key}` in bpftool's light skeleton"))
    };
    Ok(LightGen {
        gen_time: crate::stats::Summary::of(&times).median,
        embedded: field("opts.data_sz =")? + field("opts.insns_sz =")?,
    })
}

impl Driver {
    /// Generates the skeleton (the light one may exist already) and builds its driver.
    pub fn build(kind: Kind, obj: &Path, name: &str, dir: &Path) -> Result<Driver, String> {
        if !dir.join(kind.header(name)).exists() {
            generate(kind, obj, name, dir)?;
        }
        let types = run(Command::new("bpftool")
            .args(["btf", "dump", "file"])
            .arg(obj)
            .args(["format", "c"]))?;
        std::fs::write(dir.join("types.h"), types).map_err(|e| e.to_string())?;
        let src = dir.join(format!("{name}_{kind:?}.c"));
        let exe = dir.join(format!("{name}_{kind:?}"));
        let mut first_err = None;
        for prelude in PRELUDES {
            std::fs::write(&src, driver_source(kind, name, prelude)).map_err(|e| e.to_string())?;
            let mut cc = Command::new("gcc");
            cc.args(["-O2", "-o"])
                .arg(&exe)
                .arg(&src)
                .arg("-I")
                .arg(dir);
            if let Kind::Libbpf = kind {
                cc.args(["-lbpf", "-lelf", "-lz"]);
            }
            match run(&mut cc) {
                Ok(_) => return Ok(Driver { exe }),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_default())
    }

    /// Loads and destroys the skeleton `n` times after one warm-up load; one sample per load.
    pub fn samples(&self, n: usize) -> Result<Vec<Duration>, String> {
        let out = run(Command::new(&self.exe).arg((n + 1).to_string()))?;
        let text = String::from_utf8_lossy(&out);
        let all: Vec<Duration> = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .map(Duration::from_nanos)
            .collect();
        if all.len() != n + 1 {
            return Err(format!(
                "driver printed {} samples, not {}",
                all.len(),
                n + 1
            ));
        }
        Ok(all[1..].to_vec())
    }
}
