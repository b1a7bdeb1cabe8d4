//! C `char[N]` fields as strings: what the `<field>_str` / `set_<field>_str` methods of
//! generated types call.

use std::borrow::Cow;

/// The element types of C `char` arrays: `i8` (signed `char`, as on x86) and `u8`.
pub trait CChar: Copy + sealed::Sealed {
    /// The array's bytes.
    fn bytes(chars: &[Self]) -> &[u8];
    /// The element holding byte `b`.
    fn from_byte(b: u8) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for u8 {}
}

impl CChar for u8 {
    fn bytes(chars: &[u8]) -> &[u8] {
        chars
    }
    fn from_byte(b: u8) -> u8 {
        b
    }
}

impl CChar for i8 {
    fn bytes(chars: &[i8]) -> &[u8] {
        crate::sys::mem::i8s_as_bytes(chars)
    }
    fn from_byte(b: u8) -> i8 {
        b as i8
    }
}

/// The string in a C `char` array: the bytes up to the first NUL (all of them when there is
/// none), decoded as UTF-8 with invalid sequences replaced by U+FFFD.
pub fn c_chars_str<C: CChar>(chars: &[C]) -> Cow<'_, str> {
    let bytes = C::bytes(chars);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
}

/// Writes `s` into a C `char` array as a NUL-terminated string: cut to at most `N - 1` bytes
/// (at a character boundary, so it stays valid UTF-8), the rest filled with NULs. An empty
/// array is left alone.
pub fn set_c_chars<C: CChar>(chars: &mut [C], s: &str) {
    let Some(max) = chars.len().checked_sub(1) else {
        return;
    };
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (i, c) in chars.iter_mut().enumerate() {
        *c = C::from_byte(if i < n { s.as_bytes()[i] } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_first_nul_lossily() {
        let mut comm = [0i8; 16];
        for (c, b) in comm.iter_mut().zip(b"bash\0junk") {
            *c = *b as i8;
        }
        assert_eq!(c_chars_str(&comm), "bash");
        assert!(matches!(c_chars_str(&comm), Cow::Borrowed(_)));
        assert_eq!(c_chars_str(b"ab"), "ab", "no NUL: the whole array");
        assert_eq!(c_chars_str(&[0xffu8, b'x', 0]), "\u{fffd}x");
    }

    #[test]
    fn writes_truncated_and_nul_padded() {
        let mut comm = [b'z' as i8; 8];
        set_c_chars(&mut comm, "hello world");
        assert_eq!(c_chars_str(&comm), "hello w");
        assert_eq!(comm[7], 0);
        set_c_chars(&mut comm, "ab");
        assert_eq!(comm, [97, 98, 0, 0, 0, 0, 0, 0]);
        let mut four = [0u8; 4];
        set_c_chars(&mut four, "aé€");
        assert_eq!(c_chars_str(&four), "aé", "cut at a character boundary");
        set_c_chars(&mut [0u8; 0], "x");
    }
}
