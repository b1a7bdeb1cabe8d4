//! The numbers of the uapi (`enum bpf_cmd`, map, program and attach types, flags) this crate uses.

/// `BPF_OBJ_NAME_LEN`: object names hold at most 15 bytes plus a NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;

/// `enum bpf_cmd` values used by this crate.
#[allow(missing_docs)]
pub mod cmd {
    pub const BPF_MAP_CREATE: u32 = 0;
    pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
    pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
    pub const BPF_MAP_DELETE_ELEM: u32 = 3;
    pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
    pub const BPF_PROG_LOAD: u32 = 5;
    pub const BPF_OBJ_PIN: u32 = 6;
    pub const BPF_OBJ_GET: u32 = 7;
    pub const BPF_PROG_TEST_RUN: u32 = 10;
    pub const BPF_PROG_GET_NEXT_ID: u32 = 11;
    pub const BPF_MAP_GET_NEXT_ID: u32 = 12;
    pub const BPF_PROG_GET_FD_BY_ID: u32 = 13;
    pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
    pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
    pub const BPF_RAW_TRACEPOINT_OPEN: u32 = 17;
    pub const BPF_BTF_GET_FD_BY_ID: u32 = 19;
    pub const BPF_MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
    pub const BPF_MAP_FREEZE: u32 = 22;
    pub const BPF_BTF_GET_NEXT_ID: u32 = 23;
    pub const BPF_MAP_LOOKUP_BATCH: u32 = 24;
    pub const BPF_MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
    pub const BPF_MAP_UPDATE_BATCH: u32 = 26;
    pub const BPF_MAP_DELETE_BATCH: u32 = 27;
    pub const BPF_LINK_CREATE: u32 = 28;
    pub const BPF_LINK_GET_FD_BY_ID: u32 = 30;
    pub const BPF_LINK_GET_NEXT_ID: u32 = 31;
    pub const BPF_ENABLE_STATS: u32 = 32;
    pub const BPF_ITER_CREATE: u32 = 33;
    pub const BPF_PROG_BIND_MAP: u32 = 35;
}

/// `enum bpf_map_type` values used by this crate and its tests.
#[allow(missing_docs)]
pub mod map_type {
    pub const BPF_MAP_TYPE_HASH: u32 = 1;
    pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
    pub const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
    pub const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
    pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
    pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
    pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
    pub const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;

    /// Whether lookups of this map type return one value per possible CPU.
    pub fn is_percpu(t: u32) -> bool {
        matches!(
            t,
            BPF_MAP_TYPE_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_ARRAY
                | BPF_MAP_TYPE_LRU_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
        )
    }
}

/// `enum bpf_prog_type` values used by this crate and its tests.
#[allow(missing_docs)]
pub mod prog_type {
    pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
    pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
    pub const BPF_PROG_TYPE_TRACING: u32 = 26;
    pub const BPF_PROG_TYPE_SYSCALL: u32 = 31;
}

/// Flag values (`BPF_F_*`, `BPF_ANY`, …) used by this crate.
#[allow(missing_docs)]
pub mod flags {
    /// `BPF_ANY`: create or update an element.
    pub const BPF_ANY: u64 = 0;
    /// `BPF_NOEXIST`: create only.
    pub const BPF_NOEXIST: u64 = 1;
    /// `BPF_EXIST`: update only.
    pub const BPF_EXIST: u64 = 2;
    /// `BPF_F_LOCK`
    pub const BPF_F_LOCK: u64 = 4;
    /// `BPF_F_RDONLY` (map_flags): read-only for the syscall side.
    pub const BPF_F_RDONLY: u32 = 1 << 3;
    /// `BPF_F_WRONLY` (map_flags)
    pub const BPF_F_WRONLY: u32 = 1 << 4;
    /// `BPF_F_RDONLY_PROG` (map_flags): read-only for programs.
    pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
    /// `BPF_F_WRONLY_PROG` (map_flags)
    pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
    /// `BPF_F_MMAPABLE` (map_flags): the array can be `mmap`ed.
    pub const BPF_F_MMAPABLE: u32 = 1 << 10;
    /// `BPF_F_SLEEPABLE` (prog_flags)
    pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
}

/// `enum bpf_attach_type` values used by this crate.
#[allow(missing_docs)]
pub mod attach_type {
    pub const BPF_TRACE_RAW_TP: u32 = 23;
    pub const BPF_TRACE_FENTRY: u32 = 24;
    pub const BPF_TRACE_ITER: u32 = 28;
    pub const BPF_PERF_EVENT: u32 = 41;
}
