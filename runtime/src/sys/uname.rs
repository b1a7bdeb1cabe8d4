//! `uname(2)`: the running kernel's release and version strings.
//!
//! # Safety
//!
//! `uname` writes NUL-terminated strings into the fields of the `struct utsname` it is given and nothing
//! else. The struct is zero-initialized (all-zero bytes are a valid `utsname`), lives on the stack for the
//! whole call and is only read through safe field accesses afterwards; each field is read up to its first
//! NUL or its end, whichever comes first, so a kernel that filled a field completely cannot make us read
//! past it.
//!
//! # References
//!
//! - [uname(2)](https://man7.org/linux/man-pages/man2/uname.2.html)
#![allow(unsafe_code)]

use crate::Errno;

/// The fields of `struct utsname` that lskel uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// `release`, e.g. `"6.18.44-fc-v782"` (what `uname -r` prints).
    pub release: String,
    /// `version`, e.g. `"#1 SMP Debian 4.19.260-1 (2022-09-29)"` (what `uname -v` prints).
    pub version: String,
}

fn field(chars: &[libc::c_char]) -> String {
    // `c_char` is `i8` or `u8` depending on the target; `as u8` reinterprets the byte either way.
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Calls `uname(2)`.
pub fn uname() -> Result<Uname, Errno> {
    // SAFETY: `utsname` is a plain C struct of `c_char` arrays, for which all-zero bytes are valid.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable `utsname` that outlives the call (see the module docs).
    let ret = unsafe { libc::uname(&mut uts) };
    if ret != 0 {
        return Err(Errno::last_os_error());
    }
    Ok(Uname {
        release: field(&uts.release),
        version: field(&uts.version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_release_matches_procfs() {
        let u = uname().unwrap();
        assert!(!u.release.is_empty());
        if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            assert_eq!(u.release, s.trim_end());
        }
        if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/version") {
            assert_eq!(u.version, s.trim_end());
        }
    }
}
