//! What the mock kernel records and what failure injection targets: the `bpf(2)` commands,
//! the operations, and a log entry for every helper call (with the attr bytes and decoded
//! pointees of each `bpf_sys_bpf`).

use lskel_abi::cmd;
use std::collections::BTreeMap;
use std::fmt;

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
            cmd::MAP_CREATE => Cmd::MapCreate,
            cmd::MAP_LOOKUP_ELEM => Cmd::MapLookupElem,
            cmd::MAP_UPDATE_ELEM => Cmd::MapUpdateElem,
            cmd::MAP_DELETE_ELEM => Cmd::MapDeleteElem,
            cmd::MAP_GET_NEXT_KEY => Cmd::MapGetNextKey,
            cmd::PROG_LOAD => Cmd::ProgLoad,
            cmd::PROG_TEST_RUN => Cmd::ProgTestRun,
            cmd::MAP_GET_FD_BY_ID => Cmd::MapGetFdById,
            cmd::RAW_TRACEPOINT_OPEN => Cmd::RawTracepointOpen,
            cmd::BTF_LOAD => Cmd::BtfLoad,
            cmd::MAP_FREEZE => Cmd::MapFreeze,
            cmd::LINK_CREATE => Cmd::LinkCreate,
            n => Cmd::Other(n),
        }
    }

    /// The command number.
    pub fn raw(self) -> u32 {
        match self {
            Cmd::MapCreate => cmd::MAP_CREATE,
            Cmd::MapLookupElem => cmd::MAP_LOOKUP_ELEM,
            Cmd::MapUpdateElem => cmd::MAP_UPDATE_ELEM,
            Cmd::MapDeleteElem => cmd::MAP_DELETE_ELEM,
            Cmd::MapGetNextKey => cmd::MAP_GET_NEXT_KEY,
            Cmd::ProgLoad => cmd::PROG_LOAD,
            Cmd::ProgTestRun => cmd::PROG_TEST_RUN,
            Cmd::MapGetFdById => cmd::MAP_GET_FD_BY_ID,
            Cmd::RawTracepointOpen => cmd::RAW_TRACEPOINT_OPEN,
            Cmd::BtfLoad => cmd::BTF_LOAD,
            Cmd::MapFreeze => cmd::MAP_FREEZE,
            Cmd::LinkCreate => cmd::LINK_CREATE,
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
    /// `bpf_sys_bpf`: index into [`MockKernel::syscalls`](super::MockKernel::syscalls).
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
