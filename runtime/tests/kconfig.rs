//! `.kconfig` extern values on this machine's kernel, and the `LSKEL_KCONFIG_PATH` override.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use lskel::kconfig::{self, KconfigExtern, KconfigType, KCONFIG_PATH_ENV};

/// Every test here reads or sets `LSKEL_KCONFIG_PATH`: run them one at a time.
fn env_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

const U32: KconfigType = KconfigType::Int {
    size: 4,
    signed: false,
};
const I32: KconfigType = KconfigType::Int {
    size: 4,
    signed: true,
};

fn ext(name: &'static str, offset: usize, ty: KconfigType, weak: bool) -> KconfigExtern {
    KconfigExtern {
        name,
        offset,
        ty,
        weak,
    }
}

fn u32_at(v: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(v[off..off + 4].try_into().unwrap())
}

/// `KERNEL_VERSION(a, b, min(c, 255))` of `uname -r`, computed independently of the crate.
fn uname_r_version() -> u32 {
    let out = Command::new("uname").arg("-r").output().expect("uname -r");
    let release = String::from_utf8(out.stdout).unwrap();
    let mut parts = release.trim().splitn(3, '.');
    let a: u32 = parts.next().unwrap().parse().unwrap();
    let b: u32 = parts.next().unwrap().parse().unwrap();
    let rest = parts.next().unwrap();
    let c: u32 = rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())]
        .parse()
        .unwrap();
    (a << 16) + (b << 8) + c.min(255)
}

/// The running kernel's config, decompressed by the `gzip` command; `None` when unavailable.
fn system_config_text() -> Option<String> {
    let out = Command::new("gzip")
        .args(["-dc", "/proc/config.gz"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn config_value<'a>(config: &'a str, name: &str) -> Option<&'a str> {
    config
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn running_kernel_values() {
    let _g = env_lock();
    if !std::path::Path::new("/proc/config.gz").exists() {
        eprintln!("skipping: no /proc/config.gz");
        return;
    }
    let externs = [
        ext("LINUX_KERNEL_VERSION", 0, U32, false),
        ext("CONFIG_BPF_SYSCALL", 4, KconfigType::Bool, false),
        ext("CONFIG_BPF", 8, KconfigType::Tristate, false),
        ext("CONFIG_HZ", 12, I32, true),
        ext(
            "CONFIG_DEFAULT_HOSTNAME",
            16,
            KconfigType::Str { len: 16 },
            true,
        ),
        ext("CONFIG_LSKEL_SURELY_ABSENT", 32, KconfigType::Bool, true),
        ext("LINUX_HAS_SYSCALL_WRAPPER", 33, KconfigType::Bool, false),
        ext("LINUX_HAS_BPF_COOKIE", 34, KconfigType::Bool, false),
    ];
    let mut value = [0u8; 40];
    kconfig::fill(&mut value, &externs).unwrap();

    assert_eq!(value[4], 1, "CONFIG_BPF_SYSCALL is y");
    assert_eq!(u32_at(&value, 8), kconfig::TRI_YES, "CONFIG_BPF is y");
    assert_eq!(value[32], 0, "a weak absent CONFIG_ stays 0");

    let version = u32_at(&value, 0);
    assert_eq!(version, kconfig::kernel_version().unwrap());
    let ubuntu = std::path::Path::new("/proc/version_signature").exists();
    let debian =
        std::fs::read_to_string("/proc/sys/kernel/version").is_ok_and(|v| v.contains("Debian "));
    if !ubuntu && !debian {
        assert_eq!(
            version,
            uname_r_version(),
            "LINUX_KERNEL_VERSION matches uname -r"
        );
    }

    // Cross-check the decoder against gzip itself.
    if let Some(config) = system_config_text() {
        let hz = config_value(&config, "CONFIG_HZ").map_or(0, |v| v.parse::<i32>().unwrap());
        assert_eq!(i32::from_ne_bytes(value[12..16].try_into().unwrap()), hz);
        let host =
            config_value(&config, "CONFIG_DEFAULT_HOSTNAME").map_or("", |v| v.trim_matches('"'));
        let want = &host.as_bytes()[..host.len().min(15)];
        assert_eq!(&value[16..16 + want.len()], want);
        assert_eq!(value[16 + want.len()], 0);
    }

    #[cfg(target_arch = "x86_64")]
    {
        let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let has = kallsyms
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some("__x64_sys_bpf"));
        assert_eq!(value[33], u8::from(has), "LINUX_HAS_SYSCALL_WRAPPER");
    }
    // bpf_get_attach_cookie exists since 5.15; the probe needs the bpf syscall (root).
    if version >= (5 << 16) + (15 << 8) && lskel::probe_kernel().is_ok() {
        assert_eq!(value[34], 1, "LINUX_HAS_BPF_COOKIE");
    }
}

#[test]
fn missing_strong_config_names_the_extern() {
    let _g = env_lock();
    if !std::path::Path::new("/proc/config.gz").exists() {
        eprintln!("skipping: no /proc/config.gz");
        return;
    }
    let externs = [ext(
        "CONFIG_LSKEL_SURELY_ABSENT",
        0,
        KconfigType::Bool,
        false,
    )];
    let e = kconfig::fill(&mut [0u8; 1], &externs).unwrap_err();
    assert_eq!(
        e.to_string(),
        "CONFIG_LSKEL_SURELY_ABSENT: not set in /proc/config.gz and not __weak"
    );
}

struct EnvPath(std::path::PathBuf);

impl EnvPath {
    fn set(name: &str, contents: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("lskel-kconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::env::set_var(KCONFIG_PATH_ENV, &path);
        EnvPath(path)
    }
}

impl Drop for EnvPath {
    fn drop(&mut self) {
        std::env::remove_var(KCONFIG_PATH_ENV);
        let _ = std::fs::remove_file(&self.0);
    }
}

const TEST_CONFIG: &str = "\
CONFIG_A=y
CONFIG_B=m
# CONFIG_C is not set
CONFIG_D=0x1f
CONFIG_E=\"hello world\"
";

fn test_externs() -> [KconfigExtern; 5] {
    [
        ext("CONFIG_A", 0, KconfigType::Bool, false),
        ext("CONFIG_B", 4, KconfigType::Tristate, false),
        ext("CONFIG_C", 8, KconfigType::Bool, true),
        ext("CONFIG_D", 12, U32, false),
        ext("CONFIG_E", 16, KconfigType::Str { len: 8 }, false),
    ]
}

fn check_test_values(v: &[u8]) {
    assert_eq!(v[0], 1);
    assert_eq!(u32_at(v, 4), kconfig::TRI_MODULE);
    assert_eq!(v[8], 0);
    assert_eq!(u32_at(v, 12), 0x1f);
    assert_eq!(&v[16..24], b"hello w\0");
}

#[test]
fn env_override_plain_and_gzip() {
    let _g = env_lock();
    {
        let _p = EnvPath::set("plain-config", TEST_CONFIG.as_bytes());
        let mut v = [0u8; 24];
        kconfig::fill(&mut v, &test_externs()).unwrap();
        check_test_values(&v);
    }
    // The same through gzip, recognized by its magic whatever the file name.
    let dir = std::env::temp_dir().join(format!("lskel-kconfig-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cfg"), TEST_CONFIG).unwrap();
    match Command::new("gzip").arg("-f").arg(dir.join("cfg")).status() {
        Ok(s) if s.success() => {
            let gz = std::fs::read(dir.join("cfg.gz")).unwrap();
            let p = EnvPath::set("gz-config-no-suffix", &gz);
            let mut v = [0u8; 24];
            kconfig::fill(&mut v, &test_externs()).unwrap();
            check_test_values(&v);

            // Missing strong extern: the message names the override path.
            let e = kconfig::fill(
                &mut [0u8; 1],
                &[ext("CONFIG_C", 0, KconfigType::Bool, false)],
            )
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("CONFIG_C: not set in {} and not __weak", p.0.display())
            );

            // Corrupted gzip: an error naming the file, not a panic.
            let mut bad = gz.clone();
            let n = bad.len();
            bad[n - 6] ^= 0xff; // CRC-32
            drop(p);
            let p = EnvPath::set("bad-gz", &bad);
            let e = kconfig::fill(&mut v, &test_externs()).unwrap_err();
            let s = e.to_string();
            assert!(
                s.starts_with(&p.0.display().to_string()) && s.contains("CRC"),
                "{s}"
            );
        }
        _ => eprintln!("skipping the gzip half: gzip is not installed"),
    }
    let _ = std::fs::remove_dir_all(&dir);

    // A bad value names the extern and the value.
    let _p = EnvPath::set("bad-value", b"CONFIG_D=y\n");
    let e = kconfig::fill(&mut [0u8; 4], &[ext("CONFIG_D", 0, U32, false)]).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("CONFIG_D: value 'y' implies bool, tristate, or char type"),
        "{s}"
    );
}

#[test]
fn missing_override_file_is_an_error() {
    let _g = env_lock();
    std::env::set_var(KCONFIG_PATH_ENV, "/nonexistent/lskel-config");
    let r = kconfig::fill(
        &mut [0u8; 1],
        &[ext("CONFIG_A", 0, KconfigType::Bool, true)],
    );
    std::env::remove_var(KCONFIG_PATH_ENV);
    let s = r.unwrap_err().to_string();
    assert!(s.starts_with("/nonexistent/lskel-config: "), "{s}");
    // No CONFIG_ extern: the config is not read at all.
    std::env::set_var(KCONFIG_PATH_ENV, "/nonexistent/lskel-config");
    let r = kconfig::fill(&mut [0u8; 4], &[ext("LINUX_KERNEL_VERSION", 0, U32, false)]);
    std::env::remove_var(KCONFIG_PATH_ENV);
    r.unwrap();
}
