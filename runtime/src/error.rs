//! Error types: [`Errno`] for a bare kernel error code, [`Error`] for a failure with its context.

use std::fmt;

use lskel_abi::errno::ENOTSUPP;

/// An error code returned by the kernel (`errno`).
///
/// A transparent newtype rather than an enum, so a code this crate does not name is still a valid value.
/// `Display` and `Debug` forward to [`std::io::Error`] (`"Invalid argument (os error 22)"`).
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Errno(i32);

macro_rules! errno_consts {
    ($($(#[$meta:meta])* $name:ident = $c:ident;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($c), "`")]
                $(#[$meta])*
                pub const $name: Errno = Errno(libc::$c);
            )*

            /// The C name of the code (`"EINVAL"`), if this crate knows it.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(libc::$c => Some(stringify!($c)),)*
                    ENOTSUPP => Some("ENOTSUPP"),
                    _ => None,
                }
            }
        }
    };
}

errno_consts! {
    PERM = EPERM;
    NOENT = ENOENT;
    SRCH = ESRCH;
    INTR = EINTR;
    IO = EIO;
    TOOBIG = E2BIG;
    BADF = EBADF;
    AGAIN = EAGAIN;
    NOMEM = ENOMEM;
    #[doc(alias = "ACCESS")]
    ACCES = EACCES;
    FAULT = EFAULT;
    BUSY = EBUSY;
    EXIST = EEXIST;
    NODEV = ENODEV;
    INVAL = EINVAL;
    MFILE = EMFILE;
    FBIG = EFBIG;
    NOSPC = ENOSPC;
    RANGE = ERANGE;
    NOSYS = ENOSYS;
    NOTSUP = EOPNOTSUPP;
    NOLINK = ENOLINK;
    BADMSG = EBADMSG;
    OVERFLOW = EOVERFLOW;
    KEYREJECTED = EKEYREJECTED;
}

impl Errno {
    /// `ENOTSUPP` (524): a kernel-internal code that still reaches user space from some BPF paths.
    pub const KERNEL_NOTSUPP: Errno = Errno(ENOTSUPP);

    /// Wraps a raw positive error code.
    #[inline]
    pub const fn from_raw_os_error(raw: i32) -> Self {
        Errno(raw)
    }

    /// The raw positive error code.
    #[inline]
    pub const fn raw_os_error(self) -> i32 {
        self.0
    }

    /// The calling thread's current `errno`.
    #[inline]
    pub fn last_os_error() -> Self {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The `std::io::Error` for this code.
    #[inline]
    pub fn io_error(self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.0)
    }
}

impl Errno {
    /// `ENOTSUPP` (524), kernel-internal but returned by BPF commands (e.g. a struct_ops
    /// program without its map, a program type the kernel cannot attach).
    pub const NOTSUPP_KERNEL: Errno = Errno(ENOTSUPP);
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == ENOTSUPP {
            return write!(
                f,
                "ENOTSUPP: operation not supported by the kernel (error {ENOTSUPP})"
            );
        }
        match self.name() {
            Some(name) => write!(f, "{name}: {}", self.io_error()),
            None => fmt::Display::fmt(&self.io_error(), f),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Errno({name})"),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        e.io_error()
    }
}

/// Calls `f` until it returns something other than `Err(Errno::INTR)`.
pub fn retry_on_intr<T, F: FnMut() -> Result<T, Errno>>(mut f: F) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// A verifier (or BTF) log, as written by the kernel.
///
/// `Debug` prints the text with real line breaks, so a test failure shows the log readably.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VerifierLog(String);

impl VerifierLog {
    /// Wraps log text.
    pub fn new(text: String) -> Self {
        VerifierLog(text)
    }

    /// Builds a log from a kernel-filled buffer: text up to the first NUL, lossily decoded.
    pub fn from_buf(buf: &[u8]) -> Self {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        VerifierLog(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// The log text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the log holds no text.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for VerifierLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifierLog(\n")?;
        f.write_str(&self.0)?;
        f.write_str("\n)")
    }
}

impl fmt::Display for VerifierLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A failure of an lskel operation, with what was being done.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed. `op` names it, e.g. `"BPF_MAP_CREATE(__loader.map)"`.
    Syscall {
        /// The operation, e.g. `"BPF_PROG_TEST_RUN"`.
        op: &'static str,
        /// The kernel's error code.
        errno: Errno,
    },
    /// The loader program ran and returned `-errno`: creating a map, loading BTF or a program failed.
    Loader {
        /// The error code the loader returned.
        errno: Errno,
        /// The 1-based number of the step that failed (0: unknown).
        step: u32,
        /// What that step does, e.g. "create map `counts`" (known to generated skeletons).
        what: Option<&'static str>,
        /// The verifier/BTF log the kernel wrote at the failing step when a log level was set
        /// (empty when that step wrote none: a map step, or a load refused before
        /// verification).
        log: Option<VerifierLog>,
    },
    /// A struct_ops map cannot be laid out as the running kernel's BTF says.
    StructOps {
        /// The map.
        map: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A map to reuse (given with `reuse_fd`, or pinned at its pin path) does not match what the
    /// skeleton would create, or opening or pinning it failed.
    MapReuse {
        /// The map.
        map: &'static str,
        /// What is wrong, e.g. "the map pinned at /sys/fs/bpf/counts has max_entries 16, the
        /// skeleton's is 8".
        what: String,
        /// The kernel's error code, when a system call failed.
        errno: Option<Errno>,
    },
    /// The kernel refused to load the loader program itself.
    LoaderVerifier {
        /// The error code of `BPF_PROG_LOAD`.
        errno: Errno,
        /// The verifier log (empty if no log level was set).
        log: VerifierLog,
    },
    /// `mmap` of a map failed.
    Mmap {
        /// The length that was asked for.
        len: usize,
        /// The kernel's error code.
        errno: Errno,
    },
    /// A map's value is smaller than the Rust type meant to view it.
    ValueSize {
        /// The map's value size.
        value_size: usize,
        /// The size the caller needs.
        needed: usize,
    },
    /// A key or value buffer has the wrong length for the map.
    BufferSize {
        /// `"key"`, `"value"` or `"next_key"`.
        what: &'static str,
        /// The length the map needs.
        expected: usize,
        /// The length that was passed.
        actual: usize,
    },
    /// An argument was refused before any system call.
    InvalidArgument(&'static str),
    /// A `.kconfig` extern could not be given a value: it is missing from the kernel config and not
    /// `__weak`, its value does not fit its type, or the config could not be read.
    Kconfig {
        /// The extern (`"CONFIG_HZ"`), or the config file when the failure concerns the whole file.
        name: String,
        /// What went wrong, e.g. `"not set in /proc/config.gz and not __weak"`.
        what: String,
    },
    /// The running kernel's BTF (`/sys/kernel/btf/vmlinux`) is malformed, or lacks or lays out differently
    /// a type the object needs, such as a struct_ops type or one of its members.
    KernelBtf {
        /// What is wrong, e.g. "the running kernel has no struct_ops type `bpf_struct_ops_foo`
        /// (is the subsystem built in?)".
        what: String,
    },
    /// A ring buffer map already has a consumer ([`RingBuffer`](crate::RingBuffer)), or a user ring
    /// buffer map a producer ([`UserRingBuffer`](crate::UserRingBuffer)), in this process: two of
    /// them would race on the ring's position.
    RingInUse {
        /// The map's name.
        name: String,
        /// The map's kernel id.
        id: u32,
        /// `"consumer"` or `"producer"`.
        role: &'static str,
    },
    /// Attaching a program failed: `what` says what was being attached where (the tracepoint,
    /// function, binary or interface), and why.
    Attach {
        /// What failed, e.g. "tracepoint syscalls/sys_enter_nope: not found in tracefs".
        what: String,
        /// The kernel's error code, when a system call failed.
        errno: Option<Errno>,
    },
    /// The kernel checked a signed skeleton's signature and refused it: the keyring holds no
    /// key that signed these loader instructions (`ENOKEY`), the signature does not match them
    /// (`EKEYREJECTED`), or it is malformed or uses an algorithm the kernel lacks (`EBADMSG`,
    /// `ENOPKG`, …).
    SignatureRejected {
        /// The error code of the signed `BPF_PROG_LOAD`.
        errno: Errno,
    },
    /// The keyring given for a signed skeleton ([`LoadOptions::keyring`](crate::LoadOptions))
    /// names no keyring or key the calling thread can use (the kernel's key lookup failed,
    /// `EINVAL`, before any signature check).
    KeyringNotFound {
        /// The keyring that was asked for.
        keyring: crate::Keyring,
        /// The error code of the signed `BPF_PROG_LOAD`.
        errno: Errno,
    },
    /// The kernel cannot check BPF program signatures: the signed `BPF_PROG_LOAD` gave
    /// `EOPNOTSUPP` (a kernel built without `CONFIG_SYSTEM_DATA_VERIFICATION`), or the loader
    /// map's `excl_prog_hash` was refused with `E2BIG` (a kernel older than 6.18).
    KernelCannotVerify {
        /// The kernel's error code.
        errno: Errno,
    },
    /// A signed skeleton's loader map does not hold the blob the skeleton was signed with: its
    /// SHA-256, as the kernel computed it once the map was frozen, is not the one recorded at
    /// signing (checked in user space before the load), or the loader itself, which compares
    /// it with the digest in its signed instructions, refused it (`HASH_MISMATCH`).
    LoaderHashMismatch,
    /// A signed skeleton built without `ctx_overrides` was given a setting its loader does not
    /// take from user space (the ctx is not covered by the signature).
    SignedOverride {
        /// The map the setting is for (`None`: not a map setting).
        map: Option<&'static str>,
        /// The setting, e.g. `"max_entries"`.
        setting: &'static str,
    },
    /// Reading a system file (such as `/sys/devices/system/cpu/possible`) failed.
    Io {
        /// The file.
        path: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::Syscall`].
    pub fn syscall(op: &'static str, errno: Errno) -> Self {
        Error::Syscall { op, errno }
    }

    /// The kernel error code behind this error, if there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Syscall { errno, .. }
            | Error::Loader { errno, .. }
            | Error::LoaderVerifier { errno, .. }
            | Error::Mmap { errno, .. }
            | Error::SignatureRejected { errno }
            | Error::KeyringNotFound { errno, .. }
            | Error::KernelCannotVerify { errno } => Some(*errno),
            Error::MapReuse { errno, .. } => *errno,
            Error::Attach { errno, .. } => *errno,
            Error::Io { source, .. } => source.raw_os_error().map(Errno::from_raw_os_error),
            _ => None,
        }
    }

    /// The verifier log carried by the error, if any.
    pub fn log(&self) -> Option<&VerifierLog> {
        match self {
            Error::Loader { log, .. } => log.as_ref(),
            Error::LoaderVerifier { log, .. } => Some(log),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syscall { op, errno } if *errno == Errno::PERM && op.contains("__loader") => {
                write!(
                    f,
                    "{op} failed: {errno}; loading BPF needs CAP_BPF and CAP_PERFMON (and CAP_NET_ADMIN or CAP_SYS_ADMIN for some program types), or root"
                )
            }
            Error::Syscall { op, errno } => write!(f, "{op} failed: {errno}"),
            Error::Loader {
                errno,
                step,
                what,
                log,
            } => {
                match what {
                    Some(what) => write!(f, "loading failed at step {step}, {what}: {errno}")?,
                    None if *step > 0 => {
                        write!(f, "the loader program failed at step {step}: {errno}")?
                    }
                    None => write!(f, "the loader program failed: {errno}")?,
                }
                match log {
                    Some(log) if !log.is_empty() => write!(f, "\nkernel log:\n{log}"),
                    Some(_) => write!(f, "\n(the kernel wrote no log for this step)"),
                    None => Ok(()),
                }
            }
            Error::StructOps { map, what } => write!(f, "struct_ops map `{map}`: {what}"),
            Error::MapReuse { map, what, .. } => write!(f, "map `{map}`: {what}"),
            Error::LoaderVerifier { errno, log } => {
                write!(f, "the kernel refused the loader program: {errno}")?;
                if *errno == Errno::INVAL {
                    // The interpreter loader (the default) loops with `may_goto`, which older
                    // kernels do not know.
                    write!(f, " (the default loader needs Linux 6.9 or newer; for an older kernel build the skeleton with LSKEL_LOADER=straight)")?;
                }
                if !log.is_empty() {
                    write!(f, "\nverifier log:\n{log}")?;
                }
                Ok(())
            }
            Error::Mmap { len, errno } => write!(f, "mmap of {len} bytes failed: {errno}"),
            Error::ValueSize { value_size, needed } => write!(
                f,
                "map value size {value_size} is smaller than the {needed} bytes needed"
            ),
            Error::BufferSize {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what} buffer is {actual} bytes, the map needs {expected}"
            ),
            Error::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Error::Kconfig { name, what } => write!(f, "{name}: {what}"),
            Error::KernelBtf { what } => f.write_str(what),
            Error::RingInUse { name, id, role } => write!(
                f,
                "ring buffer map `{name}` (id {id}) already has a {role} in this process"
            ),
            Error::Attach { what, errno: None } => write!(f, "attach: {what}"),
            Error::Attach {
                what,
                errno: Some(e),
            } => write!(f, "attach: {what}: {e}"),
            Error::SignatureRejected { errno } => write!(
                f,
                "the kernel rejected the signed loader's signature: {errno} (is the signing certificate in the keyring given in LoadOptions::keyring?)"
            ),
            Error::KeyringNotFound { keyring, errno } => write!(
                f,
                "the keyring for the signature check, {keyring}, names no keyring or key this thread can use: {errno}"
            ),
            Error::KernelCannotVerify { errno } => write!(
                f,
                "this kernel cannot check BPF program signatures ({errno}): that needs Linux 6.18 or newer built with CONFIG_SYSTEM_DATA_VERIFICATION=y (see /proc/config.gz or /boot/config-$(uname -r)); LoadOptions::signature = SignatureCheck::IfSupported loads without the check"
            ),
            Error::LoaderHashMismatch => f.write_str(
                "the signed loader's data map is not the blob it was signed with (its SHA-256 differs)",
            ),
            Error::SignedOverride { map, setting } => {
                f.write_str("a signed skeleton's loader takes no settings from user space, but ")?;
                match map {
                    Some(map) => write!(f, "map `{map}` has {setting} set")?,
                    None => write!(f, "{setting} was set")?,
                }
                f.write_str("; sign the skeleton with ctx_overrides to allow it")
            }
            Error::Io { path, source } => write!(f, "reading {path} failed: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Syscall { errno, .. }
            | Error::Loader { errno, .. }
            | Error::LoaderVerifier { errno, .. }
            | Error::Mmap { errno, .. }
            | Error::SignatureRejected { errno }
            | Error::KeyringNotFound { errno, .. }
            | Error::KernelCannotVerify { errno } => Some(errno),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_display_names_the_code() {
        let s = Errno::INVAL.to_string();
        assert!(s.starts_with("EINVAL: "), "{s}");
        assert!(s.contains("os error 22"), "{s}");
        assert_eq!(format!("{:?}", Errno::PERM), "Errno(EPERM)");
        assert_eq!(
            format!("{:?}", Errno::from_raw_os_error(4242)),
            "Errno(4242)"
        );
    }

    #[test]
    fn enotsupp_and_missing_privileges_are_named() {
        let s = Errno::from_raw_os_error(524).to_string();
        assert!(s.starts_with("ENOTSUPP: "), "{s}");
        assert_eq!(Errno::NOTSUPP_KERNEL.name(), Some("ENOTSUPP"));
        assert_eq!(format!("{:?}", Errno::NOTSUPP_KERNEL), "Errno(ENOTSUPP)");
        let s = Error::syscall("BPF_MAP_CREATE(__loader.map)", Errno::PERM).to_string();
        assert!(
            s.contains("CAP_BPF") && s.contains("CAP_PERFMON") && s.contains("root"),
            "{s}"
        );
        let s = Error::syscall("BPF_MAP_UPDATE_ELEM", Errno::PERM).to_string();
        assert!(
            !s.contains("CAP_BPF"),
            "only the first syscall of a load says so: {s}"
        );
    }

    #[test]
    fn error_display_says_what_failed() {
        let e = Error::syscall("BPF_MAP_CREATE(__loader.map)", Errno::PERM);
        let s = e.to_string();
        assert!(
            s.contains("BPF_MAP_CREATE(__loader.map)") && s.contains("EPERM"),
            "{s}"
        );
        let e = Error::Loader {
            errno: Errno::INVAL,
            step: 3,
            what: Some("create map `counts`"),
            log: Some(VerifierLog::new("line1\nline2".into())),
        };
        let s = e.to_string();
        assert!(s.contains("EINVAL") && s.contains("line2"), "{s}");
        assert!(s.contains("step 3, create map `counts`"), "{s}");
    }

    #[test]
    fn signing_errors_say_what_refused() {
        let s = Error::SignatureRejected {
            errno: Errno::KEYREJECTED,
        }
        .to_string();
        assert!(s.contains("rejected the signed loader's signature"), "{s}");
        let s = Error::KeyringNotFound {
            keyring: crate::Keyring::Serial(42),
            errno: Errno::INVAL,
        }
        .to_string();
        assert!(s.contains("key serial 42") && s.contains("EINVAL"), "{s}");
        let s = Error::KernelCannotVerify {
            errno: Errno::NOTSUP,
        }
        .to_string();
        assert!(
            s.contains("CONFIG_SYSTEM_DATA_VERIFICATION") && s.contains("IfSupported"),
            "{s}"
        );
        assert!(Error::LoaderHashMismatch.to_string().contains("SHA-256"));
        let s = Error::SignedOverride {
            map: Some("counts"),
            setting: "max_entries",
        }
        .to_string();
        assert!(s.contains("map `counts` has max_entries set"), "{s}");
    }

    #[test]
    fn verifier_log_debug_has_real_newlines() {
        let log = VerifierLog::from_buf(b"a\nb\0junk");
        assert_eq!(log.as_str(), "a\nb");
        assert!(format!("{log:?}").contains("a\nb"));
    }

    #[test]
    fn retry_on_intr_retries() {
        let mut n = 0;
        let r = retry_on_intr(|| {
            n += 1;
            if n < 3 {
                Err(Errno::INTR)
            } else {
                Ok(n)
            }
        });
        assert_eq!(r, Ok(3));
    }
}
