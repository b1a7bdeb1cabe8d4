//! [`BloomFilter`]: bloom filter maps.

use super::{kind, MapHandle};
use crate::sys::bpf_map;
use crate::{Pod, Result};

/// A bloom filter map of values `V`: a set that may answer "maybe" for a value never added, but
/// never "no" for one that was. The value size is checked as in [`TypedMap`](super::TypedMap).
pub type BloomFilter<'a, V> = MapHandle<'a, kind::Bloom, V>;

impl<'a, V: Pod> MapHandle<'a, kind::Bloom, V> {
    /// Adds `value` to the set.
    pub fn push(&self, value: &V) -> Result<()> {
        bpf_map::update::<(), V>(self.map.sized(), None, std::slice::from_ref(value), 0)
    }

    /// Whether `value` may be in the set: `false` means it surely is not.
    pub fn contains(&self, value: &V) -> Result<bool> {
        bpf_map::bloom_contains(self.map.sized(), value)
    }
}
