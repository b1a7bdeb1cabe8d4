//! kconfig.bpf.o: `__kconfig` externs. The runtime computes the `.kconfig` values at load time
//! from the running kernel (`uname`, `/proc/config.gz`) or from the file named by
//! `LSKEL_KCONFIG_PATH`; these tests check the values the program sees against what the test
//! itself reads from the system, and that a custom config file changes them without a rebuild.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use lskel_tests::{c_chars, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/kconfig.bpf.o");

/// Every test of this file: some set `LSKEL_KCONFIG_PATH`, which the others must not see.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const ENV: &str = "LSKEL_KCONFIG_PATH";

/// Sets `LSKEL_KCONFIG_PATH` to a file holding `contents` for as long as it lives; removes the
/// variable and the file on drop. Only while holding [`lock`].
struct CustomConfig(PathBuf);

impl CustomConfig {
    fn new(tag: &str, contents: &[u8]) -> CustomConfig {
        let path = std::env::temp_dir().join(format!(
            "lskel_kconfig_test_{}_{tag}.config",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        std::env::set_var(ENV, &path);
        CustomConfig(path)
    }
}

impl Drop for CustomConfig {
    fn drop(&mut self) {
        std::env::remove_var(ENV);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `KERNEL_VERSION(a, b, min(c, 255))` of `uname -r` (`"6.18.44-fc-v782"`), parsed here.
fn kernel_version_from_uname() -> u32 {
    let out = Command::new("uname").arg("-r").output().expect("uname -r");
    assert!(out.status.success());
    let release = String::from_utf8(out.stdout).unwrap();
    let mut nums = release.trim().split(['.', '-', '+']).map(|s| {
        let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<u32>().unwrap_or(0)
    });
    let (a, b, c) = (
        nums.next().unwrap(),
        nums.next().unwrap(),
        nums.next().unwrap_or(0),
    );
    (a << 16) + (b << 8) + c.min(255)
}

/// `CONFIG_*=value` lines of `/proc/config.gz`, decompressed with `gzip -dc`.
fn system_config() -> HashMap<String, String> {
    let out = Command::new("gzip")
        .args(["-dc", "/proc/config.gz"])
        .output()
        .expect("run gzip -dc /proc/config.gz");
    assert!(out.status.success(), "gzip -dc /proc/config.gz failed");
    parse_config(&String::from_utf8_lossy(&out.stdout))
}

fn parse_config(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                map.entry(k.to_string()).or_insert_with(|| v.to_string());
            }
        }
    }
    map
}

/// What a program sees for a `bool` / tristate option.
fn tristate(config: &HashMap<String, String>, name: &str) -> u32 {
    match config.get(name).map(String::as_str) {
        Some("y") => 1,
        Some("m") => 2,
        _ => 0,
    }
}

fn string(config: &HashMap<String, String>, name: &str) -> String {
    let v = config.get(name).unwrap_or_else(|| panic!("{name} not set"));
    v.trim_matches('"').to_string()
}

fn number(config: &HashMap<String, String>, name: &str) -> u64 {
    config
        .get(name)
        .unwrap_or_else(|| panic!("{name} not set"))
        .parse()
        .unwrap()
}

fn load_and_run() -> kconfig::Skel {
    let skel = kconfig::open().load().unwrap();
    assert_eq!(
        run_syscall_prog(skel.progs().kconfig_run().unwrap(), &mut []).unwrap(),
        0
    );
    assert_eq!(skel.bss().runs(), 1);
    skel
}

#[test]
fn linux_kernel_version_matches_uname() {
    let _g = lock();
    require_kernel!();
    let skel = load_and_run();
    let expected = kernel_version_from_uname();
    assert_eq!({ skel.bss().kernel_version() }, expected);
    assert_eq!({ skel.kconfig().LINUX_KERNEL_VERSION }, expected);
    assert_eq!(
        lskel::kconfig::kernel_version().unwrap(),
        expected,
        "runtime's own computation"
    );
}

#[test]
fn config_values_match_proc_config() {
    let _g = lock();
    require_kernel!();
    let config = system_config();
    let skel = load_and_run();
    let b = skel.bss().read();
    assert_eq!(
        b.bpf_syscall, 1,
        "CONFIG_BPF_SYSCALL (the bpf syscall works)"
    );
    assert_eq!(b.bpf_syscall, tristate(&config, "CONFIG_BPF_SYSCALL"));
    assert_eq!(
        b.bpf_jit,
        tristate(&config, "CONFIG_BPF_JIT"),
        "CONFIG_BPF_JIT"
    );
    assert_eq!(b.hz as u64, number(&config, "CONFIG_HZ"), "CONFIG_HZ");
    assert_eq!(
        b.nr_cpus,
        number(&config, "CONFIG_NR_CPUS"),
        "CONFIG_NR_CPUS"
    );
    assert_eq!(
        c_chars(&b.localversion),
        string(&config, "CONFIG_LOCALVERSION"),
        "CONFIG_LOCALVERSION"
    );
    // The tail of the char[16] is NUL-padded.
    let lv_len = string(&config, "CONFIG_LOCALVERSION").len().min(15);
    assert!(b.localversion[lv_len..].iter().all(|&c| c == 0));
    assert_eq!(
        b.kallsyms_all,
        tristate(&config, "CONFIG_KALLSYMS_ALL"),
        "CONFIG_KALLSYMS_ALL (weak)"
    );
    assert_eq!(b.no_such_option, 0, "weak missing option");

    // The frozen, read-only `.kconfig` map holds the same values.
    let k = *skel.kconfig();
    assert_eq!({ k.CONFIG_HZ } as u64, number(&config, "CONFIG_HZ"));
    assert_eq!({ k.CONFIG_NR_CPUS }, number(&config, "CONFIG_NR_CPUS"));
    assert_eq!({ k.CONFIG_BPF_SYSCALL }, 1);
    assert_eq!({ k.CONFIG_BPF_JIT }, b.bpf_jit);
    assert_eq!({ k.CONFIG_LSKEL_NO_SUCH_OPTION }, 0);
    assert_eq!(
        c_chars(&{ k.CONFIG_LOCALVERSION }),
        c_chars(&b.localversion)
    );
}

const CUSTOM: &str = "\
# a hand-written config
CONFIG_HZ=1000
CONFIG_NR_CPUS=8
CONFIG_BPF_SYSCALL=y
CONFIG_BPF_JIT=m
CONFIG_LOCALVERSION=\"-lskel-test\"
CONFIG_KALLSYMS_ALL=y
CONFIG_LSKEL_NO_SUCH_OPTION=-42
";

fn assert_custom_values(skel: &kconfig::Skel) {
    let b = skel.bss().read();
    assert_eq!(b.hz, 1000, "CONFIG_HZ");
    assert_eq!(b.nr_cpus, 8, "CONFIG_NR_CPUS");
    assert_eq!(b.bpf_syscall, 1, "CONFIG_BPF_SYSCALL");
    assert_eq!(b.bpf_jit, 2, "CONFIG_BPF_JIT=m is TRI_MODULE");
    assert_eq!(c_chars(&b.localversion), "-lskel-test");
    assert_eq!(b.kallsyms_all, 1, "CONFIG_KALLSYMS_ALL (weak, now set)");
    assert_eq!(
        b.no_such_option, -42,
        "CONFIG_LSKEL_NO_SUCH_OPTION (weak, now set)"
    );
    // LINUX_KERNEL_VERSION does not come from the config file.
    assert_eq!(b.kernel_version, kernel_version_from_uname());
}

#[test]
fn custom_config_file_is_read_at_load_time() {
    let _g = lock();
    require_kernel!();
    let system = system_config();
    {
        let _cfg = CustomConfig::new("plain", CUSTOM.as_bytes());
        let skel = load_and_run();
        assert_custom_values(&skel);
        assert_eq!({ skel.kconfig().CONFIG_HZ }, 1000);
    }
    // The same compiled skeleton, loaded again without the variable: the system's values.
    let skel = load_and_run();
    assert_eq!(skel.bss().hz() as u64, number(&system, "CONFIG_HZ"));
    assert_eq!({ skel.bss().nr_cpus() }, number(&system, "CONFIG_NR_CPUS"));
}

#[test]
fn custom_gzip_config_file() {
    let _g = lock();
    require_kernel!();
    let mut gz = Command::new("gzip")
        .args(["-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run gzip -c");
    {
        use std::io::Write;
        let mut stdin = gz.stdin.take().unwrap();
        stdin.write_all(CUSTOM.as_bytes()).unwrap();
    }
    let out = gz.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b], "gzip magic");
    let _cfg = CustomConfig::new("gz", &out.stdout);
    let skel = load_and_run();
    assert_custom_values(&skel);
}

#[test]
fn custom_config_without_weak_options_leaves_them_zero() {
    let _g = lock();
    require_kernel!();
    let _cfg = CustomConfig::new(
        "noweak",
        b"CONFIG_HZ=100\nCONFIG_NR_CPUS=1\nCONFIG_BPF_SYSCALL=n\nCONFIG_BPF_JIT=n\n\
          CONFIG_LOCALVERSION=\"\"\n# CONFIG_KALLSYMS_ALL is not set\n",
    );
    let skel = load_and_run();
    let b = skel.bss().read();
    assert_eq!((b.hz, b.nr_cpus), (100, 1));
    assert_eq!((b.bpf_syscall, b.bpf_jit), (0, 0), "=n is 0");
    assert_eq!(c_chars(&b.localversion), "");
    assert!(b.localversion.iter().all(|&c| c == 0));
    assert_eq!((b.kallsyms_all, b.no_such_option), (0, 0), "weak, unset");
}

fn expect_kconfig_error(tag: &str, contents: &str, name: &str) -> String {
    let _cfg = CustomConfig::new(tag, contents.as_bytes());
    let err = match kconfig::open().load() {
        Ok(_) => panic!("{tag}: the load succeeded without {name}"),
        Err(e) => e,
    };
    let text = err.to_string();
    match &err {
        lskel::Error::Kconfig { name: got, .. } => assert_eq!(got, name, "{text}"),
        other => panic!("{tag}: expected Error::Kconfig naming {name}, got {other:?}"),
    }
    assert!(text.contains(name), "{tag}: {text}");
    text
}

#[test]
fn custom_config_lacking_a_strong_option_fails_naming_it() {
    let _g = lock();
    require_kernel!();
    let without_hz: String = CUSTOM
        .lines()
        .filter(|l| !l.starts_with("CONFIG_HZ="))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = expect_kconfig_error("nohz", &without_hz, "CONFIG_HZ");
    assert!(text.contains("not __weak"), "{text}");

    // "is not set" is the same as absent.
    let not_set = without_hz.clone() + "# CONFIG_HZ is not set\n";
    expect_kconfig_error("hz_not_set", &not_set, "CONFIG_HZ");

    // A value that does not fit the extern's type names the extern too.
    let bad_type = format!("CONFIG_HZ=\"fast\"\n{without_hz}");
    expect_kconfig_error("hz_string", &bad_type, "CONFIG_HZ");
    let too_big = format!("CONFIG_BPF_SYSCALL=7\n{CUSTOM}");
    expect_kconfig_error("bool_7", &too_big, "CONFIG_BPF_SYSCALL");
}

#[test]
fn unreadable_custom_config_path_fails() {
    let _g = lock();
    require_kernel!();
    let path = std::env::temp_dir().join(format!(
        "lskel_kconfig_test_{}_does_not_exist",
        std::process::id()
    ));
    std::env::set_var(ENV, &path);
    let result = kconfig::open().load();
    std::env::remove_var(ENV);
    let err = match result {
        Ok(_) => panic!("loaded with a missing {ENV} file"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(matches!(err, lskel::Error::Kconfig { .. }), "{err:?}");
    assert!(text.contains(&*path.to_string_lossy()), "{text}");
}
