//! A small DEFLATE (RFC 1951) decoder and gzip (RFC 1952) container parser, enough to read
//! `/proc/config.gz` without a compression crate.
//!
//! The decoder follows the structure of zlib's reference decoder `puff.c`: canonical Huffman codes are
//! kept as per-length counts plus symbols sorted by code, and decoded bit by bit. That is slower than a
//! table-driven decoder but short enough to check by eye, and a kernel config is a few hundred KiB.
//!
//! Every malformed input gives an [`InflateError`], never a panic, and the output never grows past the
//! caller's limit.

use std::fmt;

/// Why a gzip or DEFLATE stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The input ended in the middle of a stream.
    UnexpectedEof,
    /// The output would exceed the caller's limit.
    TooLarge(usize),
    /// The data is not a valid stream; the text says what is wrong.
    Invalid(&'static str),
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::UnexpectedEof => f.write_str("truncated compressed data"),
            InflateError::TooLarge(limit) => {
                write!(f, "decompressed data is larger than {limit} bytes")
            }
            InflateError::Invalid(what) => f.write_str(what),
        }
    }
}

type Result<T> = std::result::Result<T, InflateError>;

/// The two bytes every gzip member starts with.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

// ---------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as gzip uses it.

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// Continues a CRC-32 over `data`; start with `crc = 0`.
pub(crate) fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

// ---------------------------------------------------------------------------------------------------------
// Bit input, least significant bit first (RFC 1951 section 3.1.1).

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            buf: 0,
            cnt: 0,
        }
    }

    /// The next `need` bits (`need <= 16`), first bit in the least significant position.
    fn bits(&mut self, need: u32) -> Result<u32> {
        debug_assert!(need <= 16);
        while self.cnt < need {
            let &b = self.data.get(self.pos).ok_or(InflateError::UnexpectedEof)?;
            self.pos += 1;
            self.buf |= u32::from(b) << self.cnt;
            self.cnt += 8;
        }
        let v = self.buf & ((1u32 << need) - 1);
        self.buf >>= need;
        self.cnt -= need;
        Ok(v)
    }

    /// Drops the bits left in the current byte.
    fn align(&mut self) {
        self.buf = 0;
        self.cnt = 0;
    }

    /// `n` whole bytes; call after [`align`](Self::align).
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(InflateError::UnexpectedEof)?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or(InflateError::UnexpectedEof)?;
        self.pos = end;
        Ok(s)
    }

    /// Bytes consumed so far; after the last block, the partial byte counts as consumed.
    fn consumed(&self) -> usize {
        self.pos
    }
}

// ---------------------------------------------------------------------------------------------------------
// Canonical Huffman codes.

const MAX_BITS: usize = 15;
const MAX_LCODES: usize = 286;
const MAX_DCODES: usize = 30;
const FIX_LCODES: usize = 288;

struct Huffman {
    /// `count[len]`: how many symbols have a code of `len` bits (`count[0]`: unused symbols).
    count: [u16; MAX_BITS + 1],
    /// Symbols ordered by code.
    symbol: Vec<u16>,
}

/// How complete a set of code lengths is.
#[derive(PartialEq, Eq)]
enum Completeness {
    Complete,
    /// Some codes are unused. RFC 1951 allows it only for a single code of one bit.
    Incomplete,
}

impl Huffman {
    /// Builds the decoding tables from per-symbol code lengths; an over-subscribed set is an error.
    fn new(lengths: &[u8]) -> Result<(Huffman, Completeness)> {
        let mut count = [0u16; MAX_BITS + 1];
        for &l in lengths {
            // Callers only pass lengths 0..=15; checked anyway so a bug cannot index out of bounds.
            let l = usize::from(l);
            if l > MAX_BITS {
                return Err(InflateError::Invalid("code length over 15 bits"));
            }
            count[l] += 1;
        }
        let mut h = Huffman {
            count,
            symbol: vec![0; lengths.len()],
        };
        if usize::from(count[0]) == lengths.len() {
            // No codes at all: complete in the sense that nothing can be decoded.
            return Ok((h, Completeness::Incomplete));
        }
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left <<= 1;
            left -= i32::from(c);
            if left < 0 {
                return Err(InflateError::Invalid("over-subscribed Huffman code"));
            }
        }
        let mut offs = [0u16; MAX_BITS + 1];
        for len in 1..MAX_BITS {
            offs[len + 1] = offs[len] + count[len];
        }
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offs[usize::from(l)];
                h.symbol[usize::from(*slot)] = sym as u16;
                *slot += 1;
            }
        }
        let completeness = if left == 0 {
            Completeness::Complete
        } else {
            Completeness::Incomplete
        };
        Ok((h, completeness))
    }

    /// Number of symbols that have a code.
    fn used(&self) -> usize {
        self.symbol.len() - usize::from(self.count[0])
    }

    /// Whether the code is one symbol with a one-bit code, the one incomplete code RFC 1951 allows.
    fn single_one_bit_code(&self) -> bool {
        self.used() == 1 && self.count[1] == 1
    }

    /// Decodes one symbol.
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16> {
        let mut code: i32 = 0;
        let mut first: i32 = 0;
        let mut index: i32 = 0;
        for len in 1..=MAX_BITS {
            code |= bits.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                let i = (index + (code - first)) as usize;
                return self
                    .symbol
                    .get(i)
                    .copied()
                    .ok_or(InflateError::Invalid("bad Huffman code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(InflateError::Invalid("unused Huffman code"))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Blocks.

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Order in which code length code lengths are sent (RFC 1951 section 3.2.7).
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

struct Out<'o> {
    buf: &'o mut Vec<u8>,
    /// Where this stream's output starts in `buf` (distances may not reach before it).
    start: usize,
    limit: usize,
}

impl Out<'_> {
    fn room(&self, n: usize) -> Result<()> {
        if self.buf.len() - self.start + n > self.limit {
            return Err(InflateError::TooLarge(self.limit));
        }
        Ok(())
    }
}

fn stored(bits: &mut Bits<'_>, out: &mut Out<'_>) -> Result<()> {
    bits.align();
    let hdr = bits.bytes(4)?;
    let len = u16::from_le_bytes([hdr[0], hdr[1]]);
    let nlen = u16::from_le_bytes([hdr[2], hdr[3]]);
    if len != !nlen {
        return Err(InflateError::Invalid(
            "stored block length does not match its complement",
        ));
    }
    out.room(usize::from(len))?;
    out.buf.extend_from_slice(bits.bytes(usize::from(len))?);
    Ok(())
}

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Out<'_>,
    lencode: &Huffman,
    distcode: &Huffman,
) -> Result<()> {
    loop {
        let sym = lencode.decode(bits)?;
        match sym {
            0..=255 => {
                out.room(1)?;
                out.buf.push(sym as u8);
            }
            256 => return Ok(()),
            _ => {
                let i = usize::from(sym - 257);
                if i >= LEN_BASE.len() {
                    return Err(InflateError::Invalid("invalid length symbol"));
                }
                let len = usize::from(LEN_BASE[i]) + bits.bits(u32::from(LEN_EXTRA[i]))? as usize;
                let d = usize::from(distcode.decode(bits)?);
                if d >= DIST_BASE.len() {
                    return Err(InflateError::Invalid("invalid distance symbol"));
                }
                let dist =
                    usize::from(DIST_BASE[d]) + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
                let have = out.buf.len() - out.start;
                if dist > have {
                    return Err(InflateError::Invalid("distance too far back"));
                }
                out.room(len)?;
                let from = out.buf.len() - dist;
                if dist >= len {
                    out.buf.extend_from_within(from..from + len);
                } else {
                    // Overlapping copy: each byte may be one this copy just wrote.
                    for k in 0..len {
                        let b = out.buf[from + k];
                        out.buf.push(b);
                    }
                }
            }
        }
    }
}

fn fixed_codes() -> Result<(Huffman, Huffman)> {
    let mut lengths = [0u8; FIX_LCODES];
    for (sym, l) in lengths.iter_mut().enumerate() {
        *l = match sym {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    let (lencode, _) = Huffman::new(&lengths)?;
    // 30 distance codes of 5 bits (codes 30 and 31 are rejected when decoded).
    let (distcode, _) = Huffman::new(&[5u8; MAX_DCODES])?;
    Ok((lencode, distcode))
}

fn dynamic_codes(bits: &mut Bits<'_>) -> Result<(Huffman, Huffman)> {
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    if nlen > MAX_LCODES || ndist > MAX_DCODES {
        return Err(InflateError::Invalid("bad code counts in dynamic block"));
    }
    let mut clen = [0u8; 19];
    for &idx in &CLEN_ORDER[..ncode] {
        clen[idx] = bits.bits(3)? as u8;
    }
    let (clcode, c) = Huffman::new(&clen)?;
    if c != Completeness::Complete {
        return Err(InflateError::Invalid("incomplete code length code"));
    }

    let mut lengths = [0u8; MAX_LCODES + MAX_DCODES];
    let total = nlen + ndist;
    let mut index = 0;
    while index < total {
        let sym = clcode.decode(bits)?;
        if sym < 16 {
            lengths[index] = sym as u8;
            index += 1;
            continue;
        }
        let (value, repeat) = match sym {
            16 => {
                if index == 0 {
                    return Err(InflateError::Invalid("repeat with no previous length"));
                }
                (lengths[index - 1], 3 + bits.bits(2)? as usize)
            }
            17 => (0, 3 + bits.bits(3)? as usize),
            _ => (0, 11 + bits.bits(7)? as usize),
        };
        if index + repeat > total {
            return Err(InflateError::Invalid("too many code lengths"));
        }
        lengths[index..index + repeat].fill(value);
        index += repeat;
    }
    if lengths[256] == 0 {
        return Err(InflateError::Invalid("no end-of-block code"));
    }

    // An incomplete code is allowed only when it is a single one-bit code (zlib and puff agree);
    // for distances that includes no code at all (a block of literals only).
    let (lencode, c) = Huffman::new(&lengths[..nlen])?;
    if c != Completeness::Complete && !lencode.single_one_bit_code() {
        return Err(InflateError::Invalid("incomplete literal/length code"));
    }
    let (distcode, c) = Huffman::new(&lengths[nlen..total])?;
    if c != Completeness::Complete && distcode.used() != 0 && !distcode.single_one_bit_code() {
        return Err(InflateError::Invalid("incomplete distance code"));
    }
    Ok((lencode, distcode))
}

/// Decodes one raw DEFLATE stream from the start of `data`, appending at most `limit` bytes to `out`.
/// Returns how many input bytes the stream used.
pub(crate) fn inflate_into(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize> {
    let mut bits = Bits::new(data);
    let start = out.len();
    let mut out = Out {
        buf: out,
        start,
        limit,
    };
    loop {
        let last = bits.bits(1)? == 1;
        match bits.bits(2)? {
            0 => stored(&mut bits, &mut out)?,
            1 => {
                let (l, d) = fixed_codes()?;
                codes(&mut bits, &mut out, &l, &d)?;
            }
            2 => {
                let (l, d) = dynamic_codes(&mut bits)?;
                codes(&mut bits, &mut out, &l, &d)?;
            }
            _ => return Err(InflateError::Invalid("invalid block type 3")),
        }
        if last {
            return Ok(bits.consumed());
        }
    }
}

/// Decodes a raw DEFLATE stream of at most `limit` output bytes. Bytes after the stream are ignored.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    inflate_into(data, &mut out, limit)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// gzip.

const FTEXT: u8 = 1;
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

fn take<'a>(data: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8]> {
    let end = pos.checked_add(n).ok_or(InflateError::UnexpectedEof)?;
    let s = data.get(*pos..end).ok_or(InflateError::UnexpectedEof)?;
    *pos = end;
    Ok(s)
}

fn skip_zstr(data: &[u8], pos: &mut usize) -> Result<()> {
    let rest = data.get(*pos..).ok_or(InflateError::UnexpectedEof)?;
    let nul = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(InflateError::UnexpectedEof)?;
    *pos += nul + 1;
    Ok(())
}

/// Decodes one gzip member at the start of `data`; returns the input bytes it used.
fn gunzip_member(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize> {
    let mut pos = 0;
    let hdr = take(data, &mut pos, 10)?;
    if hdr[..2] != GZIP_MAGIC {
        return Err(InflateError::Invalid("not gzip data (bad magic)"));
    }
    if hdr[2] != 8 {
        return Err(InflateError::Invalid("unknown gzip compression method"));
    }
    let flags = hdr[3];
    if flags & !(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT) != 0 {
        return Err(InflateError::Invalid("reserved gzip header flags set"));
    }
    if flags & FEXTRA != 0 {
        let xlen = take(data, &mut pos, 2)?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        take(data, &mut pos, xlen)?;
    }
    if flags & FNAME != 0 {
        skip_zstr(data, &mut pos)?;
    }
    if flags & FCOMMENT != 0 {
        skip_zstr(data, &mut pos)?;
    }
    if flags & FHCRC != 0 {
        let want = crc32(0, &data[..pos]) & 0xffff;
        let got = take(data, &mut pos, 2)?;
        if u32::from(u16::from_le_bytes([got[0], got[1]])) != want {
            return Err(InflateError::Invalid("gzip header CRC mismatch"));
        }
    }

    let start = out.len();
    let used = inflate_into(&data[pos..], out, limit)?;
    pos += used;

    let trailer = take(data, &mut pos, 8)?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    let produced = &out[start..];
    if crc32(0, produced) != crc {
        return Err(InflateError::Invalid("gzip CRC-32 mismatch"));
    }
    if produced.len() as u32 != isize {
        return Err(InflateError::Invalid("gzip length mismatch"));
    }
    Ok(pos)
}

/// Decodes gzip data (one or more concatenated members, as `gzip -d` accepts) of at most `limit` output
/// bytes in total. Zero bytes after the last member are accepted as padding; anything else is an error.
pub(crate) fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let room = limit.saturating_sub(out.len());
        let used = gunzip_member(&data[pos..], &mut out, room)?;
        pos += used;
        let rest = &data[pos..];
        if rest.starts_with(&GZIP_MAGIC) {
            continue;
        }
        if rest.iter().any(|&b| b != 0) {
            return Err(InflateError::Invalid("trailing garbage after gzip data"));
        }
        return Ok(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    const LIMIT: usize = 64 << 20;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lskel-inflate-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Runs `gzip <args>` on `input` through a file in a temp dir; `None` if gzip is not installed.
    fn gzip(input: &[u8], args: &[&str], tag: &str) -> Option<Vec<u8>> {
        let dir = tmpdir(tag);
        let path = dir.join("data");
        std::fs::write(&path, input).unwrap();
        let status = Command::new("gzip")
            .args(args)
            .arg("-f")
            .arg(&path)
            .stderr(Stdio::inherit())
            .status();
        let status = match status {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("skipping: gzip is not installed");
                return None;
            }
            Err(e) => panic!("running gzip: {e}"),
        };
        assert!(status.success(), "gzip {args:?} failed");
        let gz = std::fs::read(Path::new(&format!("{}.gz", path.display()))).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        Some(gz)
    }

    /// A deterministic pseudo-random generator (xorshift64*), so failures reproduce.
    fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            v.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        v.truncate(n);
        v
    }

    fn large_text() -> Vec<u8> {
        let mut s = String::new();
        let mut i = 0u64;
        while s.len() < 1 << 20 {
            s.push_str(&format!(
                "CONFIG_OPTION_{i}=y\n# CONFIG_OTHER_{} is not set\nCONFIG_STR_{i}=\"value {}\"\n",
                i * 7,
                i % 13
            ));
            i += 1;
        }
        s.into_bytes()
    }

    fn round_trip(input: &[u8], args: &[&str], tag: &str) {
        let Some(gz) = gzip(input, args, tag) else {
            return;
        };
        let out = gunzip(&gz, LIMIT).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert!(out == input, "{tag}: round trip differs");
    }

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(0, b""), 0);
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xcbf4_3926);
    }

    #[test]
    fn round_trip_empty() {
        round_trip(b"", &[], "empty");
    }

    #[test]
    fn round_trip_small() {
        round_trip(b"CONFIG_BPF=y\n", &[], "small");
        round_trip(b"a", &["-9"], "one-byte");
    }

    #[test]
    fn round_trip_large_text_all_levels() {
        let text = large_text();
        for level in ["-1", "-6", "-9"] {
            round_trip(&text, &[level], &format!("text{level}"));
        }
    }

    #[test]
    fn round_trip_random_data_uses_stored_blocks() {
        let data = random_bytes(300_000, 0x1234_5678_9abc_def1);
        let Some(gz) = gzip(&data, &["-1"], "random") else {
            return;
        };
        assert_eq!(gunzip(&gz, LIMIT).unwrap(), data);
        // Incompressible data: the first block (after the header and the file name gzip stores) is stored.
        let mut pos = 10;
        if gz[3] & FNAME != 0 {
            skip_zstr(&gz, &mut pos).unwrap();
        }
        assert_eq!((gz[pos] >> 1) & 3, 0, "expected a stored block");
    }

    #[test]
    fn round_trip_mixed_and_repetitive() {
        let mut data = random_bytes(70_000, 42);
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend(random_bytes(1000, 7));
        data.extend(b"abcabcabcabcabcabcabc".repeat(5000));
        round_trip(&data, &["-6"], "mixed");
        round_trip(&data, &["-1"], "mixed1");
    }

    #[test]
    fn concatenated_members() {
        let (Some(a), Some(b)) = (
            gzip(b"first\n", &[], "cat-a"),
            gzip(b"second\n", &[], "cat-b"),
        ) else {
            return;
        };
        let mut both = a.clone();
        both.extend_from_slice(&b);
        assert_eq!(gunzip(&both, LIMIT).unwrap(), b"first\nsecond\n");
        let mut padded = a;
        padded.extend_from_slice(&[0; 16]);
        assert_eq!(gunzip(&padded, LIMIT).unwrap(), b"first\n");
        padded.push(1);
        assert!(gunzip(&padded, LIMIT).is_err());
    }

    #[test]
    fn output_limit_is_enforced() {
        let text = large_text();
        let Some(gz) = gzip(&text, &[], "limit") else {
            return;
        };
        assert_eq!(
            gunzip(&gz, text.len() - 1),
            Err(InflateError::TooLarge(text.len() - 1))
        );
        assert_eq!(gunzip(&gz, text.len()).unwrap(), text);
    }

    #[test]
    fn hand_made_streams() {
        // Fixed Huffman block with a back reference: "abcabcabc" via zlib raw deflate
        // (python: zlib.compressobj(wbits=-15).compress(b"abcabcabc")).
        let raw = [0x4b, 0x4c, 0x4a, 0x4e, 0x04, 0x23, 0x00];
        assert_eq!(inflate(&raw, 100).unwrap(), b"abcabcabc");
        // Stored block, final: "hi".
        let stored = [0x01, 0x02, 0x00, 0xfd, 0xff, b'h', b'i'];
        assert_eq!(inflate(&stored, 100).unwrap(), b"hi");
        // Bad complement.
        let bad = [0x01, 0x02, 0x00, 0xfd, 0xfe, b'h', b'i'];
        assert!(matches!(inflate(&bad, 100), Err(InflateError::Invalid(_))));
        // Block type 3.
        assert!(matches!(
            inflate(&[0x07], 100),
            Err(InflateError::Invalid(_))
        ));
        // Distance beyond the start of the output: fixed block, length 3 (sym 257), distance 1.
        // bits: BFINAL=1, BTYPE=01, then 257 = 0000001 (7 bits, MSB first), dist code 0 = 00000.
        let far = [0x03, 0x02, 0x00];
        assert!(matches!(inflate(&far, 100), Err(InflateError::Invalid(_))));
        // Empty input, truncated input.
        assert_eq!(inflate(&[], 100), Err(InflateError::UnexpectedEof));
        assert_eq!(inflate(&raw[..3], 100), Err(InflateError::UnexpectedEof));
        assert!(gunzip(&[], 100).is_err());
        assert!(gunzip(b"plain text, not gzip", 100).is_err());
    }

    #[test]
    fn corrupted_input_errors_never_panics() {
        let text = large_text();
        let Some(gz) = gzip(&text[..200_000], &["-6"], "corrupt") else {
            return;
        };
        // Every truncation is an error.
        for cut in (0..gz.len()).step_by(97).chain(gz.len() - 8..gz.len()) {
            assert!(gunzip(&gz[..cut], LIMIT).is_err(), "truncated at {cut}");
        }
        // Flipped bits anywhere: an error, or the original output (a flip in a header field gzip does not check).
        let mut seed = 99u64;
        for i in 0..400 {
            let mut bad = gz.clone();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 33) as usize % bad.len();
            bad[at] ^= 1 << (i % 8);
            if let Ok(out) = gunzip(&bad, 1 << 20) {
                assert_eq!(out, &text[..200_000], "flip at {at} gave wrong output");
            }
        }
        // Random garbage after a valid header, with every block type.
        for seed in 0..300u64 {
            let mut bad = gz[..10].to_vec();
            bad[3] = 0;
            bad.extend(random_bytes(64 + (seed as usize % 512), seed + 1));
            let _ = gunzip(&bad, 1 << 16);
            let _ = inflate(&random_bytes(256, seed + 1000), 1 << 16);
        }
        // Header CRC: a wrong FHCRC is refused.
        let mut h = vec![0x1f, 0x8b, 8, FHCRC, 0, 0, 0, 0, 0, 3, 0, 0];
        h.extend_from_slice(&[0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            gunzip(&h, 100),
            Err(InflateError::Invalid("gzip header CRC mismatch"))
        );
        let c = (crc32(0, &h[..10]) & 0xffff) as u16;
        h[10..12].copy_from_slice(&c.to_le_bytes());
        assert_eq!(gunzip(&h, 100).unwrap(), b"");
        // Reserved flags.
        h[3] = 0x20;
        assert!(gunzip(&h, 100).is_err());
    }

    #[test]
    fn gzip_with_name_and_comment_and_extra() {
        // Build a member by hand around a stored block, with FEXTRA, FNAME and FCOMMENT.
        let payload = b"CONFIG_X=y\n";
        let mut g = vec![0x1f, 0x8b, 8, FEXTRA | FNAME | FCOMMENT, 0, 0, 0, 0, 0, 3];
        g.extend_from_slice(&3u16.to_le_bytes());
        g.extend_from_slice(b"xyz");
        g.extend_from_slice(b"config\0");
        g.extend_from_slice(b"a comment\0");
        g.push(0x01);
        g.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        g.extend_from_slice(&(!(payload.len() as u16)).to_le_bytes());
        g.extend_from_slice(payload);
        g.extend_from_slice(&crc32(0, payload).to_le_bytes());
        g.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        assert_eq!(gunzip(&g, 100).unwrap(), payload);
        // Wrong ISIZE.
        let n = g.len();
        g[n - 4] ^= 1;
        assert_eq!(
            gunzip(&g, 100),
            Err(InflateError::Invalid("gzip length mismatch"))
        );
    }

    #[test]
    fn streaming_gzip_from_stdin() {
        // `gzip -c` from a pipe writes no FNAME; also covers reading gzip's output from stdout.
        let text = large_text();
        let child = Command::new("gzip")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("skipping: gzip is not installed");
            return;
        };
        let mut stdin = child.stdin.take().unwrap();
        let input = text.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout[3] & FNAME, 0);
        assert_eq!(gunzip(&out.stdout, LIMIT).unwrap(), text);
    }
}
