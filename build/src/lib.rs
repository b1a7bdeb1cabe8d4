//! `lskel-build`: compile BPF C from a build script, for `lskel::bpf_skeleton!`.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), lskel_build::Error> {
//!     let obj = lskel_build::BpfBuilder::new("src/bpf/prog.bpf.c")
//!         .include("src/bpf/include")
//!         .define("MAX_ENTRIES", "1024")
//!         .vmlinux_h(true) // write OUT_DIR/include/vmlinux.h from /sys/kernel/btf/vmlinux
//!         .build()?; // OUT_DIR/prog.bpf.o, plus `cargo:rerun-if-changed` lines
//!     assert!(obj.ends_with("prog.bpf.o"));
//!     Ok(())
//! }
//! ```
//!
//! and in the crate: `lskel::bpf_skeleton!("$OUT_DIR/prog.bpf.o");` (or
//! `bpf_skeleton!(concat!(env!("OUT_DIR"), "/prog.bpf.o"))`).
//!
//! The compiler is `$CLANG` if set, else the first of `clang`, `clang-21` ... `clang-14` on
//! `PATH`. It runs as `clang -g -O2 -target bpf -D__TARGET_ARCH_<arch>` (the kernel's name
//! for `CARGO_CFG_TARGET_ARCH`: `x86`, `arm64`, `riscv`...), with the include directories and
//! defines given, and writes a dependency file (`-MD -MF`) from which every header the source
//! included gets a `cargo:rerun-if-changed` line, as the source does. `vmlinux.h` is written
//! in Rust by `lskel-gen` from the kernel's BTF (or a BTF file given): no bpftool needed.

#![deny(missing_docs)]

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the running kernel's BTF is.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Compilers tried, in order, when `CLANG` is not set.
pub const CLANG_CANDIDATES: &[&str] = &[
    "clang", "clang-21", "clang-20", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15",
    "clang-14",
];

/// Why a BPF object could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No compiler: `tried` lists what was looked for (names searched on `PATH`, or the
    /// `CLANG` value or path given).
    ClangNotFound {
        /// What was tried, in order.
        tried: Vec<String>,
    },
    /// The compiler ran and failed.
    Compile {
        /// The command line.
        command: String,
        /// Its exit status, as text.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// What was being done.
        what: String,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The BTF for `vmlinux.h` could not be turned into C.
    Btf {
        /// The BTF file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A setting is missing or unusable (OUT_DIR unset, an unknown target architecture...).
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ClangNotFound { tried } => write!(
                f,
                "no clang found to compile BPF C (tried {}); install clang or set CLANG to its path",
                tried.join(", ")
            ),
            Error::Compile {
                command,
                status,
                stderr,
            } => write!(f, "`{command}` failed ({status}):\n{stderr}"),
            Error::Io { what, path, source } => {
                write!(f, "cannot {what} {}: {source}", path.display())
            }
            Error::Btf { path, message } => {
                write!(f, "cannot write vmlinux.h from {}: {message}", path.display())
            }
            Error::Config(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let (what, path) = (what.to_string(), path.to_path_buf());
    move |source| Error::Io { what, path, source }
}

/// The kernel's architecture name (`__TARGET_ARCH_<name>`, as libbpf's `bpf_tracing.h`
/// expects) for a Rust `target_arch` (or a kernel name, returned as is).
pub fn kernel_arch(target_arch: &str) -> Option<&'static str> {
    Some(match target_arch {
        "x86_64" | "x86" => "x86",
        "aarch64" | "arm64" => "arm64",
        "arm" => "arm",
        "riscv64" | "riscv32" | "riscv" => "riscv",
        "powerpc64" | "powerpc" => "powerpc",
        "s390x" | "s390" => "s390",
        "mips" | "mips64" => "mips",
        "loongarch64" | "loongarch" => "loongarch",
        "sparc64" | "sparc" => "sparc",
        "arc" => "arc",
        _ => return None,
    })
}

/// The result of a compile: the object and every file it was built from.
#[derive(Clone, Debug)]
pub struct Output {
    /// The BPF object.
    pub object: PathBuf,
    /// The source and every header it included, from the compiler's dependency file (files
    /// the build wrote into the output directory, such as `vmlinux.h`, are left out).
    pub dependencies: Vec<PathBuf>,
    /// The compiler used.
    pub clang: PathBuf,
}

impl Output {
    /// The lines [`BpfBuilder::build`] prints: `cargo:rerun-if-changed=` for each
    /// dependency, and `cargo:rerun-if-env-changed=CLANG`.
    pub fn cargo_rerun_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .dependencies
            .iter()
            .map(|d| format!("cargo:rerun-if-changed={}", d.display()))
            .collect();
        lines.push("cargo:rerun-if-env-changed=CLANG".into());
        lines
    }
}

/// Builds one BPF C source into an object, for a build script. See the crate docs.
#[derive(Clone, Debug)]
pub struct BpfBuilder {
    source: PathBuf,
    includes: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
    flags: Vec<OsString>,
    vmlinux_h: bool,
    btf: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    object_name: Option<String>,
    clang: Option<PathBuf>,
    target_arch: Option<String>,
    asm_includes: bool,
}

impl BpfBuilder {
    /// A build of `source` (relative paths are relative to the current directory, which for a
    /// build script is the crate root).
    pub fn new(source: impl Into<PathBuf>) -> Self {
        BpfBuilder {
            source: source.into(),
            includes: Vec::new(),
            defines: Vec::new(),
            flags: Vec::new(),
            vmlinux_h: false,
            btf: None,
            out_dir: None,
            object_name: None,
            clang: None,
            target_arch: None,
            asm_includes: true,
        }
    }

    /// Adds an include directory (`-I`).
    pub fn include(mut self, dir: impl Into<PathBuf>) -> Self {
        self.includes.push(dir.into());
        self
    }

    /// Defines a macro (`-DNAME=VALUE`).
    pub fn define(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.defines.push((name.into(), Some(value.into())));
        self
    }

    /// Defines a macro without a value (`-DNAME`).
    pub fn define_flag(mut self, name: impl Into<String>) -> Self {
        self.defines.push((name.into(), None));
        self
    }

    /// Passes one more argument to clang (e.g. `-mcpu=v3`, `-Wall`).
    pub fn flag(mut self, arg: impl Into<OsString>) -> Self {
        self.flags.push(arg.into());
        self
    }

    /// Writes `vmlinux.h` into `<out dir>/include` (on the include path) from the kernel's BTF,
    /// or from the file given to [`BpfBuilder::btf`].
    pub fn vmlinux_h(mut self, on: bool) -> Self {
        self.vmlinux_h = on;
        self
    }

    /// The BTF file `vmlinux.h` is written from (default [`KERNEL_BTF`]); turns `vmlinux_h` on.
    pub fn btf(mut self, path: impl Into<PathBuf>) -> Self {
        self.btf = Some(path.into());
        self.vmlinux_h = true;
        self
    }

    /// Where the object (and `include/vmlinux.h`) go; default `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The object's file name; default the source's with `.c` replaced by `.o`
    /// (`prog.bpf.c` -> `prog.bpf.o`).
    pub fn object_name(mut self, name: impl Into<String>) -> Self {
        self.object_name = Some(name.into());
        self
    }

    /// The compiler to use instead of looking for one.
    pub fn clang(mut self, path: impl Into<PathBuf>) -> Self {
        self.clang = Some(path.into());
        self
    }

    /// The target architecture, as Rust (`x86_64`, `aarch64`) or the kernel (`x86`, `arm64`)
    /// names it; default `CARGO_CFG_TARGET_ARCH`, else the host's.
    pub fn target_arch(mut self, arch: impl Into<String>) -> Self {
        self.target_arch = Some(arch.into());
        self
    }

    /// Whether `/usr/include/<arch>-linux-gnu` (where Debian-like systems keep `<asm/*.h>`,
    /// needed by `<linux/*.h>`) is searched after everything else (`-idirafter`) when it
    /// exists; default on.
    pub fn system_asm_includes(mut self, on: bool) -> Self {
        self.asm_includes = on;
        self
    }

    /// Compiles, prints the `cargo:rerun-if-changed` lines, and returns the object's path.
    pub fn build(&self) -> Result<PathBuf, Error> {
        let out = self.compile()?;
        for line in out.cargo_rerun_lines() {
            println!("{line}");
        }
        Ok(out.object)
    }

    /// Compiles without printing anything: the object and its dependencies.
    pub fn compile(&self) -> Result<Output, Error> {
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::Config(
                        "OUT_DIR is not set: call this from a build script, or give out_dir()"
                            .into(),
                    )
                })?,
        };
        std::fs::create_dir_all(&out_dir).map_err(io_err("create", &out_dir))?;
        let clang = self.find_clang()?;
        let arch_name = match &self.target_arch {
            Some(a) => a.clone(),
            None => std::env::var("CARGO_CFG_TARGET_ARCH")
                .unwrap_or_else(|_| std::env::consts::ARCH.to_string()),
        };
        let arch = kernel_arch(&arch_name).ok_or_else(|| {
            Error::Config(format!(
                "no kernel architecture name known for target_arch `{arch_name}`; give one with target_arch(\"x86\")"
            ))
        })?;
        let name = match &self.object_name {
            Some(n) => n.clone(),
            None => {
                let file = self
                    .source
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "source {} has no UTF-8 file name",
                            self.source.display()
                        ))
                    })?;
                match file.strip_suffix(".c") {
                    Some(stem) => format!("{stem}.o"),
                    None => format!("{file}.o"),
                }
            }
        };
        let object = out_dir.join(&name);
        let depfile = out_dir.join(format!("{name}.d"));

        let mut cmd = Command::new(&clang);
        cmd.args(["-g", "-O2", "-target", "bpf"])
            .arg(format!("-D__TARGET_ARCH_{arch}"));
        if self.vmlinux_h {
            let include = out_dir.join("include");
            self.write_vmlinux_h(&include)?;
            cmd.arg("-I").arg(&include);
        }
        for dir in &self.includes {
            cmd.arg("-I").arg(dir);
        }
        // `<linux/*.h>` includes `<asm/*.h>`, which distributions keep in a per-target
        // directory that `-target bpf` does not search; it goes last, as a fallback.
        if let Some(dir) = self.asm_include_dir(&arch_name) {
            cmd.arg("-idirafter").arg(dir);
        }
        for (k, v) in &self.defines {
            match v {
                Some(v) => cmd.arg(format!("-D{k}={v}")),
                None => cmd.arg(format!("-D{k}")),
            };
        }
        cmd.args(&self.flags)
            .arg("-MD")
            .arg("-MF")
            .arg(&depfile)
            .arg("-c")
            .arg(&self.source)
            .arg("-o")
            .arg(&object);
        let shown = format!("{cmd:?}").replace('"', "");
        let result = cmd.output().map_err(|e| Error::Io {
            what: "run".into(),
            path: clang.clone(),
            source: e,
        })?;
        if !result.status.success() {
            return Err(Error::Compile {
                command: shown,
                status: result.status.to_string(),
                stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
            });
        }
        let deps = std::fs::read_to_string(&depfile).map_err(io_err("read", &depfile))?;
        let out_canon = out_dir.canonicalize().unwrap_or(out_dir.clone());
        let mut dependencies = Vec::new();
        for dep in parse_depfile(&deps) {
            let path = PathBuf::from(dep);
            let path = path.canonicalize().unwrap_or(path);
            if path.starts_with(&out_canon) || dependencies.contains(&path) {
                continue;
            }
            dependencies.push(path);
        }
        if self.vmlinux_h {
            // A new kernel (a reboot) gives the sysfs file a new timestamp: vmlinux.h is
            // rewritten then.
            dependencies.push(
                self.btf
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(KERNEL_BTF)),
            );
        }
        Ok(Output {
            object,
            dependencies,
            clang,
        })
    }

    /// Writes `dir/vmlinux.h` unless it already holds the same text (so its timestamp only
    /// moves when the kernel's types do).
    fn write_vmlinux_h(&self, dir: &Path) -> Result<(), Error> {
        let btf = self
            .btf
            .clone()
            .unwrap_or_else(|| PathBuf::from(KERNEL_BTF));
        let data = std::fs::read(&btf).map_err(io_err("read BTF", &btf))?;
        let text =
            lskel_gen::btf::cdump::vmlinux_header_from_bytes(&data).map_err(|e| Error::Btf {
                path: btf.clone(),
                message: e.to_string(),
            })?;
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let header = dir.join("vmlinux.h");
        if std::fs::read(&header).ok().as_deref() != Some(text.as_bytes()) {
            std::fs::write(&header, text).map_err(io_err("write", &header))?;
        }
        Ok(())
    }

    /// `/usr/include/<arch>-linux-gnu` (Debian's multiarch directory) when it holds `asm/`,
    /// unless [`BpfBuilder::system_asm_includes`] turned it off.
    fn asm_include_dir(&self, arch: &str) -> Option<PathBuf> {
        if !self.asm_includes {
            return None;
        }
        let triple = match arch {
            "x86" => "x86_64".to_string(),
            "arm64" => "aarch64".to_string(),
            "arm" => {
                return Some(PathBuf::from("/usr/include/arm-linux-gnueabihf"))
                    .filter(|d| d.join("asm").is_dir())
            }
            "powerpc64" => "powerpc64le".to_string(),
            a => a.to_string(),
        };
        Some(PathBuf::from(format!("/usr/include/{triple}-linux-gnu")))
            .filter(|d| d.join("asm").is_dir())
    }

    fn find_clang(&self) -> Result<PathBuf, Error> {
        let (names, what): (Vec<PathBuf>, &str) = match (&self.clang, std::env::var_os("CLANG")) {
            (Some(c), _) => (vec![c.clone()], "clang()"),
            (None, Some(c)) => (vec![PathBuf::from(c)], "CLANG"),
            (None, None) => (CLANG_CANDIDATES.iter().map(PathBuf::from).collect(), "PATH"),
        };
        let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        for name in &names {
            if name.components().count() > 1 {
                if is_executable(name) {
                    return Ok(name.clone());
                }
                continue;
            }
            if let Some(found) = path_dirs
                .iter()
                .map(|d| d.join(name))
                .find(|p| is_executable(p))
            {
                return Ok(found);
            }
        }
        Err(Error::ClangNotFound {
            tried: names
                .iter()
                .map(|n| format!("`{}` ({what})", n.display()))
                .collect(),
        })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The prerequisites of a Makefile rule as clang's `-MD` writes it (`obj: a b \` lines,
/// spaces escaped as `\ `, `$` as `$$`).
pub fn parse_depfile(text: &str) -> Vec<String> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        // The target ends at the first `:` followed by whitespace or the end.
        let bytes = line.as_bytes();
        let Some(colon) = (0..bytes.len()).find(|&i| {
            bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace())
        }) else {
            continue;
        };
        let mut cur = String::new();
        let mut chars = line[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some(' ') | Some('#')) => {
                    cur.push(chars.next().unwrap_or(' '))
                }
                '$' if chars.peek() == Some(&'$') => {
                    chars.next();
                    cur.push('$');
                }
                c if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfiles_parse() {
        let d =
            "/o/x.bpf.o: src/x.bpf.c /usr/include/bpf/bpf_helpers.h \\\n  my\\ dir/a.h b$$c.h\n";
        assert_eq!(
            parse_depfile(d),
            [
                "src/x.bpf.c",
                "/usr/include/bpf/bpf_helpers.h",
                "my dir/a.h",
                "b$c.h"
            ]
        );
        assert!(parse_depfile("").is_empty());
    }

    #[test]
    fn arch_names() {
        assert_eq!(kernel_arch("x86_64"), Some("x86"));
        assert_eq!(kernel_arch("aarch64"), Some("arm64"));
        assert_eq!(kernel_arch("riscv64"), Some("riscv"));
        assert_eq!(kernel_arch("s390x"), Some("s390"));
        assert_eq!(kernel_arch("arm64"), Some("arm64"));
        assert_eq!(kernel_arch("wasm32"), None);
    }
}
