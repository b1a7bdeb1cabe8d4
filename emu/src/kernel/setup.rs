//! Building a mock kernel: the types and symbols it knows, its limits, user memory, objects
//! the process holds before the loader runs, and the failures to inject.

use super::{MapObject, MockKernel, Module, Object, Op};
use crate::mem::{RegionKind, USER_BASE, USER_STRIDE};

impl MockKernel {
    /// Adds a vmlinux BTF type.
    pub fn add_vmlinux_type(&mut self, name: &str, kind: u32, id: u32) -> &mut Self {
        self.vmlinux.push((name.to_string(), kind, id));
        self
    }

    /// Adds a module with its own BTF types `(name, kind, id)`.
    pub fn add_module(&mut self, name: &str, types: &[(&str, u32, u32)]) -> &mut Self {
        self.modules.push(Module {
            name: name.to_string(),
            types: types
                .iter()
                .map(|&(n, k, i)| (n.to_string(), k, i))
                .collect(),
        });
        self
    }

    /// Adds a kallsyms entry.
    pub fn add_kallsyms(&mut self, name: &str, addr: u64) -> &mut Self {
        self.kallsyms.insert(name.to_string(), addr);
        self
    }

    /// Sets the number of possible CPUs (per-CPU map values), 2 by default.
    pub fn set_ncpus(&mut self, n: u32) -> &mut Self {
        self.ncpus = n.max(1);
        self
    }

    /// Sets the highest number of open fds (RLIMIT_NOFILE); -EMFILE beyond.
    pub fn set_max_fds(&mut self, n: usize) -> &mut Self {
        self.max_fds = n;
        self
    }

    /// A map the process already holds (made before the loader runs, e.g. one to reuse):
    /// returns its fd. It is an open fd like any other: [`open_fds`](Self::open_fds) lists it
    /// until someone closes it.
    ///
    /// # Panics
    /// If the fd table is full.
    pub fn add_map(&mut self, map: MapObject) -> i32 {
        match self.alloc_fd(Object::Map(map)) {
            Ok(fd) => fd as i32,
            Err((_, why)) => panic!("add_map: {why}"),
        }
    }

    /// Registers user memory holding `bytes`; returns its address (for ctx `initial_value`,
    /// `log_buf`).
    pub fn add_user_mem(&mut self, bytes: &[u8]) -> u64 {
        let base = USER_BASE + self.n_user as u64 * USER_STRIDE;
        self.user
            .add(RegionKind::User(self.n_user), base, bytes.to_vec());
        self.n_user += 1;
        base
    }

    /// Makes the `n`th call (1-based, counted from the kernel's creation) of `op` fail with
    /// `-errno`. The refusal is persistent: if the loader retries that bpf command right away,
    /// the retry fails the same way.
    pub fn fail_nth(&mut self, op: impl Into<Op>, n: u32, errno: i32) -> &mut Self {
        let op = op.into();
        // Only a bpf command can be retried by the loader (MAP_CREATE without BTF types).
        let sticky = matches!(op, Op::Bpf(_));
        self.fail.push((op, n, errno, sticky));
        self
    }

    /// Like [`fail_nth`](Self::fail_nth), but an immediate retry of the same operation succeeds
    /// (a transient refusal; `fail_nth` models a persistent one, whose retry fails again).
    pub fn fail_nth_once(&mut self, op: impl Into<Op>, n: u32, errno: i32) -> &mut Self {
        self.fail.push((op.into(), n, errno, false));
        self
    }
}
