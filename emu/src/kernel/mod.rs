//! The mock kernel behind the loader's helper calls: fd table, BPF objects, BTF namespaces,
//! kallsyms, user memory, failure injection and a record of every call.
//!
//! This module holds the state every part shares (the fd table, the kernel's BTF namespaces,
//! failure injection); the parts are `setup` and `inspect` (the public builder and read-out),
//! `helpers` (the helpers a loader calls), `syscall` (`bpf_sys_bpf`: attr in, record out),
//! `attr` (reading attrs and the memory they point to), and one module per command family:
//! `maps`, `btf`, `progs`.

use std::collections::BTreeMap;

use crate::consts::{EBADF, EINVAL, EMFILE};
use crate::mem::Memory;
use crate::Error;

/// Refuses the command with `$errno` unless `$cond`, for a function returning a `KResult`.
macro_rules! check {
    ($cond:expr, $errno:expr, $($why:tt)*) => {
        if !($cond) {
            return $crate::kernel::refuse($errno, format!($($why)*));
        }
    };
}

/// Refuses with `$errno` unless `$cond`, for a function returning `Result<_, Refusal>`.
macro_rules! ensure {
    ($cond:expr, $errno:expr, $($why:tt)*) => {
        if !($cond) {
            return Err(($errno, format!($($why)*)));
        }
    };
}

mod attr;
mod btf;
mod helpers;
mod inspect;
mod maps;
mod objects;
mod progs;
mod record;
mod setup;
mod syscall;

pub use objects::{BtfObject, MapObject, Object, ProgObject};
pub use record::{Cmd, Event, Op, Pointees, SysCall};

/// A loaded kernel module with its own BTF: its name and types `(name, kind, id)`.
#[derive(Clone, Debug)]
struct Module {
    name: String,
    types: Vec<(String, u32, u32)>,
}

/// Outcome of a command: `Ok(value)` or `Err((errno, why))`.
type Refusal = (i32, String);
type KResult = Result<Result<i64, Refusal>, Error>;

fn refuse(errno: i32, why: impl Into<String>) -> KResult {
    Ok(Err((errno, why.into())))
}

/// The mock kernel.
#[derive(Clone, Debug)]
pub struct MockKernel {
    objects: Vec<Object>,
    fds: BTreeMap<i32, usize>,
    vmlinux: Vec<(String, u32, u32)>,
    modules: Vec<Module>,
    kallsyms: BTreeMap<String, u64>,
    pub(crate) user: Memory,
    n_user: usize,
    ncpus: u32,
    fail: Vec<(Op, u32, i32, bool)>,
    /// A sticky failure that just fired: an immediate retry of the same operation fails too.
    sticky: Option<(Op, i32)>,
    counts: BTreeMap<Op, u32>,
    syscalls: Vec<SysCall>,
    events: Vec<Event>,
    max_fds: usize,
    /// Bytes the last BTF or program load wrote to its log (the NUL included), which the
    /// kernel reports back in the attr's `log_true_size`.
    log_written: u32,
}

impl Default for MockKernel {
    fn default() -> Self {
        MockKernel::new()
    }
}

impl MockKernel {
    /// An empty kernel: no vmlinux types, no modules, no kallsyms, 2 CPUs, fds from 3.
    pub fn new() -> MockKernel {
        MockKernel {
            objects: Vec::new(),
            fds: BTreeMap::new(),
            vmlinux: Vec::new(),
            modules: Vec::new(),
            kallsyms: BTreeMap::new(),
            user: Memory::default(),
            n_user: 0,
            ncpus: 2,
            fail: Vec::new(),
            sticky: None,
            counts: BTreeMap::new(),
            syscalls: Vec::new(),
            events: Vec::new(),
            max_fds: 1024,
            log_written: 0,
        }
    }

    fn inject(&mut self, op: Op) -> Option<i32> {
        let n = self.counts.entry(op).or_insert(0);
        *n += 1;
        let n = *n;
        if let Some((o, e)) = self.sticky.take() {
            if o == op {
                self.sticky = Some((o, e));
                return Some(e);
            }
        }
        let hit = self
            .fail
            .iter()
            .find(|&&(o, k, _, _)| o == op && k == n)
            .copied();
        hit.map(|(o, _, e, sticky)| {
            if sticky {
                self.sticky = Some((o, e));
            }
            e
        })
    }

    fn alloc_fd(&mut self, obj: Object) -> Result<i64, Refusal> {
        let mut fd = 3;
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        if fd as usize >= self.max_fds {
            return Err((EMFILE, "too many open files".into()));
        }
        self.objects.push(obj);
        self.fds.insert(fd, self.objects.len() - 1);
        Ok(i64::from(fd))
    }

    fn map_by_fd(&self, fd: i32) -> Result<(usize, &MapObject), Refusal> {
        match self.fds.get(&fd) {
            None => Err((EBADF, format!("fd {fd} is not open"))),
            Some(&i) => match &self.objects[i] {
                Object::Map(m) => Ok((i, m)),
                _ => Err((EINVAL, format!("fd {fd} is not a map"))),
            },
        }
    }

    /// `btf_get_by_fd`: Ok(Some(module)) for module BTF, Ok(None) for object BTF.
    fn btf_by_fd(&self, fd: i32) -> Result<(usize, Option<usize>), Refusal> {
        match self.fds.get(&fd) {
            None => Err((EBADF, format!("fd {fd} is not open"))),
            Some(&i) => match &self.objects[i] {
                Object::Btf(_) => Ok((i, None)),
                Object::ModuleBtf(m) => Ok((i, Some(*m))),
                _ => Err((EINVAL, format!("fd {fd} is not a BTF object"))),
            },
        }
    }

    fn kernel_type(&self, module: Option<usize>, id: u32) -> Option<(&str, u32)> {
        let list = match module {
            None => &self.vmlinux,
            Some(m) => &self.modules[m].types,
        };
        list.iter().find(|t| t.2 == id).map(|t| (t.0.as_str(), t.1))
    }
}
