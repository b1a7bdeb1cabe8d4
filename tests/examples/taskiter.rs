//! Example: a ps-like process list from a BPF task iterator (`SEC("iter/task")`, lines
//! written with `bpf_seq_printf`).
//!
//! `skel.attach()` makes the iterator link; each read of it runs the program over every task.
//! The example prints the first lines and checks that it finds itself, with its parent and
//! name. Run as root: `cargo run -p lskel-tests --example taskiter`

use std::process::ExitCode;

lskel::bpf_skeleton!("bpf/ex_taskiter.bpf.o");

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taskiter: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut skel = ex_taskiter::open().load()?;
    skel.attach()?;
    let link = skel.links().ps().ok_or("the iterator is not attached")?;
    let out = lskel::read_iter_to_string(link)?;
    let rows: Vec<(u32, u32, &str)> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ' ');
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?))
        })
        .collect();
    println!("{:>7} {:>7}  COMM", "PID", "PPID");
    for (pid, ppid, comm) in rows.iter().take(10) {
        println!("{pid:>7} {ppid:>7}  {comm}");
    }
    println!("... {} processes", rows.len());

    let me = std::process::id();
    let ppid = std::os::unix::process::parent_id();
    let comm = std::fs::read_to_string("/proc/self/comm")?;
    let comm = comm.trim();
    match rows.iter().find(|r| r.0 == me) {
        Some(&(_, p, c)) if p == ppid && c == comm => {
            println!("ok: found myself: {me} {p} {c}");
            Ok(())
        }
        Some(r) => Err(format!("own row {r:?}, expected ({me}, {ppid}, {comm:?})").into()),
        None => Err(format!("pid {me} not in the iterator's output").into()),
    }
}
