//! Reading a mock kernel after a run: the calls it saw, its fds and objects, user memory.

use super::{Event, MapObject, MockKernel, Object, Op, ProgObject, SysCall};

impl MockKernel {
    /// `len` bytes of user memory at `addr`.
    pub fn read_user(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.user.read(addr, len as u64).ok().map(<[u8]>::to_vec)
    }

    /// How many times `op` was called.
    pub fn call_count(&self, op: impl Into<Op>) -> u32 {
        self.counts.get(&op.into()).copied().unwrap_or(0)
    }

    /// Every `bpf_sys_bpf` call, in order.
    pub fn syscalls(&self) -> &[SysCall] {
        &self.syscalls
    }

    /// Every helper call, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Open fds (0-2 excluded), ascending.
    pub fn open_fds(&self) -> Vec<i32> {
        self.fds.keys().copied().collect()
    }

    /// The object `fd` refers to.
    pub fn object(&self, fd: i32) -> Option<&Object> {
        self.fds.get(&fd).map(|&i| &self.objects[i])
    }

    /// Object id (index into [`MockKernel::objects`]) of `fd`.
    pub fn object_id(&self, fd: i32) -> Option<usize> {
        self.fds.get(&fd).copied()
    }

    /// Every object ever created, by id (closing an fd does not remove it).
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// The map `fd` refers to.
    pub fn map(&self, fd: i32) -> Option<&MapObject> {
        match self.object(fd)? {
            Object::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The program `fd` refers to.
    pub fn prog(&self, fd: i32) -> Option<&ProgObject> {
        match self.object(fd)? {
            Object::Prog(p) => Some(p),
            _ => None,
        }
    }

    /// Name of module `i`.
    pub fn module_name(&self, i: usize) -> &str {
        &self.modules[i].name
    }
}
