//! Taking ownership of the descriptors a loader program returned in its ctx.
#![allow(unsafe_code)]

use std::os::fd::OwnedFd;

use crate::sys::{above_stdio, ret_owned_fd};

/// Takes ownership of the descriptors the loader program left in a ctx after a successful run: each slot
/// holding a value `> 0` becomes an `OwnedFd`, each other slot `None`. A number found in two slots is taken
/// once (the later slot gets `None`) so it cannot be closed twice.
///
/// A descriptor that landed on 1 or 2 (closed stdout/stderr) is moved above 2 (as libbpf's
/// `ensure_good_fd` does). None can be 0, which the ctx reads as "no descriptor": the loader map and
/// program, created before the loader runs and held through the run, take the lowest free numbers
/// first, so only the descriptors of those two may be low (unless another thread closes descriptor 0
/// during the load), and they are closed when the load ends.
///
/// Only for [`bpf_load_and_run`](crate::bpf_load_and_run), right after the loader returned success.
pub(crate) fn take_loader_fds(
    ctx: &crate::abi::LoaderCtx,
) -> (Vec<Option<OwnedFd>>, Vec<Option<OwnedFd>>) {
    let mut seen = std::collections::HashSet::new();
    let mut take = |raw: i32| -> Option<OwnedFd> {
        if raw <= 0 || !seen.insert(raw) {
            return None;
        }
        // SAFETY: the loader contract (design.md): on success the loader program stores into the ctx the
        // descriptors it created in this process with `bpf_sys_bpf` and did not close; nothing else owns
        // them, and the duplicate check above makes each number owned once.
        unsafe { ret_owned_fd(i64::from(raw)) }
            .ok()
            .map(above_stdio)
    };
    let maps = (0..ctx.n_maps()).map(|i| take(ctx.map_fd(i))).collect();
    let progs = (0..ctx.n_progs()).map(|j| take(ctx.prog_fd(j))).collect();
    (maps, progs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, RawFd};

    /// Set in the child of [`loader_fds_are_kept_above_stdio`]: the file it writes its verdict to.
    const STDIO_CHILD: &str = "LSKEL_STDIO_CHILD_OUT";

    /// Child side: closes stdout and stderr, hands `take_loader_fds` descriptors that landed on
    /// them, and says what it got back.
    fn stdio_child() -> String {
        use std::os::fd::IntoRawFd;
        for fd in [1, 2] {
            // SAFETY: this child process runs this test alone, and nothing in it uses descriptors 1 and 2
            // after this but std's stdout/stderr, which take EBADF as success. (Rust's runtime reopens
            // closed standard descriptors at start-up, so the parent cannot hand them over closed.)
            unsafe { libc::close(fd) };
        }
        let mut held = Vec::new();
        let mut low = Vec::new();
        let mut high = None;
        for _ in 0..8 {
            let f = match std::fs::File::open("/dev/null") {
                Ok(f) => f,
                Err(e) => return format!("open /dev/null: {e}"),
            };
            match f.as_raw_fd() {
                // 0 means "no descriptor" in a ctx; keep it occupied.
                0 => held.push(f),
                1 | 2 => low.push(f.into_raw_fd()),
                _ if high.is_none() => high = Some(f.into_raw_fd()),
                _ => held.push(f),
            }
        }
        if low.len() != 2 {
            return format!("the child did not get descriptors 1 and 2 (got {low:?})");
        }
        let high = high.expect("a descriptor above 2");
        let mut ctx = crate::abi::LoaderCtx::new(2, 1);
        let slots = [
            crate::abi::map_desc_off(0) + crate::abi::MAP_DESC_FD_OFF,
            crate::abi::map_desc_off(1) + crate::abi::MAP_DESC_FD_OFF,
            crate::abi::prog_desc_off(2, 0) + crate::abi::PROG_DESC_FD_OFF,
        ];
        for (off, fd) in slots.into_iter().zip([low[0], high, low[1]]) {
            ctx.as_bytes_mut()[off..off + 4].copy_from_slice(&fd.to_ne_bytes());
        }
        let (maps, progs) = take_loader_fds(&ctx);
        let got: Vec<RawFd> = maps
            .iter()
            .chain(&progs)
            .map(|f| f.as_ref().map_or(-1, |f| f.as_raw_fd()))
            .collect();
        if got.iter().any(|&fd| fd <= 2) || got[1] != high {
            return format!(
                "take_loader_fds returned {got:?} for {:?}",
                [low[0], high, low[1]]
            );
        }
        // The low numbers were closed, not leaked.
        for fd in &low {
            if std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok() {
                return format!("descriptor {fd} was left open");
            }
        }
        "ok".into()
    }

    #[test]
    fn loader_fds_are_kept_above_stdio() {
        if let Some(out) = std::env::var_os(STDIO_CHILD) {
            std::fs::write(out, stdio_child()).unwrap();
            return;
        }
        let out = std::env::temp_dir().join(format!("lskel-stdio-{}", std::process::id()));
        let _ = std::fs::remove_file(&out);
        // Only this test of this binary, which closes its stdout and stderr.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sys::bpf::loader_fds::tests::loader_fds_are_kept_above_stdio",
                "--test-threads=1",
            ])
            .env(STDIO_CHILD, &out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let verdict = std::fs::read_to_string(&out);
        let _ = std::fs::remove_file(&out);
        assert!(status.success(), "child exited with {status}");
        assert_eq!(verdict.unwrap().as_str(), "ok");
    }
}
