//! A small safe API over a map descriptor: [`Map`], plus [`possible_cpus`].

use std::os::fd::BorrowedFd;

use crate::sys::bpf::{self, SizedMap};
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
pub fn possible_cpus() -> Result<usize> {
    let text = std::fs::read_to_string(POSSIBLE_CPUS).map_err(|source| Error::Io {
        path: POSSIBLE_CPUS,
        source,
    })?;
    parse_cpu_list(&text).ok_or_else(|| Error::Io {
        path: POSSIBLE_CPUS,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_owned()),
    })
}

/// A borrowed map with its key and value sizes: lookups, updates, deletes and key iteration over raw bytes.
#[derive(Debug, Clone, Copy)]
pub struct Map<'fd> {
    inner: SizedMap<'fd>,
}

impl<'fd> Map<'fd> {
    /// Wraps `fd`, querying the map's sizes from the kernel.
    pub fn new(fd: BorrowedFd<'fd>) -> Result<Self> {
        Ok(Map {
            inner: SizedMap::new(fd)?,
        })
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'fd> {
        self.inner.fd()
    }

    /// `key_size`.
    pub fn key_size(&self) -> usize {
        self.inner.key_size()
    }

    /// `value_size` (one CPU's for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.inner.value_size()
    }

    /// Whether lookups return one value per possible CPU.
    pub fn is_percpu(&self) -> bool {
        bpf::map_type::is_percpu(self.inner.map_type())
    }

    /// Copies the value under `key` into `value` (`value_size` bytes; for per-CPU maps, use
    /// [`lookup_percpu`](Self::lookup_percpu)). `Ok(false)` if there is no such key.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.inner.lookup(key, value, 0)
    }

    /// The value under `key` as a new vector, `None` if absent. For per-CPU maps, all CPUs' values
    /// concatenated (each padded to 8 bytes).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut v = vec![0u8; self.inner.lookup_size()];
        Ok(self.inner.lookup(key, &mut v, 0)?.then_some(v))
    }

    /// The per-CPU values under `key`: one `value_size`-byte vector per possible CPU, `None` if absent.
    pub fn lookup_percpu(&self, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        if !self.is_percpu() {
            return Err(Error::InvalidArgument(
                "lookup_percpu on a map that is not per-CPU",
            ));
        }
        let stride = self.value_size().next_multiple_of(8);
        let Some(all) = self.get(key)? else {
            return Ok(None);
        };
        Ok(Some(
            all.chunks(stride)
                .map(|c| c[..self.value_size()].to_vec())
                .collect(),
        ))
    }

    /// Stores `value` under `key`. `flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST` (see
    /// [`sys::bpf::flags`](crate::sys::bpf::flags)). For per-CPU maps `value` holds every CPU's value,
    /// each padded to 8 bytes.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.inner.update(key, value, flags)
    }

    /// Deletes `key`; `Ok(false)` if it was absent.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.inner.delete(key)
    }

    /// Iterates over the keys (`BPF_MAP_GET_NEXT_KEY`). Keys deleted or added meanwhile may be missed or
    /// seen twice, as with any kernel map walk.
    pub fn keys(&self) -> Keys<'fd> {
        Keys {
            map: self.inner,
            cur: None,
            done: false,
        }
    }
}

/// Iterator returned by [`Map::keys`].
#[derive(Debug)]
pub struct Keys<'fd> {
    map: SizedMap<'fd>,
    cur: Option<Vec<u8>>,
    done: bool,
}

impl Iterator for Keys<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut next = vec![0u8; self.map.key_size()];
        match self.map.next_key(self.cur.as_deref(), &mut next) {
            Ok(true) => {
                self.cur = Some(next.clone());
                Some(Ok(next))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
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
