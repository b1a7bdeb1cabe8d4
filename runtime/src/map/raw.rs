//! [`Map`]: element access over raw bytes, for any map.

use std::os::fd::BorrowedFd;

use crate::sys::bpf::{self, MapInfo, SizedMap};
use crate::{Error, Result};

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

    /// A map of checked sizes (see [`Map::from_shape`]).
    pub(crate) fn from_sized(inner: SizedMap<'fd>) -> Self {
        Map { inner }
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'fd> {
        self.inner.fd()
    }

    /// The map itself (this handle, for symmetry with the typed handles).
    pub fn raw(&self) -> Map<'fd> {
        *self
    }

    /// The kernel's description of the map (`BPF_OBJ_GET_INFO_BY_FD`): id, name, type, sizes,
    /// `max_entries`, flags.
    pub fn info(&self) -> Result<MapInfo> {
        super::map_info(self.fd())
    }

    /// `map_type`.
    pub fn map_type(&self) -> u32 {
        self.inner.map_type()
    }

    /// The sized descriptor behind this map.
    pub(crate) fn sized(&self) -> &SizedMap<'fd> {
        &self.inner
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

impl<'a> std::os::fd::AsFd for Map<'a> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd()
    }
}

impl<'a> From<Map<'a>> for std::os::fd::BorrowedFd<'a> {
    fn from(map: Map<'a>) -> Self {
        map.fd()
    }
}
