//! Loads under signal storms: a handler installed without `SA_RESTART` (a profiler's timer, a
//! Ctrl-C handler) and a signal every 50 µs or 10 ms aimed at the loading thread. The verifier
//! gives up with EAGAIN when a signal is pending; every load must still succeed and leave no
//! descriptor behind.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lskel_tests::{open_fds, require_kernel};

lskel::bpf_skeleton!("bpf/multi.bpf.o");

static DELIVERED: AtomicU64 = AtomicU64::new(0);
/// The tests count this process's descriptors: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

extern "C" fn on_signal(_: libc::c_int) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
}

/// Installs the counting handler for SIGUSR1 without `SA_RESTART`.
fn install_handler() {
    // SAFETY: a zeroed sigaction with a handler that only touches an atomic is valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Loads `n` times while another thread sends SIGUSR1 to this one every `every`.
fn loads_under_signals(n: usize, every: Duration) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    let sender = std::thread::spawn(move || {
        let mut sent = 0u64;
        while !stopper.load(Ordering::Relaxed) {
            // SAFETY: `me` is the test thread, alive until it joins this one.
            unsafe { libc::pthread_kill(me, libc::SIGUSR1) };
            sent += 1;
            std::thread::sleep(every);
        }
        sent
    });
    let before = open_fds();
    let delivered = DELIVERED.load(Ordering::Relaxed);
    let mut failures = Vec::new();
    for i in 0..n {
        match multi::open().load() {
            Ok(skel) => drop(skel),
            Err(e) => failures.push(format!("load {i}: {e}")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {n} loads failed: {failures:?}",
        failures.len()
    );
    assert!(
        sent > 0 && DELIVERED.load(Ordering::Relaxed) > delivered,
        "signals arrived"
    );
    assert_eq!(open_fds(), before, "no descriptor left behind");
}

#[test]
fn loads_succeed_under_a_signal_every_50_microseconds() {
    require_kernel!();
    loads_under_signals(30, Duration::from_micros(50));
}

#[test]
fn loads_succeed_under_a_signal_every_10_milliseconds() {
    require_kernel!();
    loads_under_signals(30, Duration::from_millis(10));
}
