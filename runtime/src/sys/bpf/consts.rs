//! The numbers of the uapi (`enum bpf_cmd`, map, program and attach types, flags) this crate uses.

/// `BPF_OBJ_NAME_LEN`: object names hold at most 15 bytes plus a NUL.
pub const BPF_OBJ_NAME_LEN: usize = lskel_abi::OBJ_NAME_LEN;

/// `enum bpf_cmd` values used by this crate (from `lskel-abi`, under their C names).
pub mod cmd {
    pub use lskel_abi::cmd::{
        BTF_GET_FD_BY_ID as BPF_BTF_GET_FD_BY_ID, BTF_GET_NEXT_ID as BPF_BTF_GET_NEXT_ID,
        ENABLE_STATS as BPF_ENABLE_STATS, ITER_CREATE as BPF_ITER_CREATE,
        LINK_CREATE as BPF_LINK_CREATE, LINK_GET_FD_BY_ID as BPF_LINK_GET_FD_BY_ID,
        LINK_GET_NEXT_ID as BPF_LINK_GET_NEXT_ID, MAP_CREATE as BPF_MAP_CREATE,
        MAP_DELETE_BATCH as BPF_MAP_DELETE_BATCH, MAP_DELETE_ELEM as BPF_MAP_DELETE_ELEM,
        MAP_FREEZE as BPF_MAP_FREEZE, MAP_GET_FD_BY_ID as BPF_MAP_GET_FD_BY_ID,
        MAP_GET_NEXT_ID as BPF_MAP_GET_NEXT_ID, MAP_GET_NEXT_KEY as BPF_MAP_GET_NEXT_KEY,
        MAP_LOOKUP_AND_DELETE_BATCH as BPF_MAP_LOOKUP_AND_DELETE_BATCH,
        MAP_LOOKUP_AND_DELETE_ELEM as BPF_MAP_LOOKUP_AND_DELETE_ELEM,
        MAP_LOOKUP_BATCH as BPF_MAP_LOOKUP_BATCH, MAP_LOOKUP_ELEM as BPF_MAP_LOOKUP_ELEM,
        MAP_UPDATE_BATCH as BPF_MAP_UPDATE_BATCH, MAP_UPDATE_ELEM as BPF_MAP_UPDATE_ELEM,
        OBJ_GET as BPF_OBJ_GET, OBJ_GET_INFO_BY_FD as BPF_OBJ_GET_INFO_BY_FD,
        OBJ_PIN as BPF_OBJ_PIN, PROG_BIND_MAP as BPF_PROG_BIND_MAP,
        PROG_GET_FD_BY_ID as BPF_PROG_GET_FD_BY_ID, PROG_GET_NEXT_ID as BPF_PROG_GET_NEXT_ID,
        PROG_LOAD as BPF_PROG_LOAD, PROG_TEST_RUN as BPF_PROG_TEST_RUN,
        RAW_TRACEPOINT_OPEN as BPF_RAW_TRACEPOINT_OPEN,
    };
}

/// `enum bpf_map_type` values used by this crate and its tests (from `lskel-abi`).
pub mod map_type {
    pub use lskel_abi::map_type::is_percpu;
    pub use lskel_abi::map_type::{
        ARRAY as BPF_MAP_TYPE_ARRAY, HASH as BPF_MAP_TYPE_HASH,
        LRU_PERCPU_HASH as BPF_MAP_TYPE_LRU_PERCPU_HASH, PERCPU_ARRAY as BPF_MAP_TYPE_PERCPU_ARRAY,
        PERCPU_CGROUP_STORAGE as BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
        PERCPU_HASH as BPF_MAP_TYPE_PERCPU_HASH, PERF_EVENT_ARRAY as BPF_MAP_TYPE_PERF_EVENT_ARRAY,
        PROG_ARRAY as BPF_MAP_TYPE_PROG_ARRAY, RINGBUF as BPF_MAP_TYPE_RINGBUF,
    };
}

/// `enum bpf_prog_type` values used by this crate and its tests (from `lskel-abi`).
pub mod prog_type {
    pub use lskel_abi::prog_type::{
        RAW_TRACEPOINT as BPF_PROG_TYPE_RAW_TRACEPOINT,
        SOCKET_FILTER as BPF_PROG_TYPE_SOCKET_FILTER, SYSCALL as BPF_PROG_TYPE_SYSCALL,
        TRACING as BPF_PROG_TYPE_TRACING,
    };
}

/// Flag values (`BPF_F_*`, `BPF_ANY`, …) used by this crate (from `lskel-abi`).
pub mod flags {
    pub use lskel_abi::elem_flags::NOEXIST as BPF_NOEXIST;
    pub use lskel_abi::elem_flags::{ANY as BPF_ANY, EXIST as BPF_EXIST, LOCK as BPF_F_LOCK};
    pub use lskel_abi::map_flags::WRONLY_PROG as BPF_F_WRONLY_PROG;
    pub use lskel_abi::map_flags::{MMAPABLE as BPF_F_MMAPABLE, RDONLY as BPF_F_RDONLY};
    pub use lskel_abi::map_flags::{RDONLY_PROG as BPF_F_RDONLY_PROG, WRONLY as BPF_F_WRONLY};
    pub use lskel_abi::prog_flags::SLEEPABLE as BPF_F_SLEEPABLE;
}

/// `enum bpf_attach_type` values used by this crate (from `lskel-abi`).
pub mod attach_type {
    pub use lskel_abi::attach_type::{
        PERF_EVENT as BPF_PERF_EVENT, TRACE_FENTRY as BPF_TRACE_FENTRY,
        TRACE_ITER as BPF_TRACE_ITER, TRACE_RAW_TP as BPF_TRACE_RAW_TP,
    };
}
