//! [`PerCpuMap`]: per-CPU maps, one value per possible CPU.

use std::marker::PhantomData;

use super::typed::TypedKeys;
use super::{kind, Map, MapHandle};
use crate::sys::bpf::cmd;
use crate::sys::bpf_map;
use crate::{Pod, Result};

/// A per-CPU hash, array or LRU hash with keys `K` and values `V`: each key holds one `V` per
/// possible CPU ([`possible_cpus`](crate::possible_cpus)), in CPU order (the kernel lays them
/// out at 8-byte strides; this handle packs and unpacks them). Sizes are checked as in
/// [`TypedMap`](super::TypedMap).
pub type PerCpuMap<'a, K, V> = MapHandle<'a, kind::PerCpu, (K, V)>;

impl<'a, K: Pod, V: Pod> MapHandle<'a, kind::PerCpu, (K, V)> {
    /// Each possible CPU's value under `key`, `None` if absent.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>> {
        bpf_map::lookup::<K, V>(self.map.sized(), cmd::BPF_MAP_LOOKUP_ELEM, Some(key), 0)
    }

    /// Stores `values` (exactly one per possible CPU, else [`Error::BufferSize`](crate::Error::BufferSize))
    /// under `key`.
    pub fn insert(&self, key: &K, values: &[V], flags: u64) -> Result<()> {
        bpf_map::update(self.map.sized(), Some(key), values, flags)
    }

    /// Deletes `key`: `Ok(false)` if it was absent. Arrays refuse deletes.
    pub fn remove(&self, key: &K) -> Result<bool> {
        bpf_map::delete(self.map.sized(), key)
    }

    /// The keys.
    pub fn keys(&self) -> TypedKeys<'a, K> {
        TypedKeys::of(self.map)
    }

    /// Each key with its per-CPU values; keys deleted meanwhile are skipped.
    pub fn iter(&self) -> PerCpuIter<'a, K, V> {
        PerCpuIter {
            map: self.map,
            keys: self.keys(),
            _v: PhantomData,
        }
    }

    /// Every key with its per-CPU values through `BPF_MAP_LOOKUP_BATCH`.
    pub fn lookup_batch(&self) -> Result<Vec<(K, Vec<V>)>> {
        bpf_map::lookup_batch::<K, V>(self.map.sized(), false)
    }
}

/// Iterator of [`PerCpuMap::iter`].
#[derive(Debug)]
pub struct PerCpuIter<'a, K, V> {
    map: Map<'a>,
    keys: TypedKeys<'a, K>,
    _v: PhantomData<fn() -> V>,
}

impl<K: Pod, V: Pod> Iterator for PerCpuIter<'_, K, V> {
    type Item = Result<(K, Vec<V>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let key = match self.keys.next()? {
                Ok(k) => k,
                Err(e) => return Some(Err(e)),
            };
            match bpf_map::lookup::<K, V>(self.map.sized(), cmd::BPF_MAP_LOOKUP_ELEM, Some(&key), 0)
            {
                Ok(Some(v)) => return Some(Ok((key, v))),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
