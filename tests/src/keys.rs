//! Kernel keyrings for the signing tests: a fresh keyring per test, holding a throwaway X.509
//! certificate as an `asymmetric` key, made with the raw `add_key(2)` / `keyctl(2)` system
//! calls (no keyutils). The certificates are made by `tests/build.rs` with the openssl CLI.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::path::PathBuf;

/// `KEY_SPEC_PROCESS_KEYRING`: the calling process's keyring (created on first use).
pub const KEY_SPEC_PROCESS_KEYRING: i32 = -2;
/// `KEY_SPEC_SESSION_KEYRING`.
pub const KEY_SPEC_SESSION_KEYRING: i32 = -3;
/// `KEYCTL_UNLINK` (`keyctl(KEYCTL_UNLINK, key, keyring)`).
const KEYCTL_UNLINK: libc::c_long = 9;
/// `KEYCTL_INVALIDATE` (`keyctl(KEYCTL_INVALIDATE, key)`): the key goes away at once.
const KEYCTL_INVALIDATE: libc::c_long = 21;

/// One of the test key pairs `tests/build.rs` made: `"signer"` or `"other"`.
#[derive(Debug, Clone)]
pub struct TestKey {
    /// PEM private key.
    pub key_pem: Vec<u8>,
    /// PEM certificate.
    pub cert_pem: Vec<u8>,
    /// DER certificate (what `add_key("asymmetric", …)` takes).
    pub cert_der: Vec<u8>,
}

/// The test key pair `name`, or why it is missing (no openssl at build time).
pub fn test_key(name: &str) -> Result<TestKey, String> {
    let dir = PathBuf::from(env!("OUT_DIR"));
    let read = |ext: &str| {
        let p = dir.join(format!("{name}.{ext}"));
        std::fs::read(&p)
            .map_err(|e| format!("{}: {e} (openssl missing at build time?)", p.display()))
    };
    Ok(TestKey {
        key_pem: read("key.pem")?,
        cert_pem: read("crt.pem")?,
        cert_der: read("crt.der")?,
    })
}

/// `add_key(type, description, payload, plen, keyring)`: the new key's serial.
fn add_key(ty: &str, desc: &str, payload: &[u8], keyring: i32) -> std::io::Result<i32> {
    let ty = CString::new(ty).map_err(std::io::Error::other)?;
    let desc = CString::new(desc).map_err(std::io::Error::other)?;
    let payload_ptr = if payload.is_empty() {
        std::ptr::null()
    } else {
        payload.as_ptr()
    };
    // SAFETY: `ty` and `desc` are NUL-terminated strings alive for the call; `payload_ptr` is
    // NULL with length 0 or points at `payload.len()` readable bytes; the kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            ty.as_ptr(),
            desc.as_ptr(),
            payload_ptr,
            payload.len(),
            keyring as libc::c_long,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(r as i32)
}

/// `keyctl(op, a, b, 0, 0)` with integer arguments only.
fn keyctl(op: libc::c_long, a: i32, b: i32) -> std::io::Result<()> {
    // SAFETY: the operations used here (unlink, invalidate, describe into a NULL buffer of
    // length 0) take key serials and zeros, no pointer the kernel would dereference.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            op,
            a as libc::c_long,
            b as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A keyring made for one test, linked into the process keyring (so this process, and only
/// it, can name it), removed on drop with the keys in it.
#[derive(Debug)]
pub struct TestKeyring {
    serial: i32,
    keys: Vec<i32>,
}

impl TestKeyring {
    /// A new, empty keyring named `name` in the process keyring.
    pub fn new(name: &str) -> std::io::Result<TestKeyring> {
        let name = format!("lskel-test-{name}-{}", std::process::id());
        let serial = add_key("keyring", &name, &[], KEY_SPEC_PROCESS_KEYRING)?;
        Ok(TestKeyring {
            serial,
            keys: Vec::new(),
        })
    }

    /// Adds the DER certificate `der` as an `asymmetric` key: its serial.
    pub fn add_cert(&mut self, der: &[u8]) -> std::io::Result<i32> {
        let key = add_key("asymmetric", "", der, self.serial)?;
        self.keys.push(key);
        Ok(key)
    }

    /// The keyring's serial (what `Keyring::Serial` takes).
    pub fn serial(&self) -> i32 {
        self.serial
    }
}

impl Drop for TestKeyring {
    fn drop(&mut self) {
        for &k in &self.keys {
            let _ = keyctl(KEYCTL_INVALIDATE, k, 0);
        }
        let _ = keyctl(KEYCTL_UNLINK, self.serial, KEY_SPEC_PROCESS_KEYRING);
        let _ = keyctl(KEYCTL_INVALIDATE, self.serial, 0);
    }
}

/// `KEYCTL_DESCRIBE`.
const KEYCTL_DESCRIBE: libc::c_long = 6;

/// A serial that names no key now: the first of a few large ones `KEYCTL_DESCRIBE` answers
/// with `ENOKEY`. (An invalidated key is not a good choice: it can still be found until the
/// key garbage collector has run.)
pub fn unused_serial() -> std::io::Result<i32> {
    for n in (0..64).map(|k| i32::MAX - 7 - k) {
        match keyctl(KEYCTL_DESCRIBE, n, 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENOKEY) => return Ok(n),
            _ => continue,
        }
    }
    Err(std::io::Error::other("no unused key serial found"))
}
