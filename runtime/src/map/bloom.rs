//! [`BloomFilter`]: bloom filter maps.

use std::marker::PhantomData;
use std::os::fd::BorrowedFd;

use super::{Map, MapInfo};
use crate::sys::bpf_map;
use crate::{Pod, Result};

/// A bloom filter map of values `V`: a set that may answer "maybe" for a value never added, but
/// never "no" for one that was. The value size is checked as in [`TypedMap`](super::TypedMap).
pub struct BloomFilter<'a, V> {
    map: Map<'a>,
    _v: PhantomData<fn() -> V>,
}

impl<V> Clone for BloomFilter<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for BloomFilter<'_, V> {}

impl<V> std::fmt::Debug for BloomFilter<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BloomFilter")
            .field("map", &self.map)
            .finish()
    }
}

impl<'a, V: Pod> BloomFilter<'a, V> {
    /// Views `map` (a bloom filter) with value type `V`.
    pub fn new(map: Map<'a>) -> Self {
        BloomFilter {
            map,
            _v: PhantomData,
        }
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'a> {
        self.map.fd()
    }

    /// The untyped map.
    pub fn raw(&self) -> Map<'a> {
        self.map
    }

    /// The kernel's description of the map.
    pub fn info(&self) -> Result<MapInfo> {
        self.map.info()
    }

    /// Adds `value` to the set.
    pub fn push(&self, value: &V) -> Result<()> {
        bpf_map::update::<(), V>(self.map.sized(), None, std::slice::from_ref(value), 0)
    }

    /// Whether `value` may be in the set: `false` means it surely is not.
    pub fn contains(&self, value: &V) -> Result<bool> {
        bpf_map::bloom_contains(self.map.sized(), value)
    }
}

impl<'a, V: Pod> std::os::fd::AsFd for BloomFilter<'a, V> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd()
    }
}

impl<'a, V: Pod> From<BloomFilter<'a, V>> for std::os::fd::BorrowedFd<'a> {
    fn from(map: BloomFilter<'a, V>) -> Self {
        map.fd()
    }
}
