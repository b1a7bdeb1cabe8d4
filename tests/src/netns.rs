//! Two fresh network namespaces joined by a veth pair, for the tests and examples that attach
//! to an interface (xdp, tc, tcx, sk_lookup, netfilter) and send traffic across it without
//! touching the host's interfaces.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

/// Runs `ip ARGS`, with its stderr as the error.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Network namespaces `a` and `b` joined by a veth pair, each end with a /24 address, both
/// ends and both loopbacks up. Both namespaces (and so the pair) are deleted on drop.
pub struct VethPair {
    /// The first namespace's name.
    pub a: String,
    /// The second namespace's name.
    pub b: String,
}

impl VethPair {
    /// Namespaces `ns[0]` and `ns[1]` (callers put their pid in the names, so parallel runs
    /// do not meet) joined by veth `dev[0]` (address `addr[0]`/24, in `ns[0]`) - `dev[1]`
    /// (`addr[1]`/24, in `ns[1]`).
    pub fn new(ns: [String; 2], dev: [&str; 2], addr: [&str; 2]) -> Result<VethPair, String> {
        let [a, b] = ns;
        ip(&["netns", "add", &a])?;
        // From here on, drop deletes what was made if a later step fails.
        let pair = VethPair { a, b };
        let (a, b) = (pair.a.as_str(), pair.b.as_str());
        ip(&["netns", "add", b])?;
        ip(&[
            "link", "add", dev[0], "netns", a, "type", "veth", "peer", "name", dev[1], "netns", b,
        ])?;
        ip(&[
            "-n",
            a,
            "addr",
            "add",
            &format!("{}/24", addr[0]),
            "dev",
            dev[0],
        ])?;
        ip(&[
            "-n",
            b,
            "addr",
            "add",
            &format!("{}/24", addr[1]),
            "dev",
            dev[1],
        ])?;
        for (ns, dev) in [(a, dev[0]), (b, dev[1]), (a, "lo"), (b, "lo")] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(pair)
    }

    /// An open fd of network namespace `name` (for setns, or a netns link target).
    pub fn netns_file(name: &str) -> Result<File, String> {
        File::open(format!("/run/netns/{name}")).map_err(|e| format!("/run/netns/{name}: {e}"))
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// Runs `f` on a new thread that has joined network namespace `name` (setns changes only the
/// calling thread, so the caller's namespace stays as it was).
pub fn try_in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    let ns = VethPair::netns_file(name)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: setns with an open network namespace fd; it changes only this thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            Ok(f())
        })
        .join()
        .map_err(|_| "netns thread panicked".to_string())?
    })
}

/// [`try_in_netns`] for a test: a namespace that cannot be joined is a failure.
pub fn in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    try_in_netns(name, f).unwrap_or_else(|e| panic!("netns {name}: {e}"))
}
