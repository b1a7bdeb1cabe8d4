//! Example: which files this process opens, and how often, from two tracepoints.
//!
//! `tracepoint/syscalls/sys_enter_openat` and `sys_exit_openat` say where, so `skel.attach()`
//! attaches both. The programs count every `openat` of this process in `opens`, a hash map keyed
//! by the file name: the skeleton hands it out typed (`TypedMap<types::path_key,
//! types::open_stat>`) and the `char name[64]` key reads as a string. The example opens a file
//! that exists and one that does not, then checks the counts and the last return values.
//! Run as root: `cargo run -p lskel-tests --example opensnoop`

use std::process::ExitCode;

lskel::bpf_skeleton!("bpf/opensnoop.bpf.o");

const PRESENT: &str = "/proc/self/stat";
const ABSENT: &str = "/nonexistent/lskel-opensnoop";

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opensnoop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut open = opensnoop::open();
    open.rodata.target_pid = std::process::id() as i32;
    let mut skel = open.load()?;
    skel.attach()?;

    for _ in 0..5 {
        std::fs::File::open(PRESENT)?;
    }
    for _ in 0..3 {
        if std::fs::File::open(ABSENT).is_ok() {
            return Err(format!("{ABSENT} exists").into());
        }
    }
    // Stop tracing before reading, so the reads below are not counted meanwhile.
    skel.links_mut().detach_all();

    let opens = skel.maps().opens();
    let mut rows = Vec::new();
    for entry in opens.iter() {
        let (key, stat) = entry?;
        rows.push((key.name_str().into_owned(), stat));
    }
    rows.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(&b.0)));
    println!("{:>6} {:>6} {:>9}  FILE", "CALLS", "FAILED", "LAST RET");
    for (name, stat) in &rows {
        println!(
            "{:>6} {:>6} {:>9}  {name}",
            stat.calls, stat.failures, stat.last_ret
        );
    }

    // Look both files up by key: the typed map takes the C struct, filled from a string.
    let key = |path: &str| {
        let mut k = opensnoop::types::path_key::default();
        k.set_name_str(path);
        k
    };
    let present = (opens.get(&key(PRESENT))?).ok_or(format!("no openat of {PRESENT} seen"))?;
    let absent = (opens.get(&key(ABSENT))?).ok_or(format!("no openat of {ABSENT} seen"))?;
    if present.calls != 5 || present.failures != 0 || present.last_ret < 0 {
        return Err(format!("{PRESENT}: expected 5 successful opens, saw {present:?}").into());
    }
    if absent.calls != 3 || absent.failures != 3 || absent.last_ret != -i64::from(libc::ENOENT) {
        return Err(format!("{ABSENT}: expected 3 failures with ENOENT, saw {absent:?}").into());
    }
    println!("ok: {PRESENT} opened 5 times, {ABSENT} failed 3 times with ENOENT");
    Ok(())
}
