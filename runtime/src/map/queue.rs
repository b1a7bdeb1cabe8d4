//! [`Queue`]: queue and stack maps.

use super::{kind, MapHandle};
use crate::sys::bpf::cmd;
use crate::sys::bpf_map::{self, BPF_MAP_LOOKUP_AND_DELETE_ELEM};
use crate::{Pod, Result};

/// A queue (first in, first out) or stack (last in, first out) map of values `V`. The value
/// size is checked as in [`TypedMap`](super::TypedMap).
pub type Queue<'a, V> = MapHandle<'a, kind::Queue, V>;

impl<'a, V: Pod> MapHandle<'a, kind::Queue, V> {
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
