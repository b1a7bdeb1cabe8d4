//! Verified loaders kept for the next load of the same skeleton ([`LoadOptions::keep_loader`]).
//!
//! Verifying the loader program is most of a small load (the verifier walks every loader
//! instruction), and the program is the same for every load of one skeleton. A load that asks
//! for it keeps its (loader map, loader program) pair here after a completed run; the next load
//! of the same loader takes the pair out, writes its fresh blob into the map and runs the
//! program again, skipping `BPF_MAP_CREATE` and `BPF_PROG_LOAD`.
//!
//! Why a rerun is the same as a fresh load:
//! - The program is the very code the verifier accepted, bound to this one map, and a
//!   `BPF_PROG_TYPE_SYSCALL` program keeps no state between runs but what it writes into its
//!   map. A pair is only taken for a loader whose instructions are byte for byte the ones it was
//!   verified from and whose blob has the map's value size.
//! - The loader patches its blob while it runs (fds, offsets, its ctx area): every run starts by
//!   writing the whole pristine blob over the map with `BPF_MAP_UPDATE_ELEM`, so it sees the same
//!   bytes a fresh map would hold. That needs an unfrozen map: a frozen (signed) loader map is
//!   never kept (see `FREEZE_LOADER_MAP` in `load`).
//! - A pair is taken out of the cache for the whole run, so two threads never run one pair (a
//!   second concurrent load does not find it and builds its own).
//! - A loader that failed has closed every fd it made (its cleanup), so its pair is as good as
//!   after a success; a pair whose run did not complete (the test-run call failed) is dropped.
//! - The loader's own log level matters only at its `BPF_PROG_LOAD`, which a kept loader has
//!   passed; the inner loads log through the ctx, set anew on every run.
//! - After `fork` the child holds the same kernel map as the parent: two processes writing one
//!   blob while both run it would corrupt each other's loads. The cache remembers the process
//!   that filled it; another process (a child) finds it foreign, closes its copies of the fds
//!   and starts empty.
//!
//! The lock is only ever tried (`try_lock`): a contended or poisoned-and-busy cache is a miss (a
//! fresh load) or a dropped pair, never a wait, so a child forked while another thread held the
//! lock cannot deadlock here.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::sys::bpf::OneValueArray;

/// At most this many pairs of one loader are kept (concurrent loads each make one).
const MAX_PER_LOADER: usize = 4;

/// A verified loader program and its blob map, ready to run again.
#[derive(Debug)]
pub(crate) struct KeptLoader {
    pub(crate) map: OneValueArray,
    pub(crate) prog: OwnedFd,
}

#[derive(Debug)]
struct Entry {
    /// The instructions the program was verified from.
    insns: Box<[u8]>,
    loader: KeptLoader,
}

#[derive(Debug)]
struct Cache {
    /// The process the fds belong to; 0 before the first use.
    pid: u32,
    kept: Vec<Entry>,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    pid: 0,
    kept: Vec::new(),
});

/// The cache of this process, or `None` when another thread holds it. What a foreign (forked)
/// cache held is moved into `stale`, to be closed after the lock is released.
fn lock(stale: &mut Vec<Entry>) -> Option<MutexGuard<'static, Cache>> {
    let mut cache = match CACHE.try_lock() {
        Ok(c) => c,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return None,
    };
    let pid = std::process::id();
    if cache.pid != pid {
        *stale = std::mem::take(&mut cache.kept);
        cache.pid = pid;
    }
    Some(cache)
}

/// Takes a kept pair verified from `insns` whose map holds `data_len` bytes, if there is one.
pub(crate) fn take(insns: &[u8], data_len: usize) -> Option<KeptLoader> {
    let mut stale = Vec::new();
    let found = lock(&mut stale).and_then(|mut cache| {
        let i = (cache.kept.iter())
            .position(|e| e.loader.map.value_size() == data_len && *e.insns == *insns)?;
        Some(cache.kept.swap_remove(i).loader)
    });
    drop(stale); // closes a forked parent's fds, outside the lock
    found
}

/// Keeps `loader`, verified from `insns`, for the next load. Dropped (its fds closed) when the
/// cache is busy or already holds [`MAX_PER_LOADER`] pairs of these instructions.
pub(crate) fn put_back(insns: &[u8], loader: KeptLoader) {
    let mut stale = Vec::new();
    let refused = match lock(&mut stale) {
        Some(mut cache) => {
            let same = cache.kept.iter().filter(|e| *e.insns == *insns).count();
            if same < MAX_PER_LOADER {
                cache.kept.push(Entry {
                    insns: insns.into(),
                    loader,
                });
                None
            } else {
                Some(loader)
            }
        }
        None => Some(loader),
    };
    drop((stale, refused));
}

/// Closes every loader kept by [`LoadOptions::keep_loader`](crate::LoadOptions::keep_loader)
/// loads of this process, freeing their programs and blob maps in the kernel. Returns how many
/// (loader program, map) pairs it closed; 0 also when another thread is using the cache at that
/// instant (call again). Later loads that ask to keep their loader fill the cache again.
pub fn drop_kept_loaders() -> usize {
    let mut stale = Vec::new();
    let kept = lock(&mut stale).map_or_else(Vec::new, |mut c| std::mem::take(&mut c.kept));
    let n = kept.len();
    drop((stale, kept));
    n
}
