//! Mutation test: corrupted fixture objects (bit flips, byte overwrites, truncations, spliced
//! garbage) must give an error or a skeleton, and a skeleton must expand to tokens or give an
//! error (as `lskel gen` and the macro do), never a panic, a stack overflow or a hang. Bounded
//! so it runs in CI on the stable toolchain; `LSKEL_MUTATIONS=N` sets the number of cases per
//! fixture.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/bpf");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

/// Keeps a failing input for reproduction (`lskel dump FILE`).
fn save(data: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mutation-failure.bpf.o");
    std::fs::write(&path, data).expect("write the failing input");
    path
}

/// Applies one to four random mutations.
fn mutate(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
    let mut data = orig.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(data.len());
                data[i] = rng.next() as u8;
            }
            2 if data.len() >= 4 => {
                // Interesting values in a 4-byte field: header counts, offsets, sizes.
                let i = rng.below(data.len().saturating_sub(4));
                let v: u32 = [
                    0,
                    1,
                    0x7f,
                    0xff,
                    0x8000_0000,
                    u32::MAX,
                    0xffff,
                    rng.next() as u32,
                ][rng.below(8)];
                data[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 => data.truncate(rng.below(data.len())),
            4 => {
                let i = rng.below(data.len());
                let n = rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(i..i, junk);
            }
            _ => {
                // Copy a chunk of the file over another place (plausible-looking corruption).
                let (a, b) = (rng.below(data.len()), rng.below(data.len()));
                let n = rng.below(32).min(data.len() - a.max(b));
                data.copy_within(a..a + n, b);
            }
        }
        if data.is_empty() {
            break;
        }
    }
    data
}

#[test]
fn mutated_objects_never_panic() {
    let cases: usize = std::env::var("LSKEL_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (mut ok, mut err, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let ident = lskel_gen::expand::types::ident("fixture");
    for (f, path) in fixtures().iter().enumerate() {
        let orig = std::fs::read(path).unwrap();
        lskel_gen::generate(&orig, "fixture")
            .unwrap_or_else(|e| panic!("{}: unmutated fixture fails: {e}", path.display()));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (f as u64 + 1));
        // Big objects (200 programs) get fewer cases: the time per fixture stays bounded.
        let cases = (cases * 32_768 / orig.len().max(1)).clamp(cases.min(200), cases);
        for case in 0..cases {
            let data = mutate(&mut rng, &orig);
            let start = Instant::now();
            let result = std::panic::catch_unwind(|| {
                let skel = lskel_gen::generate(&data, "fixture")?;
                let tokens = lskel_gen::expand::skeleton::expand(&skel, &ident, None)?;
                Ok::<_, lskel_gen::Error>((skel.dump(), tokens.to_string()))
            });
            let took = start.elapsed();
            slowest = slowest.max(took);
            match result {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => {
                    assert!(!e.to_string().is_empty());
                    err += 1;
                }
                Err(_) => panic!(
                    "{} case {case}: lskel-gen panicked; input saved as {}",
                    path.display(),
                    save(&data).display()
                ),
            }
            assert!(
                took < Duration::from_secs(5),
                "{} case {case}: took {took:?}; input saved as {}",
                path.display(),
                save(&data).display()
            );
        }
    }
    eprintln!(
        "mutation test: {} cases, {ok} generated and expanded, {err} refused with an error, slowest {slowest:?}",
        ok + err
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    for len in [0usize, 1, 4, 16, 63, 64, 65, 200, 4096] {
        for _ in 0..200 {
            let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 20 && rng.below(2) == 0 {
                // A valid-looking ELF64 LE BPF header over random contents.
                data[..4].copy_from_slice(b"\x7fELF");
                data[4] = 2;
                data[5] = 1;
                data[6] = 1;
                data[16] = 1;
                data[18] = 247;
            }
            assert!(lskel_gen::generate(&data, "x").is_err());
        }
    }
}
