//! [`TypedMap`]: keys and values as Rust types, for maps with one value per key.

use std::marker::PhantomData;

use super::{kind, Map, MapHandle};
use crate::sys::bpf::cmd;
use crate::sys::bpf_map::{self, BPF_MAP_LOOKUP_AND_DELETE_ELEM};
use crate::{Pod, Result};

/// A map with keys of type `K` and values of type `V`: hash, LRU hash, array, LPM trie and the
/// other maps that hold one value per key. Operations copy keys and values in and out; a map
/// whose key or value size is not `size_of::<K>()` / `size_of::<V>()` (a size changed before
/// load) fails every operation with [`Error::BufferSize`](crate::Error::BufferSize).
pub type TypedMap<'a, K, V> = MapHandle<'a, kind::Single, (K, V)>;

impl<'a, K: Pod, V: Pod> MapHandle<'a, kind::Single, (K, V)> {
    /// Refuses a per-CPU map, whose elements hold one value per CPU ([`PerCpuMap`](super::PerCpuMap)).
    fn single(&self) -> Result<()> {
        if self.map.is_percpu() {
            return Err(crate::Error::InvalidArgument(
                "a TypedMap over a per-CPU map: use PerCpuMap",
            ));
        }
        Ok(())
    }

    /// The value under `key`, `None` if absent.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        self.single()?;
        let v = bpf_map::lookup::<K, V>(self.map.sized(), cmd::BPF_MAP_LOOKUP_ELEM, Some(key), 0)?;
        Ok(v.map(|mut v| v.remove(0)))
    }

    /// Stores `value` under `key`. `flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`
    /// ([`sys::bpf::flags`](crate::sys::bpf::flags)).
    pub fn insert(&self, key: &K, value: &V, flags: u64) -> Result<()> {
        self.single()?;
        bpf_map::update(
            self.map.sized(),
            Some(key),
            std::slice::from_ref(value),
            flags,
        )
    }

    /// Deletes `key`: `Ok(false)` if it was absent. Arrays refuse deletes (`EINVAL`).
    pub fn remove(&self, key: &K) -> Result<bool> {
        bpf_map::delete(self.map.sized(), key)
    }

    /// Removes `key` and returns its value (`BPF_MAP_LOOKUP_AND_DELETE_ELEM`; hash maps since
    /// Linux 5.14), `None` if absent.
    pub fn lookup_and_delete(&self, key: &K) -> Result<Option<V>> {
        self.single()?;
        let v = bpf_map::lookup::<K, V>(
            self.map.sized(),
            BPF_MAP_LOOKUP_AND_DELETE_ELEM,
            Some(key),
            0,
        )?;
        Ok(v.map(|mut v| v.remove(0)))
    }

    /// The keys (`BPF_MAP_GET_NEXT_KEY`). Keys added or deleted meanwhile may be missed or seen
    /// twice, as with any walk over a live map.
    pub fn keys(&self) -> TypedKeys<'a, K> {
        TypedKeys {
            map: self.map,
            cur: None,
            done: false,
        }
    }

    /// The `(key, value)` pairs: each key of [`keys`](Self::keys) with its value; a key deleted
    /// between the two steps is skipped.
    pub fn iter(&self) -> Iter<'a, K, V> {
        Iter {
            keys: self.keys(),
            _v: PhantomData,
        }
    }

    /// Every `(key, value)` pair through `BPF_MAP_LOOKUP_BATCH`: a few system calls for the
    /// whole map instead of two per element.
    pub fn lookup_batch(&self) -> Result<Vec<(K, V)>> {
        self.single()?;
        let all = bpf_map::lookup_batch::<K, V>(self.map.sized(), false)?;
        Ok(all.into_iter().map(|(k, mut v)| (k, v.remove(0))).collect())
    }

    /// Every `(key, value)` pair, deleting them (`BPF_MAP_LOOKUP_AND_DELETE_BATCH`; hash maps).
    pub fn lookup_and_delete_batch(&self) -> Result<Vec<(K, V)>> {
        self.single()?;
        let all = bpf_map::lookup_batch::<K, V>(self.map.sized(), true)?;
        Ok(all.into_iter().map(|(k, mut v)| (k, v.remove(0))).collect())
    }

    /// Stores `values[i]` under `keys[i]` in one `BPF_MAP_UPDATE_BATCH` (`flags` per element, as
    /// in [`insert`](Self::insert)). Returns how many were stored.
    pub fn update_batch(&self, keys: &[K], values: &[V], flags: u64) -> Result<usize> {
        bpf_map::update_batch(self.map.sized(), keys, values, flags)
    }

    /// Deletes `keys` in one `BPF_MAP_DELETE_BATCH`, returning how many were deleted. An absent
    /// key fails it with `ENOENT`; arrays refuse it (the kernel's error).
    pub fn delete_batch(&self, keys: &[K]) -> Result<usize> {
        bpf_map::delete_batch(self.map.sized(), keys)
    }
}

/// Iterator of [`TypedMap::keys`] (and of the other typed handles' keys).
#[derive(Debug)]
pub struct TypedKeys<'a, K> {
    map: Map<'a>,
    cur: Option<K>,
    done: bool,
}

impl<'a, K: Pod> TypedKeys<'a, K> {
    pub(crate) fn of(map: Map<'a>) -> Self {
        TypedKeys {
            map,
            cur: None,
            done: false,
        }
    }
}

impl<K: Pod> Iterator for TypedKeys<'_, K> {
    type Item = Result<K>;

    fn next(&mut self) -> Option<Result<K>> {
        if self.done {
            return None;
        }
        match bpf_map::next_key::<K>(self.map.sized(), self.cur.as_ref()) {
            Ok(Some(k)) => {
                self.cur = Some(k);
                Some(Ok(k))
            }
            Ok(None) => {
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

/// Iterator of [`TypedMap::iter`].
#[derive(Debug)]
pub struct Iter<'a, K, V> {
    keys: TypedKeys<'a, K>,
    _v: PhantomData<fn() -> V>,
}

impl<K: Pod, V: Pod> Iterator for Iter<'_, K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let key = match self.keys.next()? {
                Ok(k) => k,
                Err(e) => return Some(Err(e)),
            };
            if self.keys.map.is_percpu() {
                self.keys.done = true;
                return Some(Err(crate::Error::InvalidArgument(
                    "a TypedMap over a per-CPU map: use PerCpuMap",
                )));
            }
            let sized = self.keys.map.sized();
            match bpf_map::lookup::<K, V>(sized, cmd::BPF_MAP_LOOKUP_ELEM, Some(&key), 0) {
                Ok(Some(mut v)) => return Some(Ok((key, v.remove(0)))),
                Ok(None) => continue,
                Err(e) => {
                    self.keys.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
