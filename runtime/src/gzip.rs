//! The gzip (RFC 1952) container around DEFLATE, enough to read `/proc/config.gz`: the header, the
//! CRC-32 and length trailer, and concatenated members are ours; the DEFLATE (RFC 1951) stream
//! inside is decoded by `miniz_oxide`, which only does raw DEFLATE and zlib.
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

/// Slicing-by-8 tables: `CRC_TABLES[0]` is the classic byte table; `CRC_TABLES[k][b]` is the CRC
/// of byte `b` followed by `k` zero bytes, so eight input bytes fold in with eight lookups and no
/// dependency between them (about 5x faster than a byte at a time on a kernel config).
const CRC_TABLES: [[u32; 256]; 8] = {
    let mut t = [[0u32; 256]; 8];
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
        t[0][n] = c;
        n += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut n = 0;
        while n < 256 {
            let prev = t[k - 1][n];
            t[k][n] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            n += 1;
        }
        k += 1;
    }
    t
};

/// Continues a CRC-32 over `data`; start with `crc = 0`.
pub(crate) fn crc32(crc: u32, data: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut c = !crc;
    let mut chunks = data.chunks_exact(8);
    for w in &mut chunks {
        let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][w[4] as usize]
            ^ t[2][w[5] as usize]
            ^ t[1][w[6] as usize]
            ^ t[0][w[7] as usize];
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

// ---------------------------------------------------------------------------------------------------------
// DEFLATE, by miniz_oxide.

/// Decodes one raw DEFLATE stream from the start of `data`, appending at most `limit` bytes to `out`.
/// Returns how many input bytes the stream used (miniz_oxide gives back the bytes it read ahead, so
/// this is where the gzip trailer starts).
pub(crate) fn inflate_into(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize> {
    use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;

    let start = out.len();
    // One byte past the limit, so a stream of exactly `limit` bytes can still read its end-of-block
    // code; output past `limit` is refused below.
    let max = limit.saturating_add(1);
    let mut cap = data.len().saturating_mul(4).max(4096).min(max);
    // The whole stream's output is one window (no wrapping): back references reach into it, and only
    // into it, since the slice starts where this stream's output does.
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut state = Box::<DecompressorOxide>::default();
    let (mut in_pos, mut out_pos) = (0, 0);
    let res = loop {
        out.resize(start + cap, 0);
        let (status, used, written) = decompress(
            &mut state,
            &data[in_pos..],
            &mut out[start..],
            out_pos,
            flags,
        );
        in_pos += used;
        out_pos += written;
        match status {
            TINFLStatus::Done if out_pos <= limit => break Ok(in_pos),
            TINFLStatus::Done => break Err(InflateError::TooLarge(limit)),
            TINFLStatus::HasMoreOutput if cap >= max => break Err(InflateError::TooLarge(limit)),
            TINFLStatus::HasMoreOutput => cap = cap.saturating_mul(2).min(max),
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                break Err(InflateError::UnexpectedEof)
            }
            _ => break Err(InflateError::Invalid("invalid DEFLATE data")),
        }
    };
    out.truncate(start + if res.is_ok() { out_pos } else { 0 });
    res
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

    /// The CRC one bit at a time, straight from the polynomial: what the tables must agree with.
    fn crc32_bitwise(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn crc32_slicing_matches_bitwise_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..data.len() {
            let want = crc32_bitwise(&data[..len]);
            assert_eq!(crc32(0, &data[..len]), want, "len {len}");
            let split = len / 3;
            assert_eq!(
                crc32(crc32(0, &data[..split]), &data[split..len]),
                want,
                "len {len} split {split}"
            );
        }
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
