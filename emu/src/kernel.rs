//! The mock kernel behind the loader's helper calls: fd table, BPF objects, BTF namespaces,
//! kallsyms, user memory, failure injection and a record of every call.

use std::collections::BTreeMap;
use std::fmt;

use crate::btf::Btf;
use crate::consts::{attach_type, attr, helper, kind, map_type, prog_type, *};
use crate::mem::{Memory, RegionKind, USER_BASE, USER_STRIDE};
use crate::vm::{decode, Args};
use crate::{Error, ErrorKind};

/// A `bpf(2)` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cmd {
    /// `BPF_MAP_CREATE` (0)
    MapCreate,
    /// `BPF_MAP_LOOKUP_ELEM` (1)
    MapLookupElem,
    /// `BPF_MAP_UPDATE_ELEM` (2)
    MapUpdateElem,
    /// `BPF_MAP_DELETE_ELEM` (3)
    MapDeleteElem,
    /// `BPF_MAP_GET_NEXT_KEY` (4)
    MapGetNextKey,
    /// `BPF_PROG_LOAD` (5)
    ProgLoad,
    /// `BPF_PROG_TEST_RUN` (10)
    ProgTestRun,
    /// `BPF_MAP_GET_FD_BY_ID` (14)
    MapGetFdById,
    /// `BPF_RAW_TRACEPOINT_OPEN` (17)
    RawTracepointOpen,
    /// `BPF_BTF_LOAD` (18)
    BtfLoad,
    /// `BPF_MAP_FREEZE` (22)
    MapFreeze,
    /// `BPF_LINK_CREATE` (28)
    LinkCreate,
    /// Any other command number.
    Other(u32),
}

impl Cmd {
    /// The command for number `n`.
    pub fn from_raw(n: u32) -> Cmd {
        match n {
            0 => Cmd::MapCreate,
            1 => Cmd::MapLookupElem,
            2 => Cmd::MapUpdateElem,
            3 => Cmd::MapDeleteElem,
            4 => Cmd::MapGetNextKey,
            5 => Cmd::ProgLoad,
            10 => Cmd::ProgTestRun,
            14 => Cmd::MapGetFdById,
            17 => Cmd::RawTracepointOpen,
            18 => Cmd::BtfLoad,
            22 => Cmd::MapFreeze,
            28 => Cmd::LinkCreate,
            n => Cmd::Other(n),
        }
    }

    /// The command number.
    pub fn raw(self) -> u32 {
        match self {
            Cmd::MapCreate => 0,
            Cmd::MapLookupElem => 1,
            Cmd::MapUpdateElem => 2,
            Cmd::MapDeleteElem => 3,
            Cmd::MapGetNextKey => 4,
            Cmd::ProgLoad => 5,
            Cmd::ProgTestRun => 10,
            Cmd::MapGetFdById => 14,
            Cmd::RawTracepointOpen => 17,
            Cmd::BtfLoad => 18,
            Cmd::MapFreeze => 22,
            Cmd::LinkCreate => 28,
            Cmd::Other(n) => n,
        }
    }
}

/// Something failure injection can target: a `bpf(2)` command or a helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `bpf_sys_bpf` with this command.
    Bpf(Cmd),
    /// `bpf_btf_find_by_name_kind`
    BtfFindByNameKind,
    /// `bpf_kallsyms_lookup_name`
    KallsymsLookupName,
    /// `bpf_copy_from_user`
    CopyFromUser,
    /// `bpf_probe_read_kernel`
    ProbeReadKernel,
    /// `bpf_sys_close`
    Close,
}

impl From<Cmd> for Op {
    fn from(c: Cmd) -> Op {
        Op::Bpf(c)
    }
}

/// Memory an attr's pointer fields referenced at the time of the call, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pointees {
    /// BTF_LOAD: the BTF bytes (`btf_size` of them).
    pub btf: Option<Vec<u8>>,
    /// MAP_*_ELEM: the key (`key_size` bytes).
    pub key: Option<Vec<u8>>,
    /// MAP_UPDATE_ELEM: the value (`value_size` bytes, per CPU for per-CPU maps).
    pub value: Option<Vec<u8>>,
    /// PROG_LOAD: the instructions (`insn_cnt * 8` bytes).
    pub insns: Option<Vec<u8>>,
    /// PROG_LOAD: the license string.
    pub license: Option<String>,
    /// PROG_LOAD: func_info records.
    pub func_info: Option<Vec<u8>>,
    /// PROG_LOAD: line_info records.
    pub line_info: Option<Vec<u8>>,
    /// PROG_LOAD: CO-RE relocation records.
    pub core_relos: Option<Vec<u8>>,
    /// PROG_LOAD: the `fd_array` slots the instructions use, slot -> fd.
    pub fd_array: BTreeMap<u32, i32>,
    /// MAP_CREATE: `excl_prog_hash` bytes.
    pub excl_prog_hash: Option<Vec<u8>>,
}

/// One `bpf_sys_bpf` call.
#[derive(Clone, Debug)]
pub struct SysCall {
    /// Index of the loader's `call` instruction.
    pub insn: usize,
    /// The command.
    pub cmd: Cmd,
    /// The attr bytes exactly as passed (`size` bytes).
    pub attr: Vec<u8>,
    /// The size argument.
    pub size: u32,
    /// What the call returned (fd, 0 or -errno).
    pub ret: i64,
    /// Whether the failure was injected.
    pub injected: bool,
    /// Why the mock kernel refused, when it did.
    pub refused: Option<String>,
    /// Decoded pointees.
    pub mem: Pointees,
}

impl SysCall {
    fn field(&self, off: usize, len: usize) -> u64 {
        let mut v = [0u8; 8];
        for (k, b) in v.iter_mut().enumerate().take(len) {
            *b = self.attr.get(off + k).copied().unwrap_or(0);
        }
        u64::from_le_bytes(v)
    }
    /// The u32 at `off` of the attr (0 beyond `size`, as the kernel sees it).
    pub fn u32(&self, off: usize) -> u32 {
        self.field(off, 4) as u32
    }
    /// The i32 at `off`.
    pub fn i32(&self, off: usize) -> i32 {
        self.field(off, 4) as i32
    }
    /// The u64 at `off`.
    pub fn u64(&self, off: usize) -> u64 {
        self.field(off, 8)
    }
    /// The NUL-terminated name in the 16 bytes at `off`.
    pub fn name(&self, off: usize) -> String {
        let b: Vec<u8> = (0..16)
            .map(|k| self.attr.get(off + k).copied().unwrap_or(0))
            .take_while(|&b| b != 0)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    }
}

/// Every helper call, in order.
#[derive(Clone, Debug)]
pub enum Event {
    /// `bpf_sys_bpf`: index into [`MockKernel::syscalls`].
    Bpf(usize),
    /// `bpf_sys_close`
    Close {
        /// Call instruction.
        insn: usize,
        /// The fd.
        fd: i32,
        /// Result.
        ret: i64,
    },
    /// `bpf_btf_find_by_name_kind`
    BtfFind {
        /// Call instruction.
        insn: usize,
        /// The name (up to its NUL).
        name: String,
        /// BTF kind.
        kind: u32,
        /// Flags argument.
        flags: u64,
        /// Result.
        ret: i64,
        /// Whether the failure was injected.
        injected: bool,
    },
    /// `bpf_kallsyms_lookup_name`
    Kallsyms {
        /// Call instruction.
        insn: usize,
        /// The name.
        name: String,
        /// Result.
        ret: i64,
        /// The address written to `*res`.
        addr: u64,
        /// Whether the failure was injected.
        injected: bool,
    },
    /// `bpf_copy_from_user`
    CopyFromUser {
        /// Call instruction.
        insn: usize,
        /// Destination (loader memory).
        dst: u64,
        /// Size.
        size: u32,
        /// User address.
        src: u64,
        /// Result.
        ret: i64,
        /// Whether the failure was injected.
        injected: bool,
    },
    /// `bpf_probe_read_kernel`
    ProbeReadKernel {
        /// Call instruction.
        insn: usize,
        /// Destination.
        dst: u64,
        /// Size.
        size: u32,
        /// Source.
        src: u64,
        /// Result.
        ret: i64,
    },
    /// `bpf_trace_printk`
    TracePrintk {
        /// Call instruction.
        insn: usize,
        /// Format string.
        fmt: String,
        /// r3..r5.
        args: [u64; 3],
    },
}

/// A BTF object loaded with BTF_LOAD.
#[derive(Clone, Debug)]
pub struct BtfObject {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Parsed.
    pub parsed: Btf,
}

/// A map.
#[derive(Clone, Debug)]
pub struct MapObject {
    /// `map_type`
    pub map_type: u32,
    /// `key_size`
    pub key_size: u32,
    /// `value_size`
    pub value_size: u32,
    /// `max_entries`
    pub max_entries: u32,
    /// `map_flags`
    pub map_flags: u32,
    /// `map_name`
    pub name: String,
    /// BTF object id (index into the kernel's objects), when created with BTF.
    pub btf: Option<usize>,
    /// `btf_key_type_id`
    pub btf_key_type_id: u32,
    /// `btf_value_type_id`
    pub btf_value_type_id: u32,
    /// Frozen with MAP_FREEZE.
    pub frozen: bool,
    /// Contents, key bytes -> value bytes.
    pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// A program.
#[derive(Clone, Debug)]
pub struct ProgObject {
    /// `prog_type`
    pub prog_type: u32,
    /// `expected_attach_type`
    pub expected_attach_type: u32,
    /// `prog_name`
    pub name: String,
    /// Instructions as loaded.
    pub insns: Vec<u8>,
    /// License.
    pub license: String,
    /// `prog_flags`
    pub prog_flags: u32,
    /// `attach_btf_id`
    pub attach_btf_id: u32,
    /// Module of the attach target (`None` for vmlinux).
    pub attach_module: Option<String>,
    /// Maps used: (insn index, object id of the map).
    pub maps: Vec<(usize, usize)>,
    /// Kfuncs called: (insn index, btf id, module or `None` for vmlinux).
    pub kfuncs: Vec<(usize, u32, Option<String>)>,
}

/// A kernel object.
#[derive(Clone, Debug)]
pub enum Object {
    /// BTF from BTF_LOAD.
    Btf(BtfObject),
    /// A module's BTF (index into the modules).
    ModuleBtf(usize),
    /// A map.
    Map(MapObject),
    /// A program.
    Prog(ProgObject),
}

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

macro_rules! check {
    ($cond:expr, $errno:expr, $($why:tt)*) => {
        if !($cond) {
            return refuse($errno, format!($($why)*));
        }
    };
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

fn valid_obj_name(b: &[u8]) -> Result<String, String> {
    let Some(end) = b.iter().position(|&c| c == 0) else {
        return Err("name is not NUL-terminated within 16 bytes".into());
    };
    let name = &b[..end];
    if let Some(c) = name
        .iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.'))
    {
        return Err(format!(
            "name {:?} has invalid character {:?}",
            String::from_utf8_lossy(name),
            *c as char
        ));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

fn log_attrs_valid(level: u32, size: u32, buf: u64) -> Result<(), String> {
    if (buf != 0) != (size != 0) {
        return Err(format!(
            "log_buf {buf:#x} and log_size {size} must be set together"
        ));
    }
    if buf != 0 && level == 0 {
        return Err("log_buf without log_level".into());
    }
    if level & !0x7 != 0 {
        return Err(format!("log_level {level:#x} has unknown bits"));
    }
    if size > u32::MAX >> 2 {
        return Err("log_size too large".into());
    }
    Ok(())
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

    /// `len` bytes of user memory at `addr`.
    pub fn read_user(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.user.read(addr, len as u64).ok().map(<[u8]>::to_vec)
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

    fn write_log(&mut self, buf: u64, size: u32, msg: &str, pc: usize) -> Result<(), Error> {
        if buf == 0 || size == 0 {
            return Ok(());
        }
        if self.user.kind_of(buf).is_none() {
            return Err(Error::at(
                pc,
                ErrorKind::Kernel,
                format!("log_buf {buf:#x} is not user memory (the kernel copy_to_user()s the log)"),
            ));
        }
        let mut text = msg.as_bytes().to_vec();
        text.truncate(size as usize - 1);
        text.push(0);
        self.log_written = text.len() as u32;
        self.user
            .write(buf, &text)
            .map_err(|f| Error::at(pc, ErrorKind::Kernel, format!("log_buf: {f}")))
    }

    pub(crate) fn call_helper(
        &mut self,
        id: i32,
        a: &Args,
        mem: &mut Memory,
        pc: usize,
    ) -> Result<u64, Error> {
        let kfault = |what: &str, f: crate::mem::Fault, mem: &Memory| {
            Error::at(
                pc,
                ErrorKind::Memory,
                format!("helper #{id} {what} at {}: {}", mem.describe(f.addr), f.why),
            )
        };
        match id {
            helper::TRACE_PRINTK => {
                let (p, n) = (a.get(1)?, a.get(2)? as u32);
                let b = mem
                    .read(p, u64::from(n))
                    .map_err(|f| kfault("fmt", f, mem))?;
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let fmt = String::from_utf8_lossy(&b[..end]).into_owned();
                let args = [0, 0, 0];
                let len = fmt.len() as u64;
                self.events.push(Event::TracePrintk {
                    insn: pc,
                    fmt,
                    args,
                });
                Ok(len)
            }
            helper::PROBE_READ_KERNEL => {
                let (dst, size, src) = (a.get(1)?, a.get(2)? as u32, a.get(3)?);
                let inj = self.inject(Op::ProbeReadKernel);
                let data = match (inj, mem.read(src, u64::from(size))) {
                    (None, Ok(b)) if size == 0 || mem.kind_of(src).is_some() => Some(b.to_vec()),
                    _ => None,
                };
                let ret = match (&data, inj) {
                    (_, Some(e)) => -i64::from(e),
                    (Some(_), None) => 0,
                    (None, None) => -i64::from(EFAULT),
                };
                let bytes = data.unwrap_or_else(|| vec![0; size as usize]);
                mem.write(dst, &bytes).map_err(|f| kfault("dst", f, mem))?;
                self.events.push(Event::ProbeReadKernel {
                    insn: pc,
                    dst,
                    size,
                    src,
                    ret,
                });
                Ok(ret as u64)
            }
            helper::COPY_FROM_USER => {
                let (dst, size, src) = (a.get(1)?, a.get(2)? as u32, a.get(3)?);
                mem.read(dst, u64::from(size))
                    .map_err(|f| kfault("dst", f, mem))?;
                let inj = self.inject(Op::CopyFromUser);
                let (ret, bytes) = match inj {
                    Some(e) => (-i64::from(e), vec![0; size as usize]),
                    None => match self.user.read(src, u64::from(size)) {
                        Ok(b) => (0, b.to_vec()),
                        Err(_) => (-i64::from(EFAULT), vec![0; size as usize]),
                    },
                };
                mem.write(dst, &bytes).map_err(|f| kfault("dst", f, mem))?;
                self.events.push(Event::CopyFromUser {
                    insn: pc,
                    dst,
                    size,
                    src,
                    ret,
                    injected: inj.is_some(),
                });
                Ok(ret as u64)
            }
            helper::SYS_BPF => {
                let (cmd, ptr, size) = (a.get(1)? as u32, a.get(2)?, a.get(3)? as u32);
                self.sys_bpf(cmd, ptr, size, mem, pc)
            }
            helper::BTF_FIND_BY_NAME_KIND => {
                let (p, n, k, flags) = (a.get(1)?, a.get(2)? as u32, a.get(3)? as u32, a.get(4)?);
                let b = mem
                    .read(p, u64::from(n))
                    .map_err(|f| kfault("name", f, mem))?
                    .to_vec();
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let name = String::from_utf8_lossy(&b[..end]).into_owned();
                let inj = self.inject(Op::BtfFindByNameKind);
                let ret = if let Some(e) = inj {
                    -i64::from(e)
                } else if flags as u32 != 0 || n <= 1 || b[n as usize - 1] != 0 {
                    -i64::from(EINVAL)
                } else if let Some(t) = self.vmlinux.iter().find(|t| t.0 == name && t.1 == k) {
                    i64::from(t.2)
                } else if let Some((m, id)) = self.modules.iter().enumerate().find_map(|(m, md)| {
                    md.types
                        .iter()
                        .find(|t| t.0 == name && t.1 == k)
                        .map(|t| (m, t.2))
                }) {
                    match self.alloc_fd(Object::ModuleBtf(m)) {
                        Ok(fd) => (fd << 32) | i64::from(id),
                        Err((e, _)) => -i64::from(e),
                    }
                } else {
                    -i64::from(ENOENT)
                };
                self.events.push(Event::BtfFind {
                    insn: pc,
                    name,
                    kind: k,
                    flags,
                    ret,
                    injected: inj.is_some(),
                });
                Ok(ret as u64)
            }
            helper::SYS_CLOSE => {
                let fd = a.get(1)? as u32 as i32;
                if (0..=2).contains(&fd) {
                    return Err(Error::at(
                        pc,
                        ErrorKind::Kernel,
                        format!("the loader closes fd {fd} (stdio), which it did not create"),
                    ));
                }
                let ret = if let Some(e) = self.inject(Op::Close) {
                    // The fd is closed anyway, as with close(2) returning EINTR/EIO.
                    self.fds.remove(&fd);
                    -i64::from(e)
                } else if self.fds.remove(&fd).is_some() {
                    0
                } else {
                    -i64::from(EBADF)
                };
                self.events.push(Event::Close { insn: pc, fd, ret });
                Ok(ret as u64)
            }
            helper::KALLSYMS_LOOKUP_NAME => {
                let (p, n, flags, res) = (a.get(1)?, a.get(2)? as u32, a.get(3)?, a.get(4)?);
                let b = mem
                    .read(p, u64::from(n))
                    .map_err(|f| kfault("name", f, mem))?
                    .to_vec();
                mem.read(res, 8).map_err(|f| kfault("res", f, mem))?;
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let name = String::from_utf8_lossy(&b[..end]).into_owned();
                let inj = self.inject(Op::KallsymsLookupName);
                let (ret, addr) = if let Some(e) = inj {
                    (-i64::from(e), 0)
                } else if flags != 0 || n <= 1 || b[n as usize - 1] != 0 {
                    (-i64::from(EINVAL), 0)
                } else {
                    match self.kallsyms.get(&name) {
                        Some(&addr) => (0, addr),
                        None => (-i64::from(ENOENT), 0),
                    }
                };
                mem.write_uint(res, 8, addr)
                    .map_err(|f| kfault("res", f, mem))?;
                self.events.push(Event::Kallsyms {
                    insn: pc,
                    name,
                    ret,
                    addr,
                    injected: inj.is_some(),
                });
                Ok(ret as u64)
            }
            _ => Err(Error::at(
                pc,
                ErrorKind::Helper,
                format!("helper #{id} is not one the loader may call"),
            )),
        }
    }

    fn sys_bpf(
        &mut self,
        cmd_raw: u32,
        ptr: u64,
        size: u32,
        mem: &mut Memory,
        pc: usize,
    ) -> Result<u64, Error> {
        let attr = mem
            .read(ptr, u64::from(size))
            .map_err(|f| {
                Error::at(
                    pc,
                    ErrorKind::Memory,
                    format!(
                        "bpf_sys_bpf attr ({size} bytes) at {}: {}",
                        mem.describe(f.addr),
                        f.why
                    ),
                )
            })?
            .to_vec();
        let cmd = Cmd::from_raw(cmd_raw);
        let mut p = Pointees::default();
        let mut injected = false;
        self.log_written = 0;
        let res = self.bpf_cmd(cmd, &attr, mem, &mut p, pc, &mut injected)?;
        // The kernel reports what it wrote to the log (0: nothing) when the attr reaches
        // `log_true_size`.
        let true_size = match cmd {
            Cmd::ProgLoad => Some(attr::prog_load::LOG_TRUE_SIZE),
            Cmd::BtfLoad => Some(attr::btf_load::LOG_TRUE_SIZE),
            _ => None,
        };
        if let Some(off) = true_size.filter(|&off| size as usize >= off + 4) {
            mem.write(ptr + off as u64, &self.log_written.to_le_bytes())
                .map_err(|f| Error::at(pc, ErrorKind::Memory, format!("log_true_size: {f}")))?;
        }
        let (ret, refused) = match res {
            Ok(v) => (v, None),
            Err((e, why)) => (-i64::from(e), Some(why)),
        };
        self.syscalls.push(SysCall {
            insn: pc,
            cmd,
            attr,
            size,
            ret,
            injected,
            refused,
            mem: p,
        });
        self.events.push(Event::Bpf(self.syscalls.len() - 1));
        Ok(ret as u64)
    }

    fn bpf_cmd(
        &mut self,
        cmd: Cmd,
        raw: &[u8],
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        injected: &mut bool,
    ) -> KResult {
        let end = match cmd {
            Cmd::MapCreate => attr::map_create::END,
            Cmd::MapUpdateElem | Cmd::MapDeleteElem => attr::map_elem::END,
            Cmd::MapFreeze => attr::map_freeze::END,
            Cmd::BtfLoad => attr::btf_load::END,
            Cmd::ProgLoad => attr::prog_load::END,
            Cmd::MapGetFdById | Cmd::LinkCreate | Cmd::RawTracepointOpen => {
                return Err(Error::at(
                    pc,
                    ErrorKind::Kernel,
                    format!(
                    "{cmd:?} is allowed in syscall programs but not implemented by the mock kernel"
                ),
                ))
            }
            _ => {
                let inj = self.inject(Op::Bpf(cmd));
                *injected = inj.is_some();
                return refuse(
                    inj.unwrap_or(EINVAL),
                    format!("{cmd:?} is not allowed from a syscall program"),
                );
            }
        };
        if raw.len() > 4096 {
            return refuse(E2BIG, "attr larger than a page");
        }
        let mut a = raw.to_vec();
        a.resize(a.len().max(end), 0);
        let a = A(a);
        let inj = self.inject(Op::Bpf(cmd));
        *injected = inj.is_some();
        let tail_zero = raw.iter().skip(end).all(|&b| b == 0);
        match cmd {
            Cmd::MapCreate => self.map_create(&a, mem, p, pc, inj, tail_zero),
            Cmd::MapUpdateElem => self.map_update(&a, mem, p, pc, inj, tail_zero),
            Cmd::MapDeleteElem => self.map_delete(&a, mem, p, pc, inj, tail_zero),
            Cmd::MapFreeze => {
                if let Some(e) = inj {
                    return refuse(e, "injected");
                }
                check!(tail_zero, EINVAL, "attr bytes beyond map_fd are not zero");
                let fd = a.i32(attr::map_freeze::MAP_FD);
                let i = match self.map_by_fd(fd) {
                    Ok((i, _)) => i,
                    Err(r) => return Ok(Err(r)),
                };
                let Object::Map(m) = &mut self.objects[i] else {
                    unreachable!()
                };
                check!(!m.frozen, EBUSY, "map `{}` is already frozen", m.name);
                m.frozen = true;
                Ok(Ok(0))
            }
            Cmd::BtfLoad => self.btf_load(&a, mem, p, pc, inj, tail_zero),
            Cmd::ProgLoad => self.prog_load(&a, mem, p, pc, inj, tail_zero),
            _ => unreachable!(),
        }
    }

    fn read_ptr(
        mem: &Memory,
        addr: u64,
        len: u64,
        what: &str,
        pc: usize,
    ) -> Result<Vec<u8>, Error> {
        if mem.kind_of(addr).is_none() && (USER_BASE..USER_BASE + (1 << 40)).contains(&addr) {
            return Err(Error::at(
                pc,
                ErrorKind::Kernel,
                format!("{what} {addr:#x} is a user pointer, but bpf_sys_bpf reads attr pointers as kernel memory"),
            ));
        }
        mem.read(addr, len).map(<[u8]>::to_vec).map_err(|f| {
            Error::at(
                pc,
                ErrorKind::Memory,
                format!(
                    "the kernel reads {what} ({len} bytes) at {}: {}",
                    mem.describe(f.addr),
                    f.why
                ),
            )
        })
    }

    fn map_create(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::map_create as f;
        let t = a.u32(f::MAP_TYPE);
        let (ks, vs, me, flags) = (
            a.u32(f::KEY_SIZE),
            a.u32(f::VALUE_SIZE),
            a.u32(f::MAX_ENTRIES),
            a.u32(f::MAP_FLAGS),
        );
        let hash = a.u64(f::EXCL_PROG_HASH);
        if hash != 0 {
            p.excl_prog_hash = Some(Self::read_ptr(
                mem,
                hash,
                u64::from(a.u32(f::EXCL_PROG_HASH_SIZE)),
                "excl_prog_hash",
                pc,
            )?);
        }
        if let Some(e) = inj {
            return refuse(e, "injected");
        }
        check!(
            tail_zero,
            EINVAL,
            "attr bytes beyond excl_prog_hash_size are not zero"
        );
        check!(
            (1..=map_type::ARENA).contains(&t),
            EINVAL,
            "unknown map type {t}"
        );
        let name = match valid_obj_name(&a.0[f::MAP_NAME..f::MAP_NAME + 16]) {
            Ok(n) => n,
            Err(e) => return refuse(EINVAL, e),
        };
        check!(
            hash == 0 || a.u32(f::EXCL_PROG_HASH_SIZE) == 32,
            EINVAL,
            "excl_prog_hash_size must be 32"
        );
        check!(
            a.u32(f::MAP_IFINDEX) == 0,
            EINVAL,
            "map_ifindex: no offload devices"
        );
        check!(
            a.u64(f::MAP_EXTRA) == 0 || matches!(t, map_type::BLOOM_FILTER | map_type::ARENA),
            EINVAL,
            "map_extra is only for bloom filters and arenas"
        );
        let storage = matches!(t, 19 | 21 | 24 | 28 | 29 | 32);
        if storage {
            check!(me == 0, EINVAL, "local storage maps need max_entries 0");
        } else {
            check!(me != 0, EINVAL, "max_entries is 0");
        }
        match t {
            map_type::ARRAY
            | map_type::PERCPU_ARRAY
            | map_type::PROG_ARRAY
            | map_type::ARRAY_OF_MAPS => {
                check!(ks == 4, EINVAL, "array maps need key_size 4, not {ks}");
                check!(vs != 0, EINVAL, "value_size is 0");
            }
            map_type::RINGBUF | map_type::USER_RINGBUF => {
                check!(
                    ks == 0 && vs == 0,
                    EINVAL,
                    "ring buffers need key and value size 0"
                );
                check!(
                    me.is_power_of_two() && me % 4096 == 0,
                    EINVAL,
                    "ring buffer size {me} is not a power-of-2 multiple of the page size"
                );
            }
            map_type::ARENA => {}
            map_type::BLOOM_FILTER => check!(ks == 0 && vs != 0, EINVAL, "bloom filter sizes"),
            // Queues and stacks have no key.
            22 | 23 => check!(ks == 0 && vs != 0, EINVAL, "queue/stack sizes"),
            _ if storage => {}
            _ => check!(
                ks != 0 && vs != 0,
                EINVAL,
                "key_size {ks} / value_size {vs} must be non-zero"
            ),
        }
        if matches!(t, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS) {
            if let Err(r) = self.map_by_fd(a.i32(f::INNER_MAP_FD)) {
                return Ok(Err((r.0, format!("inner_map_fd: {}", r.1))));
            }
        }
        let (kid, vid) = (a.u32(f::BTF_KEY_TYPE_ID), a.u32(f::BTF_VALUE_TYPE_ID));
        let mut btf_obj = None;
        if kid != 0 || vid != 0 || a.u32(f::BTF_VMLINUX_VALUE_TYPE_ID) != 0 {
            let fd = a.i32(f::BTF_FD);
            let (obj, module) = match self.btf_by_fd(fd) {
                Ok(v) => v,
                Err(r) => return Ok(Err((r.0, format!("btf_fd: {}", r.1)))),
            };
            check!(module.is_none(), EACCES, "btf_fd {fd} is a kernel BTF");
            let Object::Btf(b) = &self.objects[obj] else {
                unreachable!()
            };
            let btf = &b.parsed;
            if vid != 0 {
                if kid != 0 {
                    let sz = btf.size_of(kid);
                    check!(
                        sz == Some(u64::from(ks)),
                        EINVAL,
                        "btf_key_type_id {kid} has size {sz:?}, key_size is {ks}"
                    );
                } else {
                    check!(
                        !matches!(t, map_type::ARRAY | map_type::PERCPU_ARRAY)
                            || (t == map_type::ARRAY
                                && me == 1
                                && btf.resolved_kind(vid) == Some(kind::DATASEC)),
                        EINVAL,
                        "keyless BTF is only for single-entry arrays with a DATASEC value"
                    );
                }
                let sz = btf.size_of(vid);
                check!(
                    sz == Some(u64::from(vs)),
                    EINVAL,
                    "btf_value_type_id {vid} has size {sz:?}, value_size is {vs}"
                );
            }
            btf_obj = Some(obj);
        }
        let m = MapObject {
            map_type: t,
            key_size: ks,
            value_size: vs,
            max_entries: me,
            map_flags: flags,
            name,
            btf: btf_obj,
            btf_key_type_id: kid,
            btf_value_type_id: vid,
            frozen: false,
            entries: BTreeMap::new(),
        };
        Ok(self.alloc_fd(Object::Map(m)))
    }

    fn value_len(&self, m: &MapObject) -> u64 {
        if matches!(
            m.map_type,
            map_type::PERCPU_ARRAY | map_type::PERCPU_HASH | map_type::LRU_PERCPU_HASH
        ) {
            u64::from(m.value_size.next_multiple_of(8)) * u64::from(self.ncpus)
        } else {
            u64::from(m.value_size)
        }
    }

    fn map_update(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::map_elem as f;
        let fd = a.i32(f::MAP_FD);
        let (i, m) = match self.map_by_fd(fd) {
            Ok(v) => v,
            Err(r) => return Ok(Err(r)),
        };
        let key = Self::read_ptr(mem, a.u64(f::KEY), u64::from(m.key_size), "key", pc)?;
        let value = Self::read_ptr(mem, a.u64(f::VALUE), self.value_len(m), "value", pc)?;
        p.key = Some(key.clone());
        p.value = Some(value.clone());
        if let Some(e) = inj {
            return refuse(e, "injected");
        }
        check!(tail_zero, EINVAL, "attr bytes beyond flags are not zero");
        let flags = a.u64(f::FLAGS);
        check!(flags <= 4, EINVAL, "unknown update flags {flags:#x}");
        check!(!m.frozen, EPERM, "map `{}` is frozen", m.name);
        check!(
            m.map_flags & (1 << 3) == 0,
            EPERM,
            "map `{}` is BPF_F_RDONLY",
            m.name
        );
        match m.map_type {
            map_type::ARRAY
            | map_type::PERCPU_ARRAY
            | map_type::PROG_ARRAY
            | map_type::ARRAY_OF_MAPS => {
                let idx = u32::from_le_bytes(key[..4].try_into().unwrap_or([0; 4]));
                check!(
                    idx < m.max_entries,
                    E2BIG,
                    "index {idx} >= max_entries {}",
                    m.max_entries
                );
                check!(flags & 3 != 1, EEXIST, "BPF_NOEXIST on an array");
            }
            map_type::RINGBUF | map_type::USER_RINGBUF => {
                return refuse(ENOTSUPP, "ring buffers have no elements")
            }
            _ => {
                let exists = m.entries.contains_key(&key);
                check!(!(flags & 3 == 1 && exists), EEXIST, "key exists");
                check!(flags & 3 != 2 || exists, ENOENT, "key does not exist");
                check!(
                    exists || m.entries.len() < m.max_entries as usize,
                    E2BIG,
                    "map is full"
                );
            }
        }
        if matches!(
            m.map_type,
            map_type::PROG_ARRAY | map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS
        ) {
            // The value is an fd: a program for prog_array, a map for map-in-map.
            let fd = i32::from_le_bytes(value[..4].try_into().unwrap_or([0xff; 4]));
            let is_prog = m.map_type == map_type::PROG_ARRAY;
            match self.fds.get(&fd).map(|&o| &self.objects[o]) {
                None => return refuse(EBADF, format!("value fd {fd} is not open")),
                Some(Object::Prog(_)) if is_prog => {}
                Some(Object::Map(_)) if !is_prog => {}
                Some(_) => {
                    return refuse(
                        EINVAL,
                        format!(
                            "value fd {fd} is not a {}",
                            if is_prog { "program" } else { "map" }
                        ),
                    )
                }
            }
        }
        let Object::Map(m) = &mut self.objects[i] else {
            unreachable!()
        };
        m.entries.insert(key, value);
        Ok(Ok(0))
    }

    fn map_delete(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::map_elem as f;
        let fd = a.i32(f::MAP_FD);
        let (i, m) = match self.map_by_fd(fd) {
            Ok(v) => v,
            Err(r) => return Ok(Err(r)),
        };
        let key = Self::read_ptr(mem, a.u64(f::KEY), u64::from(m.key_size), "key", pc)?;
        p.key = Some(key.clone());
        if let Some(e) = inj {
            return refuse(e, "injected");
        }
        check!(tail_zero, EINVAL, "attr bytes beyond flags are not zero");
        check!(!m.frozen, EPERM, "map `{}` is frozen", m.name);
        check!(
            !matches!(m.map_type, map_type::ARRAY | map_type::PERCPU_ARRAY),
            EINVAL,
            "array elements cannot be deleted"
        );
        let Object::Map(m) = &mut self.objects[i] else {
            unreachable!()
        };
        match m.entries.remove(&key) {
            Some(_) => Ok(Ok(0)),
            None => refuse(ENOENT, "no such key"),
        }
    }

    fn btf_load(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::btf_load as f;
        let size = a.u32(f::BTF_SIZE);
        let (level, lsize, lbuf) = (a.u32(f::LOG_LEVEL), a.u32(f::LOG_SIZE), a.u64(f::LOG_BUF));
        check!(size != 0, EINVAL, "btf_size is 0");
        check!(size <= 1 << 24, E2BIG, "btf_size {size} too large");
        let bytes = Self::read_ptr(mem, a.u64(f::BTF), u64::from(size), "btf", pc)?;
        p.btf = Some(bytes.clone());
        let res = (|| {
            if let Some(e) = inj {
                return Err((e, "injected".to_string()));
            }
            if !tail_zero {
                return Err((EINVAL, "attr bytes beyond btf_token_fd are not zero".into()));
            }
            log_attrs_valid(level, lsize, lbuf).map_err(|w| (EINVAL, w))?;
            if a.u32(f::FLAGS) != 0 {
                return Err((EINVAL, "btf_flags set without a token".into()));
            }
            Btf::parse(&bytes).map_err(|w| (EINVAL, format!("invalid BTF: {w}")))
        })();
        match res {
            Ok(parsed) => Ok(self.alloc_fd(Object::Btf(BtfObject { bytes, parsed }))),
            Err((e, why)) => {
                self.write_log(lbuf, lsize, &format!("mock BTF_LOAD: {why}\n"), pc)?;
                refuse(e, why)
            }
        }
    }

    fn prog_load(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::prog_load as f;
        let cnt = a.u32(f::INSN_CNT);
        let (level, lsize, lbuf) = (a.u32(f::LOG_LEVEL), a.u32(f::LOG_SIZE), a.u64(f::LOG_BUF));
        let insns = if cnt > 0 && cnt <= 1_000_000 {
            Some(Self::read_ptr(
                mem,
                a.u64(f::INSNS),
                u64::from(cnt) * 8,
                "insns",
                pc,
            )?)
        } else {
            None
        };
        let license = Self::read_ptr_cstr(mem, a.u64(f::LICENSE), 127, "license", pc)?;
        let recs =
            |ptr: usize, rsz: usize, n: usize, what: &str| -> Result<Option<Vec<u8>>, Error> {
                let (n, rs) = (a.u32(n), a.u32(rsz));
                if n == 0 || rs == 0 || rs > 4096 {
                    return Ok(None);
                }
                Self::read_ptr(mem, a.u64(ptr), u64::from(n) * u64::from(rs), what, pc).map(Some)
            };
        let func_info = recs(
            f::FUNC_INFO,
            f::FUNC_INFO_REC_SIZE,
            f::FUNC_INFO_CNT,
            "func_info",
        )?;
        let line_info = recs(
            f::LINE_INFO,
            f::LINE_INFO_REC_SIZE,
            f::LINE_INFO_CNT,
            "line_info",
        )?;
        let core_relos = recs(
            f::CORE_RELOS,
            f::CORE_RELO_REC_SIZE,
            f::CORE_RELO_CNT,
            "core_relos",
        )?;
        let fd_array = a.u64(f::FD_ARRAY);
        let decoded = insns.as_deref().map(decode).unwrap_or_default();
        if fd_array != 0 {
            let mut k = 0;
            while k < decoded.len() {
                let i = decoded[k];
                k += if i.code == 0x18 { 2 } else { 1 };
                let slot = if i.code == 0x18 && matches!(i.src, 5 | 6) {
                    i.imm as u32
                } else if i.code == 0x85 && i.src == 2 && i.off > 0 {
                    i.off as u32
                } else {
                    continue;
                };
                let b = Self::read_ptr(
                    mem,
                    fd_array.wrapping_add(4 * u64::from(slot)),
                    4,
                    &format!("fd_array[{slot}]"),
                    pc,
                )?;
                p.fd_array
                    .insert(slot, i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
        }
        p.insns = insns.clone();
        p.license = Some(String::from_utf8_lossy(&license).into_owned());
        p.func_info = func_info.clone();
        p.line_info = line_info.clone();
        p.core_relos = core_relos.clone();
        let res = self.prog_check(a, &decoded, p, inj, tail_zero);
        match res {
            Ok(mut prog) => {
                prog.insns = insns.unwrap_or_default();
                prog.license = String::from_utf8_lossy(&license).into_owned();
                Ok(self.alloc_fd(Object::Prog(prog)))
            }
            Err((e, why)) => {
                // EPERM is the kernel's refusal before verification (a locked-down program
                // type, say): it writes no log for it. Other failures come from the verifier.
                if inj != Some(EPERM) && log_attrs_valid(level, lsize, lbuf).is_ok() {
                    self.write_log(lbuf, lsize, &format!("mock verifier: {why}\n"), pc)?;
                }
                refuse(e, why)
            }
        }
    }

    fn read_ptr_cstr(
        mem: &Memory,
        addr: u64,
        max: usize,
        what: &str,
        pc: usize,
    ) -> Result<Vec<u8>, Error> {
        Self::read_ptr(mem, addr, 0, what, pc)?;
        mem.read_cstr(addr, max).map_err(|f| {
            Error::at(
                pc,
                ErrorKind::Memory,
                format!(
                    "the kernel reads {what} at {}: {}",
                    mem.describe(addr),
                    f.why
                ),
            )
        })
    }

    fn prog_check(
        &self,
        a: &A,
        insns: &[crate::vm::Insn],
        p: &Pointees,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> Result<ProgObject, Refusal> {
        use attr::prog_load as f;
        macro_rules! ensure {
            ($cond:expr, $errno:expr, $($why:tt)*) => {
                if !($cond) {
                    return Err(($errno, format!($($why)*)));
                }
            };
        }
        if let Some(e) = inj {
            return Err((e, "injected".into()));
        }
        ensure!(
            tail_zero,
            EINVAL,
            "attr bytes beyond keyring_id are not zero"
        );
        let t = a.u32(f::PROG_TYPE);
        ensure!(
            (1..=prog_type::NETFILTER).contains(&t),
            EINVAL,
            "unknown prog type {t}"
        );
        let cnt = a.u32(f::INSN_CNT);
        ensure!(cnt != 0, EINVAL, "insn_cnt is 0");
        ensure!(cnt <= 1_000_000, E2BIG, "insn_cnt {cnt} too large");
        let flags = a.u32(f::PROG_FLAGS);
        ensure!(
            flags & !0x1_00ff == 0,
            EINVAL,
            "unknown prog_flags {flags:#x}"
        );
        ensure!(
            flags & (1 << 16) == 0,
            EINVAL,
            "BPF_F_TOKEN_FD without a token"
        );
        let name =
            valid_obj_name(&a.0[f::PROG_NAME..f::PROG_NAME + 16]).map_err(|w| (EINVAL, w))?;
        log_attrs_valid(a.u32(f::LOG_LEVEL), a.u32(f::LOG_SIZE), a.u64(f::LOG_BUF))
            .map_err(|w| (EINVAL, w))?;
        ensure!(
            a.u32(f::PROG_IFINDEX) == 0,
            EINVAL,
            "prog_ifindex: no offload devices"
        );
        ensure!(
            a.u32(f::FD_ARRAY_CNT) == 0,
            EINVAL,
            "fd_array_cnt is not supported by the mock"
        );
        ensure!(
            a.u64(f::SIGNATURE) == 0,
            EINVAL,
            "signatures are not supported by the mock"
        );

        // Subprogram layout, as the verifier computes it.
        let mut starts = vec![0u32];
        let mut k = 0;
        while k < insns.len() {
            let i = &insns[k];
            if i.code == 0x18 {
                ensure!(
                    k + 1 < insns.len(),
                    EINVAL,
                    "insn {k}: ld_imm64 without second half"
                );
                let n = &insns[k + 1];
                ensure!(
                    n.code == 0 && n.dst == 0 && n.src == 0 && n.off == 0,
                    EINVAL,
                    "insn {k}: invalid ld_imm64 second half"
                );
                if i.src == 4 {
                    let tgt = k as i64 + 1 + i64::from(i.imm);
                    ensure!(
                        tgt >= 0 && (tgt as usize) < insns.len(),
                        EINVAL,
                        "insn {k}: callback target out of range"
                    );
                    starts.push(tgt as u32);
                }
                k += 2;
                continue;
            }
            if i.code == 0x85 && i.src == 1 {
                let tgt = k as i64 + 1 + i64::from(i.imm);
                ensure!(
                    tgt >= 0 && (tgt as usize) < insns.len(),
                    EINVAL,
                    "insn {k}: call target out of range"
                );
                starts.push(tgt as u32);
            }
            k += 1;
        }
        starts.sort_unstable();
        starts.dedup();

        let fi_cnt = a.u32(f::FUNC_INFO_CNT);
        let li_cnt = a.u32(f::LINE_INFO_CNT);
        let cr_cnt = a.u32(f::CORE_RELO_CNT);
        let mut prog_btf = None;
        if fi_cnt != 0 || li_cnt != 0 {
            let fd = a.i32(f::PROG_BTF_FD);
            let (obj, module) = self
                .btf_by_fd(fd)
                .map_err(|r| (r.0, format!("prog_btf_fd: {}", r.1)))?;
            ensure!(module.is_none(), EACCES, "prog_btf_fd {fd} is a kernel BTF");
            let Object::Btf(b) = &self.objects[obj] else {
                unreachable!()
            };
            prog_btf = Some(&b.parsed);
        }
        if fi_cnt != 0 {
            let rs = a.u32(f::FUNC_INFO_REC_SIZE);
            ensure!(
                (8..=252).contains(&rs) && rs % 4 == 0,
                EINVAL,
                "func_info_rec_size {rs} invalid"
            );
            let btf = prog_btf.expect("checked above");
            let recs = p.func_info.as_deref().unwrap_or_default();
            ensure!(
                fi_cnt as usize == starts.len(),
                EINVAL,
                "{fi_cnt} func_info records for {} subprograms",
                starts.len()
            );
            for (n, r) in recs.chunks_exact(rs as usize).enumerate() {
                let off = u32::from_le_bytes(r[0..4].try_into().unwrap_or_default());
                let tid = u32::from_le_bytes(r[4..8].try_into().unwrap_or_default());
                ensure!(
                    off == starts[n],
                    EINVAL,
                    "func_info[{n}].insn_off {off} does not start subprogram #{n} (at {})",
                    starts[n]
                );
                ensure!(
                    btf.get(tid).is_some_and(|t| t.kind == kind::FUNC),
                    EINVAL,
                    "func_info[{n}].type_id {tid} is not a FUNC"
                );
            }
        }
        if li_cnt != 0 {
            let rs = a.u32(f::LINE_INFO_REC_SIZE);
            ensure!(
                (16..=252).contains(&rs) && rs % 4 == 0,
                EINVAL,
                "line_info_rec_size {rs} invalid"
            );
            let btf = prog_btf.expect("checked above");
            let recs = p.line_info.as_deref().unwrap_or_default();
            let mut s = 0;
            let mut prev = 0;
            for (n, r) in recs.chunks_exact(rs as usize).enumerate() {
                let w = |o: usize| u32::from_le_bytes(r[o..o + 4].try_into().unwrap_or_default());
                let (off, file, line) = (w(0), w(4), w(8));
                ensure!(
                    (n == 0 || off > prev) && off < cnt,
                    EINVAL,
                    "line_info[{n}].insn_off {off} (prev {prev}, insn_cnt {cnt})"
                );
                ensure!(
                    insns[off as usize].code != 0,
                    EINVAL,
                    "line_info[{n}] points into an ld_imm64"
                );
                ensure!(
                    btf.name(file).is_some() && btf.name(line).is_some(),
                    EINVAL,
                    "line_info[{n}] has bad string offsets"
                );
                if s < starts.len() {
                    if off == starts[s] {
                        s += 1;
                    } else {
                        ensure!(
                            starts[s] >= off,
                            EINVAL,
                            "missing line_info for subprogram #{s}"
                        );
                    }
                }
                prev = off;
            }
            ensure!(
                s == starts.len(),
                EINVAL,
                "missing line_info for subprograms from #{s}"
            );
        }
        if cr_cnt != 0 {
            let rs = a.u32(f::CORE_RELO_REC_SIZE);
            ensure!(
                (16..=252).contains(&rs) && rs % 4 == 0,
                EINVAL,
                "core_relo_rec_size {rs} invalid"
            );
            ensure!(
                prog_btf.is_some(),
                EINVAL,
                "CO-RE relocations without func_info/line_info BTF"
            );
            for (n, r) in p
                .core_relos
                .as_deref()
                .unwrap_or_default()
                .chunks_exact(rs as usize)
                .enumerate()
            {
                let off = u32::from_le_bytes(r[0..4].try_into().unwrap_or_default());
                ensure!(
                    off % 8 == 0 && off / 8 < cnt,
                    EINVAL,
                    "core_relos[{n}].insn_off {off} invalid"
                );
            }
        }

        // Attach target.
        let (abtf_id, aobj_fd) = (a.u32(f::ATTACH_BTF_ID), a.i32(f::ATTACH_BTF_OBJ_FD));
        let eat = a.u32(f::EXPECTED_ATTACH_TYPE);
        let mut attach_module = None;
        let target = if aobj_fd != 0 {
            let (_, module) = self
                .btf_by_fd(aobj_fd)
                .map_err(|r| (r.0, format!("attach_btf_obj_fd: {}", r.1)))?;
            let m = module.ok_or((
                EINVAL,
                format!("attach_btf_obj_fd {aobj_fd} is not a kernel BTF"),
            ))?;
            attach_module = Some(self.modules[m].name.clone());
            Some(self.kernel_type(Some(m), abtf_id).ok_or((
                EINVAL,
                format!(
                    "attach_btf_id {abtf_id} not in module `{}`",
                    self.modules[m].name
                ),
            ))?)
        } else if abtf_id != 0 {
            Some(
                self.kernel_type(None, abtf_id)
                    .ok_or((EINVAL, format!("attach_btf_id {abtf_id} not in vmlinux")))?,
            )
        } else {
            None
        };
        if matches!(t, prog_type::TRACING | prog_type::LSM | prog_type::EXT) {
            let (tname, tkind) = target.ok_or((
                EINVAL,
                "tracing/LSM/ext programs must provide attach_btf_id".to_string(),
            ))?;
            let (want_kind, prefix) = match (t, eat) {
                (prog_type::TRACING, attach_type::TRACE_RAW_TP) => (kind::TYPEDEF, "btf_trace_"),
                (prog_type::TRACING, attach_type::TRACE_ITER) => (kind::FUNC, "bpf_iter_"),
                (prog_type::LSM, _) => (kind::FUNC, "bpf_lsm_"),
                _ => (kind::FUNC, ""),
            };
            ensure!(
                tkind == want_kind && tname.starts_with(prefix),
                EINVAL,
                "attach target `{tname}` (kind {tkind}) is not a {prefix}* of kind {want_kind}"
            );
        }

        // Map and kfunc references.
        let fd_array = a.u64(f::FD_ARRAY);
        let mut maps = Vec::new();
        let mut kfuncs = Vec::new();
        let mut k = 0;
        while k < insns.len() {
            let i = &insns[k];
            if i.code == 0x18 {
                let imm2 = insns[k + 1].imm as u32;
                let map = match i.src {
                    0 | 4 => None,
                    1 | 2 => Some((i.imm, format!("insn {k}: map fd {}", i.imm))),
                    5 | 6 => {
                        ensure!(
                            fd_array != 0,
                            EPROTO,
                            "insn {k}: fd_idx without fd_array is invalid"
                        );
                        let fd = p.fd_array.get(&(i.imm as u32)).copied().unwrap_or(-1);
                        Some((fd, format!("insn {k}: fd_array[{}] = {fd}", i.imm)))
                    }
                    3 => {
                        let fd = imm2 as i32;
                        let module = if fd != 0 {
                            let (_, m) = self
                                .btf_by_fd(fd)
                                .map_err(|r| (r.0, format!("insn {k}: ksym btf fd: {}", r.1)))?;
                            Some(m.ok_or((
                                EINVAL,
                                format!("insn {k}: btf fd {fd} is not a kernel BTF"),
                            ))?)
                        } else {
                            None
                        };
                        ensure!(
                            self.kernel_type(module, i.imm as u32)
                                .is_some_and(|t| t.1 == kind::VAR || t.1 == kind::FUNC),
                            EINVAL,
                            "insn {k}: ksym btf_id {} is not a VAR or FUNC in {}",
                            i.imm,
                            module.map_or("vmlinux", |m| self.modules[m].name.as_str())
                        );
                        None
                    }
                    s => return Err((EINVAL, format!("insn {k}: unknown ld_imm64 src_reg {s}"))),
                };
                if let Some((fd, what)) = map {
                    let (obj, m) = self
                        .map_by_fd(fd)
                        .map_err(|r| (r.0, format!("{what}: {}", r.1)))?;
                    if matches!(i.src, 2 | 6) {
                        ensure!(
                            matches!(m.map_type, map_type::ARRAY | map_type::ARENA)
                                && (m.map_type != map_type::ARRAY || m.max_entries == 1),
                            EOPNOTSUPP,
                            "{what}: direct value access needs a single-entry array"
                        );
                        ensure!(
                            imm2 < m.value_size,
                            EINVAL,
                            "{what}: value offset {imm2} >= value_size {}",
                            m.value_size
                        );
                    }
                    maps.push((k, obj));
                }
                k += 2;
                continue;
            }
            if i.code == 0x85 && i.src == 2 {
                if i.imm == 0 && i.off == 0 {
                    // A weak kfunc that is absent: dead code the verifier removes.
                } else if i.off < 0 {
                    return Err((EINVAL, format!("insn {k}: negative kfunc fd_array offset")));
                } else if i.off == 0 {
                    ensure!(
                        self.kernel_type(None, i.imm as u32)
                            .is_some_and(|t| t.1 == kind::FUNC),
                        EINVAL,
                        "insn {k}: kernel btf_id {} is not a function",
                        i.imm
                    );
                    kfuncs.push((k, i.imm as u32, None));
                } else {
                    ensure!(
                        fd_array != 0,
                        EPROTO,
                        "insn {k}: kfunc offset without fd_array"
                    );
                    let fd = p.fd_array.get(&(i.off as u32)).copied().unwrap_or(-1);
                    let (_, m) = self.btf_by_fd(fd).map_err(|r| {
                        (
                            r.0,
                            format!("insn {k}: kfunc fd_array[{}] = {fd}: {}", i.off, r.1),
                        )
                    })?;
                    let m = m.ok_or((
                        EINVAL,
                        format!("insn {k}: fd_array[{}] = {fd} is not a module BTF", i.off),
                    ))?;
                    ensure!(
                        self.kernel_type(Some(m), i.imm as u32)
                            .is_some_and(|t| t.1 == kind::FUNC),
                        EINVAL,
                        "insn {k}: btf_id {} is not a function in module `{}`",
                        i.imm,
                        self.modules[m].name
                    );
                    kfuncs.push((k, i.imm as u32, Some(self.modules[m].name.clone())));
                }
            }
            k += 1;
        }
        Ok(ProgObject {
            prog_type: t,
            expected_attach_type: eat,
            name,
            insns: Vec::new(),
            license: String::new(),
            prog_flags: flags,
            attach_btf_id: abtf_id,
            attach_module,
            maps,
            kfuncs,
        })
    }
}

/// An attr padded with zeros to its command's full size.
struct A(Vec<u8>);

impl A {
    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.0[off..off + 4].try_into().expect("4 bytes"))
    }
    fn i32(&self, off: usize) -> i32 {
        self.u32(off) as i32
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.0[off..off + 8].try_into().expect("8 bytes"))
    }
}

impl fmt::Display for SysCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "insn {}: {:?} ({} bytes) = {}",
            self.insn, self.cmd, self.size, self.ret
        )?;
        if let Some(why) = &self.refused {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}
