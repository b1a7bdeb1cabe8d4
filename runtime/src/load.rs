//! Running a light skeleton's loader program: [`bpf_load_and_run`](crate::bpf_load_and_run).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use crate::abi::LoaderCtx;
use crate::load_stats::{Phase, PhaseClock};
use crate::loader_cache::{self, KeptLoader};
use crate::sign::{Keyring, SignatureCheck, Signing};
use crate::sys::bpf::{self, flags, map_type, prog_type};
use crate::{Errno, Error, Result, VerifierLog};

/// Name of the map holding the data blob.
pub const LOADER_MAP_NAME: &str = "__loader.map";
/// Name of the loader program.
pub const LOADER_PROG_NAME: &str = "__loader.prog";
/// License of the loader program.
pub const LOADER_LICENSE: &std::ffi::CStr = c"Dual BSD/GPL";
/// Log buffer size used when [`LoadOptions::log_size`] is 0 but a log level is set: 16 MiB.
pub const DEFAULT_LOG_SIZE: u32 = 16 << 20;

/// Options of [`bpf_load_and_run`](crate::bpf_load_and_run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Verifier log level for the loader program and every BTF/program load it performs (0: no log).
    pub log_level: u32,
    /// Log buffer size in bytes (0: [`DEFAULT_LOG_SIZE`]). Ignored when `log_level` is 0.
    pub log_size: u32,
    /// Keep the verified loader for the next load of the same skeleton in this process.
    ///
    /// After a load that ran its loader (whether the object loaded or not), the loader program
    /// and its blob map stay open; the next load of the same loader with this option writes its
    /// fresh blob into that map and runs the program again, skipping the loader's
    /// verification (most of a small object's load). Loads running at the same time each use
    /// their own pair (up to 4 of one loader are kept).
    ///
    /// Cost: one loader program and one array map of the blob's size per kept pair stay alive
    /// in the kernel (and count against the memory limits) until the process exits or
    /// [`drop_kept_loaders`](crate::drop_kept_loaders) is called. A forked child does not
    /// reuse its parent's pairs.
    ///
    /// Ignored for a signed skeleton: its loader map is frozen before the run, and a frozen
    /// map cannot be given the next load's blob, so every signed load makes a fresh pair.
    pub keep_loader: bool,
    /// The keyring a signed skeleton's signature is checked against (default: the session
    /// keyring). Unused by unsigned skeletons.
    pub keyring: Keyring,
    /// Whether a signed skeleton may load on a kernel that cannot check signatures (default:
    /// it may not). Unused by unsigned skeletons.
    pub signature: SignatureCheck,
}

/// The descriptors a successful load returned, in object order.
///
/// A slot is `None` when the loader left it at 0 (a program that was not loaded).
#[derive(Debug, Default)]
pub struct LoadedFds {
    /// One per map descriptor of the ctx.
    pub maps: Vec<Option<OwnedFd>>,
    /// One per program descriptor of the ctx.
    pub progs: Vec<Option<OwnedFd>>,
}

/// What [`bpf_load_and_run`](crate::bpf_load_and_run) does, for the crate's own callers,
/// which keep its safety contract: `data` and `insns` are a generated loader
/// ([`TrustedLoader`](crate::sys::trusted::TrustedLoader)) and the addresses in `ctx` stay
/// valid until this returns.
pub(crate) fn load_and_run(
    ctx: &mut LoaderCtx,
    data: &[u8],
    insns: &[u8],
    opts: &LoadOptions,
) -> Result<LoadedFds> {
    load_and_run_reusing(ctx, data, insns, opts, &[], None)
}

/// [`load_and_run`] with maps to reuse: (map index, a map fd the caller keeps).
///
/// Ownership of a reused map's descriptor, per run: the caller's fd is duplicated, and the
/// duplicate goes into the ctx (`map_fd`, `set` bit REUSE). Until `BPF_PROG_TEST_RUN` returns,
/// this function owns the duplicate: any failure before the run, or of the test-run system
/// call itself (the loader did not run), closes it here. Once the run has happened the
/// loader owned it from its first instruction: on a loader failure its cleanup has closed it
/// (this function forgets it), on success it is back in `map_fd` and is returned like a
/// created map's fd. So each duplicate is closed exactly once, and the caller's own fd is
/// never handed over. (A test run that ran the loader but then failed to copy the ctx back,
/// EFAULT on memory this function owns, cannot be told apart from one that did not run: the
/// duplicate is then closed here.)
///
/// `ctx_area`: an interpreter loader's protocol (see [`read_back_ctx_area`]); `None` for the
/// straight-line loader.
pub(crate) fn load_and_run_reusing(
    ctx: &mut LoaderCtx,
    data: &[u8],
    insns: &[u8],
    opts: &LoadOptions,
    reuse: &[(usize, BorrowedFd<'_>)],
    ctx_area: Option<usize>,
) -> Result<LoadedFds> {
    load_and_run_timed(
        ctx,
        data,
        insns,
        opts,
        reuse,
        ctx_area,
        None,
        &mut PhaseClock::off(),
    )
}

/// [`load_and_run_reusing`] timing its phases into `clock` (see [`crate::LoadStats`]), for a
/// signed loader when `signing` is given (see [`new_signed_loader`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_and_run_timed(
    ctx: &mut LoaderCtx,
    data: &[u8],
    insns: &[u8],
    opts: &LoadOptions,
    reuse: &[(usize, BorrowedFd<'_>)],
    ctx_area: Option<usize>,
    signing: Option<&Signing>,
    clock: &mut PhaseClock<'_>,
) -> Result<LoadedFds> {
    let _hold = crate::sys::signal::HoldSignals::new();
    // A failed run has closed everything it made, so an interrupted load is run again whole.
    let mut tries = 0;
    loop {
        tries += 1;
        match load_and_run_once(ctx, data, insns, opts, reuse, ctx_area, signing, clock) {
            Err(e) if tries < MAX_TRIES && interrupted(&e) => continue,
            other => return other,
        }
    }
}

/// How many times [`load_and_run`] tries a load that a signal interrupted.
const MAX_TRIES: u32 = 16;

/// Whether `e` is what an interrupted load gives: EAGAIN or EINTR from the loader program's
/// verification or from one of the loads it makes.
fn interrupted(e: &Error) -> bool {
    let errno = match e {
        Error::Loader { errno, .. } | Error::LoaderVerifier { errno, .. } => *errno,
        _ => return false,
    };
    errno == Errno::AGAIN || errno == Errno::INTR
}

#[allow(clippy::too_many_arguments)]
fn load_and_run_once(
    ctx: &mut LoaderCtx,
    data: &[u8],
    insns: &[u8],
    opts: &LoadOptions,
    reuse: &[(usize, BorrowedFd<'_>)],
    ctx_area: Option<usize>,
    signing: Option<&Signing>,
    clock: &mut PhaseClock<'_>,
) -> Result<LoadedFds> {
    clock.start_try(insns.len() / 8);
    if insns.is_empty() || insns.len() % 8 != 0 {
        return Err(Error::InvalidArgument(
            "loader insns must be a non-empty multiple of 8 bytes",
        ));
    }
    if data.is_empty() {
        return Err(Error::InvalidArgument("loader data blob is empty"));
    }
    if u32::try_from(data.len()).is_err() {
        return Err(Error::InvalidArgument("loader data blob exceeds 4 GiB"));
    }

    let mut log = if opts.log_level > 0 {
        let size = if opts.log_size == 0 {
            DEFAULT_LOG_SIZE
        } else {
            opts.log_size
        };
        vec![0u8; size as usize]
    } else {
        Vec::new()
    };
    // 1-3. The loader map holding a fresh blob and the verified loader program: kept from an
    // earlier load (see `loader_cache` for why that is sound), or made now. A signed loader's
    // map is frozen: it cannot take another blob, so it is never kept.
    let keep = opts.keep_loader && signing.is_none() && !FREEZE_LOADER_MAP;
    let kept = if keep {
        loader_cache::take(insns, data.len())
    } else {
        None
    };
    let KeptLoader { map, prog } = match kept {
        Some(k) => {
            k.map
                .rewrite(data)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM(__loader.map)", e))?;
            clock.lap(Phase::Map);
            clock.kept_loader();
            k
        }
        None => match signing {
            None => new_loader(data, insns, opts, &mut log, clock)?,
            Some(signing) => new_signed_loader(data, insns, signing, opts, &mut log, clock)?,
        },
    };

    // 4. Run it over the ctx. The inner loads log into the same buffer, emptied first.
    if let Some(b) = log.first_mut() {
        *b = 0;
    }
    // Always overwritten: whatever address the caller left there never reaches the kernel.
    if log.is_empty() {
        ctx.set_log_raw(0, 0, 0);
    } else {
        ctx.set_log_raw(opts.log_level, log.len() as u32, log.as_mut_ptr() as u64);
    }
    ctx.clear_fds();
    // Maps to reuse: a fresh duplicate each, owned here until the run (see load_and_run_reusing).
    let mut given = Vec::with_capacity(reuse.len());
    for &(i, fd) in reuse {
        if i >= ctx.n_maps() {
            return Err(Error::InvalidArgument(
                "a map to reuse is not a map of the skeleton",
            ));
        }
        let dup = fd.try_clone_to_owned().map_err(|e| Error::Io {
            path: "a map fd to reuse (dup)",
            source: e,
        })?;
        ctx.set_reuse_fd_raw(i, dup.as_raw_fd());
        given.push(dup);
    }
    // A PERF_EVENT_ARRAY declared without max_entries gets one slot per possible CPU.
    if ctx.possible_cpus() == 0 {
        ctx.set_possible_cpus(crate::cpus::possible_cpus()? as u32);
    }
    clock.skip();
    let run = bpf::prog_test_run(
        prog.as_fd(),
        bpf::TestRunAttr {
            ctx_in: Some(ctx.as_bytes_mut()),
            ..Default::default()
        },
    );
    // The log buffer dies with this function: do not leave its address in the ctx.
    ctx.set_log_raw(0, 0, 0);
    clock.lap(Phase::Run);
    // A failed test run did not run the loader: the duplicates are still ours and close here
    // (and the pair is not kept: its run did not complete).
    let out = run.map_err(|e| Error::syscall("BPF_PROG_TEST_RUN(__loader.prog)", e))?;
    clock.after_run(out.duration, prog.as_fd());
    clock.skip();
    // The loader ran and owned them from its start: closed by its cleanup, or back in the ctx.
    for fd in given {
        let _ = fd.into_raw_fd();
    }
    if let Some(off) = ctx_area {
        read_back_ctx_area(&map, ctx, off)?;
        // The blob's copy of the ctx holds the log buffer's address too.
        ctx.set_log_raw(0, 0, 0);
    }
    // The run completed: whether the loader succeeded or failed, it has closed or handed back
    // every fd it made, and the next run rewrites the whole blob.
    if keep {
        loader_cache::put_back(insns, KeptLoader { map, prog });
    }
    let ret = out.retval as i32;
    if signing.is_some() && ret == lskel_abi::ctx::HASH_MISMATCH {
        return Err(Error::LoaderHashMismatch);
    }
    if ret < 0 {
        return Err(Error::Loader {
            errno: Errno::from_raw_os_error(-ret),
            step: ctx.failed_step(),
            what: None,
            log: (opts.log_level > 0).then(|| VerifierLog::from_buf(&log)),
        });
    }

    // 5. Take the descriptors; the loader map and program close when `map`/`prog` drop (or
    // were kept above).
    let (maps, progs) = bpf::take_loader_fds(ctx);
    Ok(LoadedFds { maps, progs })
}

/// Creates the loader map holding `data` and verifies the loader program over it (logging into
/// `log` when it is not empty).
fn new_loader(
    data: &[u8],
    insns: &[u8],
    opts: &LoadOptions,
    log: &mut [u8],
    clock: &mut PhaseClock<'_>,
) -> Result<KeptLoader> {
    // The loader map holding the blob (no info query: its sizes are the ones it was made with).
    let map = loader_map(data, &[])?;
    clock.lap(Phase::Map);
    let fd_array = [map.as_fd().as_raw_fd()];
    let mut attr = loader_prog_attr(insns, opts, log, &fd_array);
    clock.skip();
    let prog = match bpf::prog_load(&mut attr) {
        Ok(fd) => fd,
        Err(errno) => {
            return Err(Error::LoaderVerifier {
                errno,
                log: VerifierLog::from_buf(log),
            });
        }
    };
    clock.lap(Phase::Verify);
    Ok(KeptLoader { map, prog })
}

/// The `BPF_PROG_LOAD` attributes of the loader program, signed or not: a sleepable SYSCALL
/// program over `fd_array` (the loader map), logging into `log` when it is not empty.
fn loader_prog_attr<'a>(
    insns: &'a [u8],
    opts: &LoadOptions,
    log: &'a mut [u8],
    fd_array: &'a [i32],
) -> bpf::ProgLoadAttr<'a> {
    bpf::ProgLoadAttr {
        prog_type: prog_type::BPF_PROG_TYPE_SYSCALL,
        insns,
        license: Some(LOADER_LICENSE),
        log_level: opts.log_level,
        log_buf: if log.is_empty() { None } else { Some(log) },
        prog_flags: flags::BPF_F_SLEEPABLE,
        name: LOADER_PROG_NAME,
        fd_array,
        ..Default::default()
    }
}

/// Creates a signed loader's map and loads the loader with its signature:
///
/// 1. `BPF_MAP_CREATE` of the loader map with `excl_prog_hash` = `signing.loader_sha256`
///    (only the program with exactly these instructions may use it), and the blob written;
/// 2. `BPF_MAP_FREEZE`, then `BPF_OBJ_GET_INFO_BY_FD` with `hash`: the kernel computes the
///    map's SHA-256 and keeps it where the loader reads it. It is compared with
///    `signing.blob_sha256` here for a clear early error ([`Error::LoaderHashMismatch`]);
///    what the security rests on is the loader's own comparison with the digest in its
///    signed instructions;
/// 3. `BPF_PROG_LOAD` with `signature` and `keyring_id` = [`LoadOptions::keyring`]. The
///    kernel checks the signature before it verifies the program. Its errors are told apart
///    (see [`signed_load_error`]); with [`SignatureCheck::IfSupported`], an `EOPNOTSUPP`
///    (the kernel cannot check signatures) loads the same instructions unsigned.
fn new_signed_loader(
    data: &[u8],
    insns: &[u8],
    signing: &Signing,
    opts: &LoadOptions,
    log: &mut [u8],
    clock: &mut PhaseClock<'_>,
) -> Result<KeptLoader> {
    if signing.signature.is_empty() {
        return Err(Error::InvalidArgument(
            "a signed loader's signature is empty",
        ));
    }
    let map = loader_map(data, &signing.loader_sha256).map_err(|e| match e {
        // A kernel before 6.18 has no `excl_prog_hash` and refuses the longer attribute.
        Error::Syscall { errno, op } if errno == Errno::TOOBIG && op.contains("CREATE") => {
            Error::KernelCannotVerify { errno }
        }
        other => other,
    })?;
    bpf::map_freeze(map.as_fd()).map_err(|e| Error::syscall("BPF_MAP_FREEZE(__loader.map)", e))?;
    let hash = bpf::map_sha256(map.as_fd()).map_err(|e| {
        if e == Errno::INVAL {
            Error::KernelCannotVerify { errno: e }
        } else {
            Error::syscall("BPF_OBJ_GET_INFO_BY_FD(__loader.map hash)", e)
        }
    })?;
    if hash != signing.blob_sha256 {
        return Err(Error::LoaderHashMismatch);
    }
    clock.lap(Phase::Map);
    let fd_array = [map.as_fd().as_raw_fd()];
    let mut attr = bpf::ProgLoadAttr {
        signature: signing.signature,
        keyring_id: opts.keyring.id(),
        ..loader_prog_attr(insns, opts, log, &fd_array)
    };
    clock.skip();
    let prog = match bpf::prog_load(&mut attr) {
        Ok(fd) => fd,
        Err(errno) if errno == Errno::NOTSUP && opts.signature == SignatureCheck::IfSupported => {
            // The kernel cannot check signatures: the same loader, unsigned (the map stays
            // exclusive to it and frozen, and the loader still checks the map's hash).
            attr.signature = &[];
            attr.keyring_id = 0;
            bpf::prog_load(&mut attr).map_err(|errno| Error::LoaderVerifier {
                errno,
                log: VerifierLog::from_buf(attr.log_buf.as_deref().unwrap_or(&[])),
            })?
        }
        Err(errno) => {
            let log = VerifierLog::from_buf(attr.log_buf.as_deref().unwrap_or(&[]));
            return Err(signed_load_error(errno, opts.keyring, log));
        }
    };
    clock.lap(Phase::Verify);
    Ok(KeptLoader { map, prog })
}

/// What a failed signed `BPF_PROG_LOAD` means. The kernel (6.18 `bpf_prog_load`) checks the
/// signature after copying the instructions and before the verifier runs: it looks the
/// keyring up first (a system keyring, ids 0 to 2, always resolves; any other id is looked up
/// as a key serial or `KEY_SPEC_*`, and a failed lookup is `EINVAL`), then verifies the
/// PKCS#7 signature over the instructions against it: `EOPNOTSUPP` when the kernel is built
/// without signature verification, `ENOKEY` (no key in the keyring signed it),
/// `EKEYREJECTED` (the signature does not match), `EBADMSG` (malformed), `ENOPKG` (an
/// algorithm the kernel lacks), `EKEYEXPIRED`/`EKEYREVOKED`. Anything else is the loader's
/// verification. `EINVAL` is also what the verifier gives for a bad program: with a
/// user keyring and no verifier log written, the key lookup is what failed.
fn signed_load_error(errno: Errno, keyring: Keyring, log: VerifierLog) -> Error {
    let code = errno.raw_os_error();
    if errno == Errno::NOTSUP {
        Error::KernelCannotVerify { errno }
    } else if [
        libc::ENOKEY,
        libc::EKEYREJECTED,
        libc::EBADMSG,
        libc::ENOPKG,
        libc::EKEYEXPIRED,
        libc::EKEYREVOKED,
    ]
    .contains(&code)
    {
        Error::SignatureRejected { errno }
    } else if errno == Errno::INVAL && !keyring.is_system() && log.is_empty() {
        Error::KeyringNotFound { keyring, errno }
    } else {
        Error::LoaderVerifier { errno, log }
    }
}

/// Whether an unsigned loader's map is frozen before the loader runs: it is not. An unsigned
/// load has nothing to protect: user space holds the map's only fd and writes it once, and the
/// loader does not need its values to be constants (the map is not `BPF_F_RDONLY_PROG`), so
/// the freeze would be one system call for nothing. A signed load freezes its map
/// ([`new_signed_loader`]): the kernel hashes only a frozen map.
const FREEZE_LOADER_MAP: bool = false;

/// The loader map: a one-entry array holding `data`, exclusive to the program whose SHA-256
/// is `excl_prog_hash` (empty: to none), frozen only if [`FREEZE_LOADER_MAP`].
fn loader_map(data: &[u8], excl_prog_hash: &[u8]) -> Result<bpf::OneValueArray> {
    let map =
        bpf::array_of_one_value(LOADER_MAP_NAME, data, excl_prog_hash).map_err(|(cmd, e)| {
            let op = match cmd {
                "BPF_MAP_CREATE" => "BPF_MAP_CREATE(__loader.map)",
                _ => "BPF_MAP_UPDATE_ELEM(__loader.map)",
            };
            Error::syscall(op, e)
        })?;
    if FREEZE_LOADER_MAP {
        bpf::map_freeze(map.as_fd())
            .map_err(|e| Error::syscall("BPF_MAP_FREEZE(__loader.map)", e))?;
    }
    Ok(map)
}

/// An interpreter loader cannot write the ctx at a variable offset: it writes the fds it
/// made (and its status) into its copy of the ctx in the blob, at `off`; this puts that copy
/// over `ctx`, so the fds come back as from a straight-line loader. One
/// `BPF_MAP_LOOKUP_ELEM` of the loader map, whose value size we know (no info query).
pub(crate) fn read_back_ctx_area(
    map: &bpf::OneValueArray,
    ctx: &mut LoaderCtx,
    off: usize,
) -> Result<()> {
    let mut blob = vec![0u8; map.value_size()];
    map.read(&mut blob)
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM(__loader.map)", e))?;
    let bytes = ctx.as_bytes_mut();
    let area = off
        .checked_add(bytes.len())
        .and_then(|end| blob.get(off..end))
        .ok_or(Error::InvalidArgument(
            "the loader's ctx area lies outside its blob",
        ))?;
    bytes.copy_from_slice(area);
    Ok(())
}

/// Checks that the `bpf(2)` system call is usable: creates and drops a one-entry array map.
pub fn probe_kernel() -> Result<()> {
    bpf::map_create(&bpf::MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        name: "lskel_probe",
        ..Default::default()
    })
    .map(drop)
    .map_err(|e| Error::syscall("BPF_MAP_CREATE(lskel_probe)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_load_errors_are_told_apart() {
        let empty = || VerifierLog::from_buf(&[]);
        let serial = Keyring::Serial(12345);
        let e = signed_load_error(Errno::NOTSUP, serial, empty());
        assert!(matches!(e, Error::KernelCannotVerify { errno } if errno == Errno::NOTSUP));
        for code in [
            libc::ENOKEY,
            libc::EKEYREJECTED,
            libc::EBADMSG,
            libc::ENOPKG,
        ] {
            let errno = Errno::from_raw_os_error(code);
            let e = signed_load_error(errno, serial, empty());
            assert!(
                matches!(e, Error::SignatureRejected { errno: x } if x == errno),
                "{e}"
            );
        }
        let e = signed_load_error(Errno::INVAL, serial, empty());
        assert!(
            matches!(e, Error::KeyringNotFound { keyring, .. } if keyring == serial),
            "{e}"
        );
        // A system keyring always resolves: EINVAL is the verifier's.
        let e = signed_load_error(Errno::INVAL, Keyring::Builtin, empty());
        assert!(matches!(e, Error::LoaderVerifier { .. }), "{e}");
        // So is an EINVAL that came with a verifier log.
        let log = VerifierLog::from_buf(b"R1 invalid mem access\0");
        let e = signed_load_error(Errno::INVAL, serial, log);
        assert!(matches!(e, Error::LoaderVerifier { .. }), "{e}");
        let e = signed_load_error(Errno::ACCES, serial, empty());
        assert!(matches!(e, Error::LoaderVerifier { .. }), "{e}");
    }
}
