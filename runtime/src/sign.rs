//! What a signed light skeleton carries besides its loader: the signature the kernel checks
//! over the loader's instructions, and the digests that tie the loader map to the loader.
//!
//! The runtime does no cryptography: `lskel-gen` computed every byte here at build time; the
//! runtime passes them to the kernel (`BPF_MAP_CREATE` `excl_prog_hash`, `BPF_PROG_LOAD`
//! `signature`) and the signed loader itself compares the map's hash.

/// The signing parts `lskel-gen` emitted with a signed loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signing {
    /// Detached PKCS#7 (CMS `SignedData`, DER) over the loader's instruction bytes, exactly
    /// the bytes passed as `BPF_PROG_LOAD` `insns`.
    pub signature: &'static [u8],
    /// SHA-256 of the loader's instruction bytes: the loader map is created exclusive to the
    /// program with this digest (`excl_prog_hash`).
    pub loader_sha256: [u8; 32],
    /// SHA-256 of the blob as the kernel hashes the loader map (its value, padded with zeros
    /// to the array's 8-byte element size); the loader compares the map's hash with it.
    pub blob_sha256: [u8; 32],
    /// Whether the loader takes map sizes and initial values from the (unsigned) ctx: off
    /// unless the skeleton was signed with `ctx_overrides = true`.
    pub ctx_overrides: bool,
}

/// The keyring a signed loader's signature is checked against (`BPF_PROG_LOAD` `keyring_id`).
///
/// The kernel takes the three system keyrings by small ids and anything else as a key serial
/// (or a `KEY_SPEC_*` special id) looked up for the calling thread. A key in the keyring (or in
/// a keyring linked into it) must be the certificate the skeleton was signed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Keyring {
    /// The builtin trusted keys (id 0): the keys compiled into the kernel.
    Builtin,
    /// The builtin and secondary trusted keys (id 1, `VERIFY_USE_SECONDARY_KEYRING`).
    Secondary,
    /// The platform keyring (id 2, `VERIFY_USE_PLATFORM_KEYRING`): firmware (UEFI db) keys.
    Platform,
    /// The calling process's session keyring (`KEY_SPEC_SESSION_KEYRING`, -3): where
    /// `keyctl padd asymmetric "" @s` puts a key. The default (bpftool's signed skeletons
    /// use this keyring too).
    #[default]
    Session,
    /// The user's keyring (`KEY_SPEC_USER_KEYRING`, -4, `@u`).
    User,
    /// The user's default session keyring (`KEY_SPEC_USER_SESSION_KEYRING`, -5, `@us`).
    UserSession,
    /// The process keyring (`KEY_SPEC_PROCESS_KEYRING`, -2, `@p`).
    Process,
    /// The thread keyring (`KEY_SPEC_THREAD_KEYRING`, -1, `@t`).
    Thread,
    /// A keyring (or key) by its serial number, as `keyctl newring` prints it.
    Serial(i32),
}

impl Keyring {
    /// The `keyring_id` the kernel is given.
    pub const fn id(self) -> i32 {
        match self {
            Keyring::Builtin => 0,
            Keyring::Secondary => 1,
            Keyring::Platform => 2,
            Keyring::Thread => -1,
            Keyring::Process => -2,
            Keyring::Session => -3,
            Keyring::User => -4,
            Keyring::UserSession => -5,
            Keyring::Serial(n) => n,
        }
    }

    /// Whether this is one of the kernel's system keyrings (ids 0 to 2), which the kernel
    /// does not look up by serial: naming one never fails for want of a keyring.
    pub const fn is_system(self) -> bool {
        matches!(self.id(), 0..=2)
    }
}

impl std::fmt::Display for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keyring::Builtin => f.write_str("the builtin trusted keyring (id 0)"),
            Keyring::Secondary => f.write_str("the secondary trusted keyring (id 1)"),
            Keyring::Platform => f.write_str("the platform keyring (id 2)"),
            Keyring::Session => f.write_str("the session keyring (@s)"),
            Keyring::User => f.write_str("the user keyring (@u)"),
            Keyring::UserSession => f.write_str("the user session keyring (@us)"),
            Keyring::Process => f.write_str("the process keyring (@p)"),
            Keyring::Thread => f.write_str("the thread keyring (@t)"),
            Keyring::Serial(n) => write!(f, "key serial {n}"),
        }
    }
}

/// What a signed skeleton does when the kernel cannot check signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SignatureCheck {
    /// The kernel must check the signature: a kernel that cannot (`EOPNOTSUPP` from the signed
    /// `BPF_PROG_LOAD`) fails the load with
    /// [`Error::KernelCannotVerify`](crate::Error::KernelCannotVerify). The default.
    #[default]
    Required,
    /// The kernel checks the signature if it can; if the signed `BPF_PROG_LOAD` gives
    /// `EOPNOTSUPP` (a kernel built without `CONFIG_SYSTEM_DATA_VERIFICATION`), the same loader
    /// is loaded without its signature.
    ///
    /// What still holds then: the loader map is exclusive to the loader's exact instructions
    /// and frozen before the run, and the loader compares the map's SHA-256 with the one in its
    /// instructions, so the blob cannot be swapped for another. What is given away: nothing
    /// checks the instructions themselves, so whoever can change this program's binary (or
    /// load programs at all) can run a different loader; the signature then proves nothing,
    /// and no policy that trusts only signed programs (an LSM checking signatures) sees one.
    IfSupported,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_ids_are_the_kernels() {
        let all = [
            (Keyring::Builtin, 0),
            (Keyring::Secondary, 1),
            (Keyring::Platform, 2),
            (Keyring::Thread, -1),
            (Keyring::Process, -2),
            (Keyring::Session, -3),
            (Keyring::User, -4),
            (Keyring::UserSession, -5),
            (Keyring::Serial(123_456), 123_456),
        ];
        for (k, id) in all {
            assert_eq!(k.id(), id, "{k:?}");
            assert_eq!(k.is_system(), (0..=2).contains(&id), "{k:?}");
        }
        assert_eq!(Keyring::default(), Keyring::Session);
        assert_eq!(SignatureCheck::default(), SignatureCheck::Required);
        assert_eq!(Keyring::Serial(7).to_string(), "key serial 7");
    }
}
