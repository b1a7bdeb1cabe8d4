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
/// skeleton names libbpf's types (`enum libbpf_tristate` for `.kconfig`) and may name the
/// object's own global types (then the object's BTF, dumped as C, declares them; that dump can
/// clash with libc for vmlinux-heavy objects, so it comes second).
const PRELUDES: [&str; 2] = [
    "#include <bpf/libbpf.h>\n",
    "#include <bpf/libbpf.h>\n#include \"types.h\"\n",
];

/// The C driver, with `@PRELUDE@`, `@HEADER@` and `@NAME@` to fill. Built with `-DLIBBPF_SKEL`
/// for libbpf's skeleton: then it also interposes libc's `syscall()` (libbpf makes every bpf
/// call through it) to time the object's own BTF, map and program loads: the kernel floor.
const DRIVER: &str = r#"#define _GNU_SOURCE
@PRELUDE@#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include "@HEADER@"

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long floor_ns;

#ifdef LIBBPF_SKEL
long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr == __NR_bpf && (a[0] == BPF_BTF_LOAD || a[0] == BPF_MAP_CREATE || a[0] == BPF_PROG_LOAD)) {
		long long t0 = now();
		long r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);

		floor_ns += now() - t0;
		return r;
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int quiet(enum libbpf_print_level l, const char *f, va_list a)
{
	(void)l; (void)f; (void)a;
	return 0;
}
#endif

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

#ifdef LIBBPF_SKEL
	libbpf_set_print(quiet);
#endif
	for (int i = 0; i < n; i++) {
		long long t0 = now();
		struct @NAME@ *s;

		floor_ns = 0;
		s = @NAME@__open_and_load();
		if (!s) {
			fprintf(stderr, "@NAME@__open_and_load failed: %s\n", strerror(errno));
			return 1;
		}
		@NAME@__destroy(s);
		printf("%lld %lld\n", now() - t0, floor_ns);
	}
	return 0;
}
"#;

fn driver_source(kind: Kind, name: &str, prelude: &str) -> String {
    DRIVER
        .replace("@PRELUDE@", prelude)
        .replace("@HEADER@", &kind.header(name))
        .replace("@NAME@", name)
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
        // The object's types, dumped once per object: both kinds' drivers include the same file.
        let types_h = dir.join("types.h");
        if !types_h.exists() {
            let types = run(Command::new("bpftool")
                .args(["btf", "dump", "file"])
                .arg(obj)
                .args(["format", "c"]))?;
            std::fs::write(&types_h, types).map_err(|e| e.to_string())?;
        }
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
                cc.args(["-DLIBBPF_SKEL", "-lbpf", "-lelf", "-lz", "-ldl"]);
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

    /// Loads and destroys the skeleton `n` times after one warm-up load: per load, the total
    /// time and the time spent in the object's own load syscalls (zero for the light skeleton,
    /// whose loads happen inside its loader).
    pub fn samples(&self, n: usize) -> Result<Vec<(Duration, Duration)>, String> {
        let out = run(Command::new(&self.exe).arg((n + 1).to_string()))?;
        let text = String::from_utf8_lossy(&out);
        let all: Vec<(Duration, Duration)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace().map(|v| v.parse::<u64>().ok());
                Some((
                    Duration::from_nanos(f.next()??),
                    Duration::from_nanos(f.next()??),
                ))
            })
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
