//! Map access: [`Map`] over raw bytes for any map, and typed handles over plain-old-data keys and
//! values ([`Pod`](crate::Pod)), which generated skeletons return where the object's BTF gives
//! the key and value types:
//!
//! | map types | handle |
//! |---|---|
//! | hash, LRU hash, array, LPM trie, … | [`TypedMap`] |
//! | per-CPU hash, per-CPU array, LRU per-CPU hash | [`PerCpuMap`] (one value per possible CPU) |
//! | queue, stack | [`Queue`] |
//! | bloom filter | [`BloomFilter`] |
//!
//! Every handle is a copyable borrow of the map's descriptor with the map's sizes; a key or value
//! type whose size differs from the map's (a size changed before load) makes each operation
//! fail with [`Error::BufferSize`](crate::Error::BufferSize), never a panic. [`map_info`] and [`prog_info`] describe maps and
//! programs; [`enable_stats`] turns on the kernel's run-time statistics of programs.

mod bloom;
mod handle;
mod info;
mod percpu;
mod queue;
mod raw;
mod typed;

pub use crate::cpus::{parse_cpu_list, possible_cpus};
pub use crate::sys::bpf_map::MapShape;
pub use bloom::BloomFilter;
pub use handle::{kind, MapHandle};
pub use info::{enable_stats, map_info, prog_info, MapInfo, ProgInfo};
pub use percpu::{PerCpuIter, PerCpuMap};
pub use queue::Queue;
pub use raw::{Keys, Map};
pub use typed::{Iter, TypedKeys, TypedMap};
