//! The loader context ABI: the block of memory handed to the loader program as its `ctx`.
//!
//! The layout is `lskel-abi`'s `ctx` module, shared with the generator and the emulator (the names
//! below are this crate's for it). Native-endian, every part 8-byte aligned (the kernel refuses a misaligned ctx
//! access, so a u64 must never follow an odd number of u32s):
//!
//! ```text
//! offset 0        struct bpf_loader_ctx { u32 sz; u32 flags; u32 log_level; u32 log_size; u64 log_buf; }
//! 24 + 48*i       map descriptor: i32 map_fd; u32 max_entries; u64 initial_value; (libbpf's bpf_map_desc)
//!                 (map_fd is also in: a map to reuse when `set` has REUSE = 64)
//!                 u32 set; u32 key_size; u32 value_size; u32 map_flags; u32 numa_node; i32 inner_map_fd;
//!                 u64 map_extra                     (settings changed before load, `set` says which)
//! +4*j            struct bpf_prog_desc { i32 prog_fd; }
//! status (8-al.)  u32 failed_step; u32 possible_cpus; u64 reserved
//! + 24*k          attach-target entries
//! ```
//!
//! `sz` is passed to `BPF_PROG_TEST_RUN` as `ctx_size_in`; the kernel copies the block back after the run,
//! which is how the loader returns the descriptors it created.

use crate::sys::mem;
use lskel_abi::ctx;

/// `sizeof(struct bpf_loader_ctx)`: the header.
pub const LOADER_CTX_HEADER_SIZE: usize = ctx::HEADER_SIZE;
/// Offset of `bpf_loader_ctx.sz`.
pub const CTX_SZ_OFF: usize = ctx::SZ;
/// Offset of `bpf_loader_ctx.flags`.
pub const CTX_FLAGS_OFF: usize = ctx::FLAGS;
/// Offset of `bpf_loader_ctx.log_level`.
pub const CTX_LOG_LEVEL_OFF: usize = ctx::LOG_LEVEL;
/// Offset of `bpf_loader_ctx.log_size`.
pub const CTX_LOG_SIZE_OFF: usize = ctx::LOG_SIZE;
/// Offset of `bpf_loader_ctx.log_buf`.
pub const CTX_LOG_BUF_OFF: usize = ctx::LOG_BUF;

/// Size of a map descriptor.
pub const MAP_DESC_SIZE: usize = ctx::MAP_DESC_SIZE;
/// Offset of `map_fd` within a map descriptor.
pub const MAP_DESC_FD_OFF: usize = ctx::map::FD;
/// Offset of `max_entries` within a map descriptor.
pub const MAP_DESC_MAX_ENTRIES_OFF: usize = ctx::map::MAX_ENTRIES;
/// Offset of `initial_value` within a map descriptor.
pub const MAP_DESC_INITIAL_VALUE_OFF: usize = ctx::map::INITIAL_VALUE;
/// Offset of `set` (which of the settings below are given) within a map descriptor.
pub const MAP_DESC_SET_OFF: usize = ctx::map::SET;
/// Offset of `key_size` within a map descriptor.
pub const MAP_DESC_KEY_SIZE_OFF: usize = ctx::map::KEY_SIZE;
/// Offset of `value_size` within a map descriptor.
pub const MAP_DESC_VALUE_SIZE_OFF: usize = ctx::map::VALUE_SIZE;
/// Offset of `map_flags` within a map descriptor.
pub const MAP_DESC_MAP_FLAGS_OFF: usize = ctx::map::MAP_FLAGS;
/// Offset of `numa_node` within a map descriptor.
pub const MAP_DESC_NUMA_NODE_OFF: usize = ctx::map::NUMA_NODE;
/// Offset of `inner_map_fd` within a map descriptor.
pub const MAP_DESC_INNER_MAP_FD_OFF: usize = ctx::map::INNER_MAP_FD;
/// Offset of `map_extra` within a map descriptor.
pub const MAP_DESC_MAP_EXTRA_OFF: usize = ctx::map::MAP_EXTRA;

/// Bits of a map descriptor's `set` word.
pub use lskel_abi::ctx::set as map_set;

/// `sizeof(struct bpf_prog_desc)`.
pub const PROG_DESC_SIZE: usize = ctx::PROG_DESC_SIZE;
/// Offset of `bpf_prog_desc.prog_fd` within a program descriptor.
pub const PROG_DESC_FD_OFF: usize = ctx::PROG_FD_AT;

/// `BPF_SKEL_KERNEL` (ctx `flags` bit): the skeleton runs inside the kernel, so the loader must read initial
/// values with `probe_read_kernel` rather than `copy_from_user`. Never set by this crate (user space only).
pub const BPF_SKEL_KERNEL: u32 = ctx::SKEL_KERNEL;

/// The largest `ctx_size_in` the kernel accepts for a `BPF_PROG_TYPE_SYSCALL` test run.
pub const MAX_CTX_SIZE: usize = ctx::MAX_SIZE;

/// Offset of map descriptor `i`.
pub const fn map_desc_off(i: usize) -> usize {
    ctx::map_desc(i)
}

/// Offset of program descriptor `j` in a ctx with `n_maps` maps.
pub const fn prog_desc_off(n_maps: usize, j: usize) -> usize {
    ctx::prog_fd(n_maps, j) - ctx::PROG_FD_AT
}

/// A program descriptor's `prog_fd` set to this before the run: do not load that program.
pub const PROG_SKIP: i32 = ctx::PROG_SKIP;

/// Size of the status trailer after the program descriptors: `u32 failed_step` (out),
/// `u32 possible_cpus` (in), `u64 reserved`.
pub const STATUS_SIZE: usize = ctx::STATUS_SIZE;

/// Offset of the status trailer, 8-aligned. On failure the loader writes the 1-based number of the step
/// that failed into its first u32 (0: none); the generated skeleton knows the step names.
pub const fn status_off(n_maps: usize, n_progs: usize) -> usize {
    ctx::status(n_maps, n_progs)
}

/// Size of one attach-target entry: `u64 name` (user pointer), `u32 name_sz`, then for
/// `freplace` `u32 attach_prog_fd` and `u32 attach_btf_id`, `u32 reserved`.
pub const TARGET_SIZE: usize = ctx::TARGET_SIZE;

/// Offset of attach-target entry `k` (after the status trailer).
pub const fn target_off(n_maps: usize, n_progs: usize, k: usize) -> usize {
    ctx::target(n_maps, n_progs, k)
}

/// The ctx size (`sz`) for `n_maps` maps and `n_progs` programs, status trailer included.
pub const fn ctx_size(n_maps: usize, n_progs: usize) -> usize {
    ctx::size(n_maps, n_progs)
}

/// An owned, 8-byte aligned loader context for `n_maps` maps and `n_progs` programs.
#[derive(Clone)]
pub struct LoaderCtx {
    buf: Vec<u64>,
    n_maps: usize,
    n_progs: usize,
    n_targets: usize,
}

impl LoaderCtx {
    /// A zeroed ctx with `sz` filled in.
    ///
    /// # Panics
    ///
    /// If the size exceeds [`MAX_CTX_SIZE`].
    pub fn new(n_maps: usize, n_progs: usize) -> Self {
        Self::with_targets(n_maps, n_progs, 0)
    }

    /// A zeroed ctx with room for `n_targets` attach targets set at load time (one per
    /// program whose section names no target).
    ///
    /// # Panics
    /// If the size exceeds [`MAX_CTX_SIZE`].
    pub fn with_targets(n_maps: usize, n_progs: usize, n_targets: usize) -> Self {
        let size = target_off(n_maps, n_progs, n_targets);
        assert!(
            size <= MAX_CTX_SIZE,
            "loader ctx of {size} bytes exceeds {MAX_CTX_SIZE}"
        );
        let mut ctx = LoaderCtx {
            buf: vec![0u64; size.div_ceil(8)],
            n_maps,
            n_progs,
            n_targets,
        };
        ctx.write_u32(CTX_SZ_OFF, size as u32);
        ctx
    }

    /// Number of map descriptors.
    pub fn n_maps(&self) -> usize {
        self.n_maps
    }

    /// Number of program descriptors.
    pub fn n_progs(&self) -> usize {
        self.n_progs
    }

    /// `sz`: the number of meaningful bytes (the buffer may be padded to 8).
    pub fn size(&self) -> usize {
        target_off(self.n_maps, self.n_progs, self.n_targets)
    }

    fn set_bit(&mut self, i: usize, bit: u32) {
        let off = self.map_off(i) + MAP_DESC_SET_OFF;
        let set = self.read_u32(off) | bit;
        self.write_u32(off, set);
    }

    /// Creates map `i` with key size `size` instead of the object's.
    pub fn set_key_size(&mut self, i: usize, size: u32) {
        self.write_u32(self.map_off(i) + MAP_DESC_KEY_SIZE_OFF, size);
        self.set_bit(i, map_set::KEY_SIZE);
    }

    /// Creates map `i` with value size `size` instead of the object's.
    pub fn set_value_size(&mut self, i: usize, size: u32) {
        self.write_u32(self.map_off(i) + MAP_DESC_VALUE_SIZE_OFF, size);
        self.set_bit(i, map_set::VALUE_SIZE);
    }

    /// Map `i`'s value size as given (`None`: the object's).
    pub fn value_size(&self, i: usize) -> Option<u32> {
        let set = self.read_u32(self.map_off(i) + MAP_DESC_SET_OFF);
        (set & map_set::VALUE_SIZE != 0)
            .then(|| self.read_u32(self.map_off(i) + MAP_DESC_VALUE_SIZE_OFF))
    }

    /// Creates map `i` with `map_flags` instead of the object's.
    pub fn set_map_flags(&mut self, i: usize, flags: u32) {
        self.write_u32(self.map_off(i) + MAP_DESC_MAP_FLAGS_OFF, flags);
        self.set_bit(i, map_set::MAP_FLAGS);
    }

    /// Creates map `i` on NUMA node `node` (the kernel needs `BPF_F_NUMA_NODE` in its flags).
    pub fn set_numa_node(&mut self, i: usize, node: u32) {
        self.write_u32(self.map_off(i) + MAP_DESC_NUMA_NODE_OFF, node);
        self.set_bit(i, map_set::NUMA_NODE);
    }

    /// Creates map `i` with `map_extra` instead of the object's.
    pub fn set_map_extra(&mut self, i: usize, extra: u64) {
        self.write_u64(self.map_off(i) + MAP_DESC_MAP_EXTRA_OFF, extra);
        self.set_bit(i, map_set::MAP_EXTRA);
    }

    /// Creates map-in-map `i` with the map `fd` as its inner map template. The fd stays the
    /// caller's and must stay open until the loader has run.
    pub fn set_inner_map_fd(&mut self, i: usize, fd: i32) {
        self.write_u32(self.map_off(i) + MAP_DESC_INNER_MAP_FD_OFF, fd as u32);
        self.set_bit(i, map_set::INNER_MAP);
    }

    /// Marks map `i` reused: the loader uses map `fd` instead of creating it, and owns `fd` once
    /// the run starts (it closes it on failure, returns it in `map_fd` on success).
    /// Crate-private: only `load_and_run` gives fds to reuse, from a duplicate it hands over
    /// exactly when the run happens; [`clear_fds`](Self::clear_fds) drops every reuse mark.
    pub(crate) fn set_reuse_fd_raw(&mut self, i: usize, fd: i32) {
        self.write_u32(self.map_off(i) + MAP_DESC_FD_OFF, fd as u32);
        self.set_bit(i, map_set::REUSE);
    }

    /// Whether map `i` is marked reused.
    pub fn reused(&self, i: usize) -> bool {
        self.read_u32(self.map_off(i) + MAP_DESC_SET_OFF) & map_set::REUSE != 0
    }

    /// Sets attach-target entry `k` of a `freplace` program: the program to extend and the BTF
    /// id of the function it replaces (in that program's BTF).
    pub fn set_attach_target_prog(&mut self, k: usize, prog_fd: i32, btf_id: u32) {
        assert!(
            k < self.n_targets,
            "attach target entry {k} of {}",
            self.n_targets
        );
        let off = target_off(self.n_maps, self.n_progs, k);
        self.write_u32(off + ctx::TARGET_PROG_FD, prog_fd as u32);
        self.write_u32(off + ctx::TARGET_BTF_ID, btf_id);
    }

    /// Sets attach-target entry `k` to the NUL-terminated name at `name` (`len` bytes with
    /// the NUL). Crate-private: the caller keeps the memory alive and unchanged until the ctx
    /// has run, as the public `unsafe` [`set_attach_target`](Self::set_attach_target) requires.
    pub(crate) fn set_attach_target_raw(&mut self, k: usize, name: u64, len: u32) {
        assert!(
            k < self.n_targets,
            "attach target entry {k} of {}",
            self.n_targets
        );
        let off = target_off(self.n_maps, self.n_progs, k);
        self.write_u64(off + ctx::TARGET_NAME, name);
        self.write_u32(off + ctx::TARGET_NAME_SZ, len);
    }

    /// The ctx bytes (`size()` of them).
    pub fn as_bytes(&self) -> &[u8] {
        &mem::u64s_as_bytes(&self.buf)[..self.size()]
    }

    /// The ctx bytes, mutably (`size()` of them).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let size = self.size();
        &mut mem::u64s_as_bytes_mut(&mut self.buf)[..size]
    }

    /// A pointer to the start of the ctx (8-byte aligned).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.buf.as_mut_ptr().cast()
    }

    fn read_u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.as_bytes()[off..off + 4].try_into().expect("4 bytes"))
    }

    fn read_u64(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.as_bytes()[off..off + 8].try_into().expect("8 bytes"))
    }

    fn write_u32(&mut self, off: usize, v: u32) {
        self.as_bytes_mut()[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    fn write_u64(&mut self, off: usize, v: u64) {
        self.as_bytes_mut()[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    fn map_off(&self, i: usize) -> usize {
        assert!(
            i < self.n_maps,
            "map index {i} out of range ({} maps)",
            self.n_maps
        );
        map_desc_off(i)
    }

    fn prog_off(&self, j: usize) -> usize {
        assert!(
            j < self.n_progs,
            "program index {j} out of range ({} programs)",
            self.n_progs
        );
        prog_desc_off(self.n_maps, j)
    }

    /// `flags`.
    pub fn flags(&self) -> u32 {
        self.read_u32(CTX_FLAGS_OFF)
    }

    /// Sets `flags` (see [`BPF_SKEL_KERNEL`]).
    pub fn set_flags(&mut self, flags: u32) {
        self.write_u32(CTX_FLAGS_OFF, flags);
    }

    /// Sets `log_level`, `log_size` and `log_buf` (the loader passes them to its inner BTF and
    /// program loads). Crate-private: the caller keeps `size` bytes at `buf` writable by the
    /// kernel and untouched until the ctx has run, as the public `unsafe`
    /// [`set_log`](Self::set_log) requires.
    pub(crate) fn set_log_raw(&mut self, level: u32, size: u32, buf: u64) {
        self.write_u32(CTX_LOG_LEVEL_OFF, level);
        self.write_u32(CTX_LOG_SIZE_OFF, size);
        self.write_u64(CTX_LOG_BUF_OFF, buf);
    }

    /// `(log_level, log_size, log_buf)`.
    pub fn log(&self) -> (u32, u32, u64) {
        (
            self.read_u32(CTX_LOG_LEVEL_OFF),
            self.read_u32(CTX_LOG_SIZE_OFF),
            self.read_u64(CTX_LOG_BUF_OFF),
        )
    }

    /// Map `i`'s `map_fd`, as the loader left it (0 before the run).
    pub fn map_fd(&self, i: usize) -> i32 {
        self.read_u32(self.map_off(i) + MAP_DESC_FD_OFF) as i32
    }

    /// Map `i`'s `max_entries` (0: keep the object's value).
    pub fn max_entries(&self, i: usize) -> u32 {
        self.read_u32(self.map_off(i) + MAP_DESC_MAX_ENTRIES_OFF)
    }

    /// Overrides map `i`'s `max_entries` (0: keep the object's value).
    pub fn set_max_entries(&mut self, i: usize, max_entries: u32) {
        let off = self.map_off(i) + MAP_DESC_MAX_ENTRIES_OFF;
        self.write_u32(off, max_entries);
    }

    /// Map `i`'s `initial_value` pointer.
    pub fn initial_value(&self, i: usize) -> u64 {
        self.read_u64(self.map_off(i) + MAP_DESC_INITIAL_VALUE_OFF)
    }

    /// Sets map `i`'s `initial_value`: the user-space address (`ptr as u64`) the loader copies the map's
    /// initial contents from (0: use the object's bytes). Crate-private: the caller keeps the
    /// map's value size of bytes readable there until the ctx has run, as the public `unsafe`
    /// [`set_initial_value`](Self::set_initial_value) requires.
    pub(crate) fn set_initial_value_raw(&mut self, i: usize, addr: u64) {
        let off = self.map_off(i) + MAP_DESC_INITIAL_VALUE_OFF;
        self.write_u64(off, addr);
    }

    /// Program `j`'s `prog_fd`, as the loader left it (0 before the run, or for a skipped program).
    pub fn prog_fd(&self, j: usize) -> i32 {
        self.read_u32(self.prog_off(j) + PROG_DESC_FD_OFF) as i32
    }

    /// The 1-based number of the loader step that failed (0: none, or the loader did not say).
    pub fn failed_step(&self) -> u32 {
        self.read_u32(ctx::failed_step(self.n_maps, self.n_progs))
    }

    /// The possible-CPU count given to the loader (0: not set; `bpf_load_and_run` fills it in).
    pub fn possible_cpus(&self) -> u32 {
        self.read_u32(ctx::possible_cpus(self.n_maps, self.n_progs))
    }

    /// Tells the loader how many CPUs the machine can have: the size of a PERF_EVENT_ARRAY
    /// declared without `max_entries`.
    pub fn set_possible_cpus(&mut self, n: u32) {
        self.write_u32(ctx::possible_cpus(self.n_maps, self.n_progs), n);
    }

    /// Marks program `j` not to be loaded (autoload off): its fd stays absent.
    pub fn set_autoload(&mut self, j: usize, load: bool) {
        let off = self.prog_off(j) + PROG_DESC_FD_OFF;
        self.write_u32(off, if load { 0 } else { PROG_SKIP as u32 });
    }

    /// Clears every descriptor field the loader writes (map and program fds), e.g. after taking
    /// ownership, and every reuse mark (a map fd is an input only as `load_and_run` sets it).
    pub(crate) fn clear_fds(&mut self) {
        for i in 0..self.n_maps {
            let off = map_desc_off(i) + MAP_DESC_FD_OFF;
            self.write_u32(off, 0);
            let set = map_desc_off(i) + MAP_DESC_SET_OFF;
            let bits = self.read_u32(set) & !map_set::REUSE;
            self.write_u32(set, bits);
        }
        for j in 0..self.n_progs {
            // A program switched off keeps its marker: the loader skips it.
            let off = prog_desc_off(self.n_maps, j) + PROG_DESC_FD_OFF;
            if self.read_u32(off) as i32 != PROG_SKIP {
                self.write_u32(off, 0);
            }
        }
        self.write_u32(ctx::failed_step(self.n_maps, self.n_progs), 0);
    }
}

impl std::fmt::Debug for LoaderCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let maps: Vec<_> = (0..self.n_maps)
            .map(|i| (self.map_fd(i), self.max_entries(i), self.initial_value(i)))
            .collect();
        let progs: Vec<_> = (0..self.n_progs).map(|j| self.prog_fd(j)).collect();
        f.debug_struct("LoaderCtx")
            .field("sz", &self.size())
            .field("flags", &self.flags())
            .field("log", &self.log())
            .field("maps(fd, max_entries, initial_value)", &maps)
            .field("prog_fds", &progs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(LOADER_CTX_HEADER_SIZE, 24);
        assert_eq!(CTX_LOG_BUF_OFF + 8, LOADER_CTX_HEADER_SIZE);
        assert_eq!(MAP_DESC_SIZE, 48);
        assert_eq!(MAP_DESC_MAP_EXTRA_OFF + 8, MAP_DESC_SIZE);
        assert_eq!(map_desc_off(0), 24);
        assert_eq!(map_desc_off(2), 120);
        assert_eq!(prog_desc_off(0, 0), 24);
        assert_eq!(prog_desc_off(2, 1), 24 + 96 + 4);
        // Five programs: 20 bytes, padded to 24 so what follows is 8-aligned.
        assert_eq!(status_off(3, 5), 24 + 144 + 24);
        assert_eq!(ctx_size(3, 5), 24 + 144 + 24 + 16);
        assert_eq!(ctx_size(0, 0), 24 + 16);
        for n_progs in 0..4 {
            assert_eq!(target_off(1, n_progs, 1) % 8, 0);
        }
    }

    #[test]
    fn ctx_fields_round_trip() {
        let mut ctx = LoaderCtx::new(2, 3);
        assert_eq!(ctx.size(), 24 + 96 + 16 + 16);
        assert_eq!(ctx.failed_step(), 0);
        assert_eq!(ctx.as_bytes().len(), ctx.size());
        assert_eq!(&ctx.as_bytes()[..4], &(ctx.size() as u32).to_ne_bytes());
        assert_eq!(ctx.as_mut_ptr() as usize % 8, 0);
        ctx.set_max_entries(1, 77);
        ctx.set_initial_value_raw(1, 0xdead_beef_0000);
        ctx.set_log_raw(1, 4096, 0x1000);
        assert_eq!(ctx.max_entries(1), 77);
        assert_eq!(ctx.max_entries(0), 0);
        assert_eq!(ctx.initial_value(1), 0xdead_beef_0000);
        assert_eq!(ctx.log(), (1, 4096, 0x1000));
        assert_eq!(&ctx.as_bytes()[72 + 4..72 + 8], &77u32.to_ne_bytes());
        ctx.set_value_size(1, 1016);
        assert_eq!(ctx.value_size(1), Some(1016));
        assert_eq!(ctx.value_size(0), None);
        // What the loader writes back:
        let off = prog_desc_off(2, 2);
        ctx.as_bytes_mut()[off..off + 4].copy_from_slice(&9i32.to_ne_bytes());
        ctx.as_bytes_mut()[72..76].copy_from_slice(&5i32.to_ne_bytes());
        assert_eq!(ctx.prog_fd(2), 9);
        assert_eq!(ctx.map_fd(1), 5);
        ctx.set_reuse_fd_raw(0, 7);
        assert_eq!(
            (ctx.map_fd(0), ctx.reused(0), ctx.reused(1)),
            (7, true, false)
        );
        assert_eq!(ctx.value_size(1), Some(1016));
        ctx.clear_fds();
        assert_eq!((ctx.prog_fd(2), ctx.map_fd(1)), (0, 0));
        assert_eq!((ctx.map_fd(0), ctx.reused(0)), (0, false));
        assert_eq!(ctx.max_entries(1), 77);
        assert_eq!(ctx.value_size(1), Some(1016));
    }

    #[test]
    #[should_panic]
    fn map_index_checked() {
        LoaderCtx::new(1, 0).map_fd(1);
    }
}
