//! The number of possible CPUs: how many values a per-CPU map element holds.

use std::sync::OnceLock;

use crate::{Error, Result};

const POSSIBLE_CPUS: &str = "/sys/devices/system/cpu/possible";

/// Parses a CPU list such as `"0-3,5,7-8"` and returns how many CPUs it names (7 there). The kernel
/// lays out per-CPU map values one per possible CPU (`for_each_possible_cpu`), packed: with a possible
/// mask of `"0-1,3"` a lookup returns 3 values, not 4. Overlapping ranges count each CPU once.
pub fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut ranges = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a {
                    return None;
                }
                (a, b)
            }
            None => {
                let a = part.trim().parse().ok()?;
                (a, a)
            }
        };
        ranges.push(range);
    }
    ranges.sort_unstable();
    let mut count = 0;
    let mut next = 0; // the lowest CPU not yet counted
    for (a, b) in ranges {
        let from = a.max(next);
        if b >= from {
            count += b - from + 1;
            next = b + 1;
        }
    }
    (count > 0).then_some(count)
}

/// The number of possible CPUs, from `/sys/devices/system/cpu/possible` (e.g. `"0-1"` gives 2,
/// `"0-1,3"` gives 3): the number of values a per-CPU map lookup returns.
///
/// Read once per process: later calls return the first successful answer (the possible mask
/// does not change while the system runs).
pub fn possible_cpus() -> Result<usize> {
    static CPUS: OnceLock<usize> = OnceLock::new();
    if let Some(&n) = CPUS.get() {
        return Ok(n);
    }
    let n = read_possible_cpus()?;
    Ok(*CPUS.get_or_init(|| n))
}

fn read_possible_cpus() -> Result<usize> {
    let text = std::fs::read_to_string(POSSIBLE_CPUS).map_err(|source| Error::Io {
        path: POSSIBLE_CPUS,
        source,
    })?;
    parse_cpu_list(&text).ok_or_else(|| Error::Io {
        path: POSSIBLE_CPUS,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(7));
        assert_eq!(parse_cpu_list("0-1,3"), Some(3));
        assert_eq!(parse_cpu_list("4-7"), Some(4));
        assert_eq!(parse_cpu_list("0-3,2-5,5"), Some(6));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
