//! [`MapHandle`]: what the typed handles share, a copyable borrow of one map's descriptor with
//! the key and value types it is read as. Its kind marker ([`kind`]) decides which operations
//! it has; [`TypedMap`](super::TypedMap), [`PerCpuMap`](super::PerCpuMap),
//! [`Queue`](super::Queue) and [`BloomFilter`](super::BloomFilter) name its four kinds.

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd};

use super::{Map, MapInfo};
use crate::Result;

/// A typed view of one map: `Kind` (one of [`kind`]) picks the operations, `T` the element
/// types (`(K, V)` for keyed maps, `V` for queues and bloom filters). Use it through its
/// aliases, [`TypedMap`](super::TypedMap) and the others.
pub struct MapHandle<'a, Kind, T> {
    pub(super) map: Map<'a>,
    _types: PhantomData<fn() -> (Kind, T)>,
}

/// The kinds of [`MapHandle`]: uninhabited markers, one per handle alias.
pub mod kind {
    mod sealed {
        pub trait Sealed {}
    }

    /// A kind of [`MapHandle`](super::MapHandle); sealed, as each kind's operations are this
    /// crate's.
    pub trait Kind: sealed::Sealed {
        /// The alias that names the handle, for `Debug`.
        const NAME: &'static str;
    }

    macro_rules! kinds {
        ($($(#[$m:meta])* $kind:ident => $name:literal;)*) => {$(
            $(#[$m])*
            #[derive(Debug)]
            pub enum $kind {}
            impl sealed::Sealed for $kind {}
            impl Kind for $kind {
                const NAME: &'static str = $name;
            }
        )*};
    }

    kinds! {
        /// One value per key: [`TypedMap`](crate::TypedMap).
        Single => "TypedMap";
        /// One value per key and possible CPU: [`PerCpuMap`](crate::PerCpuMap).
        PerCpu => "PerCpuMap";
        /// Values without keys, taken in order: [`Queue`](crate::Queue).
        Queue => "Queue";
        /// A set that only answers "maybe": [`BloomFilter`](crate::BloomFilter).
        Bloom => "BloomFilter";
    }
}

impl<K, T> Clone for MapHandle<'_, K, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, T> Copy for MapHandle<'_, K, T> {}

impl<K: kind::Kind, T> std::fmt::Debug for MapHandle<'_, K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(K::NAME).field("map", &self.map).finish()
    }
}

impl<'a, K: kind::Kind, T> MapHandle<'a, K, T> {
    /// Views `map` with this handle's element types (sizes are checked by each operation).
    pub fn new(map: Map<'a>) -> Self {
        MapHandle {
            map,
            _types: PhantomData,
        }
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'a> {
        self.map.fd()
    }

    /// The untyped map: element access over bytes.
    pub fn raw(&self) -> Map<'a> {
        self.map
    }

    /// The kernel's description of the map (id, name, type, sizes, `max_entries`, flags).
    pub fn info(&self) -> Result<MapInfo> {
        self.map.info()
    }
}

impl<K: kind::Kind, T> AsFd for MapHandle<'_, K, T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}

impl<'a, K: kind::Kind, T> From<MapHandle<'a, K, T>> for BorrowedFd<'a> {
    fn from(map: MapHandle<'a, K, T>) -> Self {
        map.fd()
    }
}
