//! [`Queue`]: queue and stack maps.

use std::marker::PhantomData;
use std::os::fd::BorrowedFd;

use super::{Map, MapInfo};
use crate::sys::bpf::cmd;
use crate::sys::bpf_map::{self, BPF_MAP_LOOKUP_AND_DELETE_ELEM};
use crate::{Pod, Result};

/// A queue (first in, first out) or stack (last in, first out) map of values `V`. The value
/// size is checked as in [`TypedMap`](super::TypedMap).
pub struct Queue<'a, V> {
    map: Map<'a>,
    _v: PhantomData<fn() -> V>,
}

impl<V> Clone for Queue<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Queue<'_, V> {}

impl<V> std::fmt::Debug for Queue<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("map", &self.map).finish()
    }
}

impl<'a, V: Pod> Queue<'a, V> {
    /// Views `map` (a queue or stack) with value type `V`.
    pub fn new(map: Map<'a>) -> Self {
        Queue {
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

    /// Adds `value`. A full map refuses it (`E2BIG`) unless `flags` is `BPF_EXIST`, which drops
    /// the oldest value to make room.
    pub fn push(&self, value: &V, flags: u64) -> Result<()> {
        bpf_map::update::<(), V>(self.map.sized(), None, std::slice::from_ref(value), flags)
    }

    /// Removes and returns the next value (the oldest of a queue, the newest of a stack), `None`
    /// when empty.
    pub fn pop(&self) -> Result<Option<V>> {
        let v =
            bpf_map::lookup::<(), V>(self.map.sized(), BPF_MAP_LOOKUP_AND_DELETE_ELEM, None, 0)?;
        Ok(v.map(|mut v| v.remove(0)))
    }

    /// The value [`pop`](Self::pop) would return, left in place.
    pub fn peek(&self) -> Result<Option<V>> {
        let v = bpf_map::lookup::<(), V>(self.map.sized(), cmd::BPF_MAP_LOOKUP_ELEM, None, 0)?;
        Ok(v.map(|mut v| v.remove(0)))
    }
}

impl<'a, V: Pod> std::os::fd::AsFd for Queue<'a, V> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd()
    }
}

impl<'a, V: Pod> From<Queue<'a, V>> for std::os::fd::BorrowedFd<'a> {
    fn from(map: Queue<'a, V>) -> Self {
        map.fd()
    }
}
