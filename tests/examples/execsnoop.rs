//! execsnoop: prints every exec of this process's children, from a
//! `tp_btf/sched_process_exec` program that sends typed `struct exec_event` records (pid,
//! ppid, comm, file name) through a ring buffer. It runs a few children of its own
//! (`/bin/true`, `/bin/echo`, `/bin/ls`, and `/usr/bin/env true`, which execs twice) and checks
//! it saw each of their execs with the right comm.
//!
//! Run as root: `cargo run -p lskel-tests --example execsnoop`

use std::collections::BTreeMap;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

lskel::bpf_skeleton!("bpf/execsnoop.bpf.o");
use execsnoop::types::exec_event;

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("execsnoop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut open = execsnoop::open();
    open.rodata.target_ppid = std::process::id() as i32;
    let skel = open.load()?;
    // tp_btf: the target (sched_process_exec) was resolved at load.
    let _link = lskel::attach_raw_tp(skel.progs().handle_exec().expect("autoload is on"), "")?;
    let mut ring = lskel::RingBuffer::new(skel.maps().execs())?;

    // Each child: program, arguments, and the (comm, file name) of each exec expected from it.
    type Child<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let children: [Child<'_>; 4] = [
        ("/bin/true", &[], &[("true", "/bin/true")]),
        ("/bin/echo", &["hello"], &[("echo", "/bin/echo")]),
        ("/bin/ls", &["/"], &[("ls", "/bin/ls")]),
        (
            "/usr/bin/env",
            &["true"],
            &[("env", "/usr/bin/env"), ("true", "/usr/bin/true")],
        ),
    ];
    let mut expected: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    for (path, args, execs) in children {
        let mut child = Command::new(path)
            .args(args)
            .stdout(Stdio::null())
            .spawn()?;
        expected.insert(
            child.id(),
            execs
                .iter()
                .map(|(c, f)| (c.to_string(), f.to_string()))
                .collect(),
        );
        child.wait()?;
    }

    println!("{:>7} {:>7} {:<16} FILENAME", "PID", "PPID", "COMM");
    let mut seen: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    let total: usize = expected.values().map(Vec::len).sum();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut bad = None;
    while seen.values().map(Vec::len).sum::<usize>() < total && Instant::now() < deadline {
        ring.poll(Some(Duration::from_millis(100)), |rec| {
            let Some(e) = exec_event::from_bytes(rec) else {
                bad = Some(format!("a record of {} bytes", rec.len()));
                return;
            };
            println!(
                "{:>7} {:>7} {:<16} {}",
                e.pid,
                e.ppid,
                e.comm_str(),
                e.filename_str()
            );
            seen.entry(e.pid)
                .or_default()
                .push((e.comm_str().into_owned(), e.filename_str().into_owned()));
        })?;
    }
    if let Some(b) = bad {
        return Err(b.into());
    }
    // `/usr/bin/env` may find `true` elsewhere on PATH: compare the comm, and the file name's
    // last component.
    let base = |v: &[(String, String)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(c, f)| (c.clone(), f.rsplit('/').next().unwrap_or("").to_string()))
            .collect()
    };
    for (pid, want) in &expected {
        let got = seen.get(pid).map(Vec::as_slice).unwrap_or(&[]);
        if base(got) != base(want) {
            return Err(format!("child {pid}: expected execs {want:?}, saw {got:?}").into());
        }
    }
    if let Some(pid) = seen.keys().find(|p| !expected.contains_key(p)) {
        return Err(format!("an exec of pid {pid}, which is not a child of ours").into());
    }
    println!(
        "execsnoop: saw all {total} execs of {} children, with the right comm",
        expected.len()
    );
    Ok(())
}
