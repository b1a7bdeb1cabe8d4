//! Example: a uprobe and a uretprobe on a function of this program, found by symbol.
//!
//! The sections `uprobe//proc/self/exe:lskel_example_work` say where, so `skel.attach()`
//! attaches both; the example then calls the function, reads the counts from `.bss` and checks
//! them. Run as root: `cargo run -p lskel-tests --example uprobe`

use std::process::ExitCode;

lskel::bpf_skeleton!("bpf/ex_uprobe.bpf.o");

/// The probed function: not inlined, and kept under its C name so the probe finds it.
#[no_mangle]
#[inline(never)]
pub extern "C" fn lskel_example_work(x: u64) -> u64 {
    std::hint::black_box(x * 2)
}

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uprobe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut skel = ex_uprobe::open().load()?;
    skel.attach()?;
    const N: u64 = 1000;
    let mut total = 0;
    for i in 1..=N {
        total += lskel_example_work(i);
    }
    let b = skel.bss();
    let (calls, returns, args, rets) = (b.calls(), b.returns(), b.arg_sum(), b.ret_sum());
    println!("lskel_example_work: {calls} calls, {returns} returns, sum of arguments {args}, sum of results {rets}");
    let want_args = N * (N + 1) / 2;
    if calls != N || returns != N || args != want_args || rets != total {
        return Err(format!(
            "expected {N} calls and returns, argument sum {want_args}, result sum {total}"
        )
        .into());
    }
    // Detach the entry probe: calls stop counting, returns go on.
    skel.links_mut().detach_on_work();
    lskel_example_work(1);
    if skel.bss().calls() != N || skel.bss().returns() != N + 1 {
        return Err("after detaching the entry probe, only returns should count".into());
    }
    println!("ok: every call seen; the detached entry probe stopped counting");
    Ok(())
}
