//! Kernel numbers the emulator needs (uapi `bpf.h`, `btf.h`, `errno.h`).

/// `EPERM`
pub const EPERM: i32 = 1;
/// `ENOENT`
pub const ENOENT: i32 = 2;
/// `EINTR`
pub const EINTR: i32 = 4;
/// `EIO`
pub const EIO: i32 = 5;
/// `E2BIG`
pub const E2BIG: i32 = 7;
/// `EBADF`
pub const EBADF: i32 = 9;
/// `EAGAIN`
pub const EAGAIN: i32 = 11;
/// `ENOMEM`
pub const ENOMEM: i32 = 12;
/// `EACCES`
pub const EACCES: i32 = 13;
/// `EFAULT`
pub const EFAULT: i32 = 14;
/// `EBUSY`
pub const EBUSY: i32 = 16;
/// `EEXIST`
pub const EEXIST: i32 = 17;
/// `EINVAL`
pub const EINVAL: i32 = 22;
/// `EMFILE`
pub const EMFILE: i32 = 24;
/// `ENOSPC`
pub const ENOSPC: i32 = 28;
/// `ERANGE`
pub const ERANGE: i32 = 34;
/// `EPROTO`
pub const EPROTO: i32 = 71;
/// `EOPNOTSUPP`
pub const EOPNOTSUPP: i32 = 95;
/// `ENOTSUPP` (kernel-internal 524)
pub const ENOTSUPP: i32 = 524;

/// BTF kinds (`BTF_KIND_*`).
pub mod kind {
    /// `BTF_KIND_INT`
    pub const INT: u32 = 1;
    /// `BTF_KIND_PTR`
    pub const PTR: u32 = 2;
    /// `BTF_KIND_ARRAY`
    pub const ARRAY: u32 = 3;
    /// `BTF_KIND_STRUCT`
    pub const STRUCT: u32 = 4;
    /// `BTF_KIND_UNION`
    pub const UNION: u32 = 5;
    /// `BTF_KIND_ENUM`
    pub const ENUM: u32 = 6;
    /// `BTF_KIND_FWD`
    pub const FWD: u32 = 7;
    /// `BTF_KIND_TYPEDEF`
    pub const TYPEDEF: u32 = 8;
    /// `BTF_KIND_VOLATILE`
    pub const VOLATILE: u32 = 9;
    /// `BTF_KIND_CONST`
    pub const CONST: u32 = 10;
    /// `BTF_KIND_RESTRICT`
    pub const RESTRICT: u32 = 11;
    /// `BTF_KIND_FUNC`
    pub const FUNC: u32 = 12;
    /// `BTF_KIND_FUNC_PROTO`
    pub const FUNC_PROTO: u32 = 13;
    /// `BTF_KIND_VAR`
    pub const VAR: u32 = 14;
    /// `BTF_KIND_DATASEC`
    pub const DATASEC: u32 = 15;
    /// `BTF_KIND_FLOAT`
    pub const FLOAT: u32 = 16;
    /// `BTF_KIND_DECL_TAG`
    pub const DECL_TAG: u32 = 17;
    /// `BTF_KIND_TYPE_TAG`
    pub const TYPE_TAG: u32 = 18;
    /// `BTF_KIND_ENUM64`
    pub const ENUM64: u32 = 19;
}

/// Helper ids (`enum bpf_func_id`) the emulator implements.
pub mod helper {
    /// `bpf_trace_printk`
    pub const TRACE_PRINTK: i32 = 6;
    /// `bpf_probe_read_kernel`
    pub const PROBE_READ_KERNEL: i32 = 113;
    /// `bpf_copy_from_user`
    pub const COPY_FROM_USER: i32 = 148;
    /// `bpf_sys_bpf`
    pub const SYS_BPF: i32 = 166;
    /// `bpf_btf_find_by_name_kind`
    pub const BTF_FIND_BY_NAME_KIND: i32 = 167;
    /// `bpf_sys_close`
    pub const SYS_CLOSE: i32 = 168;
    /// `bpf_kallsyms_lookup_name`
    pub const KALLSYMS_LOOKUP_NAME: i32 = 179;
}

/// Map types (`enum bpf_map_type`) the mock kernel treats specially.
pub mod map_type {
    /// `BPF_MAP_TYPE_HASH`
    pub const HASH: u32 = 1;
    /// `BPF_MAP_TYPE_ARRAY`
    pub const ARRAY: u32 = 2;
    /// `BPF_MAP_TYPE_PROG_ARRAY`
    pub const PROG_ARRAY: u32 = 3;
    /// `BPF_MAP_TYPE_PERCPU_HASH`
    pub const PERCPU_HASH: u32 = 5;
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`
    pub const PERCPU_ARRAY: u32 = 6;
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`
    pub const LRU_PERCPU_HASH: u32 = 10;
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`
    pub const ARRAY_OF_MAPS: u32 = 12;
    /// `BPF_MAP_TYPE_HASH_OF_MAPS`
    pub const HASH_OF_MAPS: u32 = 13;
    /// `BPF_MAP_TYPE_RINGBUF`
    pub const RINGBUF: u32 = 27;
    /// `BPF_MAP_TYPE_BLOOM_FILTER`
    pub const BLOOM_FILTER: u32 = 30;
    /// `BPF_MAP_TYPE_USER_RINGBUF`
    pub const USER_RINGBUF: u32 = 31;
    /// `BPF_MAP_TYPE_ARENA` (highest in 6.18)
    pub const ARENA: u32 = 33;
}

/// Program types (`enum bpf_prog_type`) the mock kernel treats specially.
pub mod prog_type {
    /// `BPF_PROG_TYPE_TRACING`
    pub const TRACING: u32 = 26;
    /// `BPF_PROG_TYPE_STRUCT_OPS`
    pub const STRUCT_OPS: u32 = 27;
    /// `BPF_PROG_TYPE_EXT`
    pub const EXT: u32 = 28;
    /// `BPF_PROG_TYPE_LSM`
    pub const LSM: u32 = 29;
    /// `BPF_PROG_TYPE_SYSCALL`
    pub const SYSCALL: u32 = 31;
    /// `BPF_PROG_TYPE_NETFILTER` (highest in 6.18)
    pub const NETFILTER: u32 = 32;
}

/// `enum bpf_attach_type` values the mock kernel checks attach targets for.
pub mod attach_type {
    /// `BPF_TRACE_RAW_TP`
    pub const TRACE_RAW_TP: u32 = 23;
    /// `BPF_TRACE_ITER`
    pub const TRACE_ITER: u32 = 28;
}

/// `bpf_attr` field offsets of the commands the mock kernel implements.
pub mod attr {
    /// `BPF_MAP_CREATE`
    pub mod map_create {
        /// `map_type`
        pub const MAP_TYPE: usize = 0;
        /// `key_size`
        pub const KEY_SIZE: usize = 4;
        /// `value_size`
        pub const VALUE_SIZE: usize = 8;
        /// `max_entries`
        pub const MAX_ENTRIES: usize = 12;
        /// `map_flags`
        pub const MAP_FLAGS: usize = 16;
        /// `inner_map_fd`
        pub const INNER_MAP_FD: usize = 20;
        /// `numa_node`
        pub const NUMA_NODE: usize = 24;
        /// `map_name[16]`
        pub const MAP_NAME: usize = 28;
        /// `map_ifindex`
        pub const MAP_IFINDEX: usize = 44;
        /// `btf_fd`
        pub const BTF_FD: usize = 48;
        /// `btf_key_type_id`
        pub const BTF_KEY_TYPE_ID: usize = 52;
        /// `btf_value_type_id`
        pub const BTF_VALUE_TYPE_ID: usize = 56;
        /// `btf_vmlinux_value_type_id`
        pub const BTF_VMLINUX_VALUE_TYPE_ID: usize = 60;
        /// `map_extra`
        pub const MAP_EXTRA: usize = 64;
        /// `value_type_btf_obj_fd`
        pub const VALUE_TYPE_BTF_OBJ_FD: usize = 72;
        /// `map_token_fd`
        pub const MAP_TOKEN_FD: usize = 76;
        /// `excl_prog_hash`
        pub const EXCL_PROG_HASH: usize = 80;
        /// `excl_prog_hash_size`
        pub const EXCL_PROG_HASH_SIZE: usize = 88;
        /// End of the last field (6.18).
        pub const END: usize = 92;
    }
    /// `BPF_MAP_*_ELEM`
    pub mod map_elem {
        /// `map_fd`
        pub const MAP_FD: usize = 0;
        /// `key`
        pub const KEY: usize = 8;
        /// `value`
        pub const VALUE: usize = 16;
        /// `flags`
        pub const FLAGS: usize = 24;
        /// End of the last field.
        pub const END: usize = 32;
    }
    /// `BPF_MAP_FREEZE`
    pub mod map_freeze {
        /// `map_fd`
        pub const MAP_FD: usize = 0;
        /// End of the last field.
        pub const END: usize = 4;
    }
    /// `BPF_BTF_LOAD`
    pub mod btf_load {
        /// `btf`
        pub const BTF: usize = 0;
        /// `btf_log_buf`
        pub const LOG_BUF: usize = 8;
        /// `btf_size`
        pub const BTF_SIZE: usize = 16;
        /// `btf_log_size`
        pub const LOG_SIZE: usize = 20;
        /// `btf_log_level`
        pub const LOG_LEVEL: usize = 24;
        /// `btf_log_true_size`
        pub const LOG_TRUE_SIZE: usize = 28;
        /// `btf_flags`
        pub const FLAGS: usize = 32;
        /// `btf_token_fd`
        pub const TOKEN_FD: usize = 36;
        /// End of the last field (6.18).
        pub const END: usize = 40;
    }
    /// `BPF_PROG_LOAD`
    pub mod prog_load {
        /// `prog_type`
        pub const PROG_TYPE: usize = 0;
        /// `insn_cnt`
        pub const INSN_CNT: usize = 4;
        /// `insns`
        pub const INSNS: usize = 8;
        /// `license`
        pub const LICENSE: usize = 16;
        /// `log_level`
        pub const LOG_LEVEL: usize = 24;
        /// `log_size`
        pub const LOG_SIZE: usize = 28;
        /// `log_buf`
        pub const LOG_BUF: usize = 32;
        /// `kern_version`
        pub const KERN_VERSION: usize = 40;
        /// `prog_flags`
        pub const PROG_FLAGS: usize = 44;
        /// `prog_name[16]`
        pub const PROG_NAME: usize = 48;
        /// `prog_ifindex`
        pub const PROG_IFINDEX: usize = 64;
        /// `expected_attach_type`
        pub const EXPECTED_ATTACH_TYPE: usize = 68;
        /// `prog_btf_fd`
        pub const PROG_BTF_FD: usize = 72;
        /// `func_info_rec_size`
        pub const FUNC_INFO_REC_SIZE: usize = 76;
        /// `func_info`
        pub const FUNC_INFO: usize = 80;
        /// `func_info_cnt`
        pub const FUNC_INFO_CNT: usize = 88;
        /// `line_info_rec_size`
        pub const LINE_INFO_REC_SIZE: usize = 92;
        /// `line_info`
        pub const LINE_INFO: usize = 96;
        /// `line_info_cnt`
        pub const LINE_INFO_CNT: usize = 104;
        /// `attach_btf_id`
        pub const ATTACH_BTF_ID: usize = 108;
        /// `attach_btf_obj_fd` / `attach_prog_fd`
        pub const ATTACH_BTF_OBJ_FD: usize = 112;
        /// `core_relo_cnt`
        pub const CORE_RELO_CNT: usize = 116;
        /// `fd_array`
        pub const FD_ARRAY: usize = 120;
        /// `core_relos`
        pub const CORE_RELOS: usize = 128;
        /// `core_relo_rec_size`
        pub const CORE_RELO_REC_SIZE: usize = 136;
        /// `log_true_size`
        pub const LOG_TRUE_SIZE: usize = 140;
        /// `prog_token_fd`
        pub const PROG_TOKEN_FD: usize = 144;
        /// `fd_array_cnt`
        pub const FD_ARRAY_CNT: usize = 148;
        /// `signature`
        pub const SIGNATURE: usize = 152;
        /// `signature_size`
        pub const SIGNATURE_SIZE: usize = 160;
        /// `keyring_id`
        pub const KEYRING_ID: usize = 164;
        /// End of the last field (6.18).
        pub const END: usize = 168;
    }
}

/// The loader ctx layout, written from the layout description in the runtime's `abi.rs` doc
/// comment, not from the generator's functions, so a drift between them shows up as a failing
/// test.
pub mod ctx {
    /// Size of `struct bpf_loader_ctx`.
    pub const HEADER_SIZE: usize = 24;
    /// `bpf_loader_ctx.sz`
    pub const SZ: usize = 0;
    /// `bpf_loader_ctx.flags`
    pub const FLAGS: usize = 4;
    /// `bpf_loader_ctx.log_level`
    pub const LOG_LEVEL: usize = 8;
    /// `bpf_loader_ctx.log_size`
    pub const LOG_SIZE: usize = 12;
    /// `bpf_loader_ctx.log_buf`
    pub const LOG_BUF: usize = 16;
    /// Size of a map descriptor (`bpf_map_desc` and the settings after it).
    pub const MAP_DESC_SIZE: usize = 48;
    /// Size of `struct bpf_prog_desc`.
    pub const PROG_DESC_SIZE: usize = 4;
    /// Offset of map `i`'s `map_fd`.
    pub fn map_fd(i: usize) -> usize {
        HEADER_SIZE + MAP_DESC_SIZE * i
    }
    /// Offset of map `i`'s `max_entries`.
    pub fn map_max_entries(i: usize) -> usize {
        map_fd(i) + 4
    }
    /// Offset of map `i`'s `initial_value`.
    pub fn map_initial_value(i: usize) -> usize {
        map_fd(i) + 8
    }
    /// Bit of a map's `set` word: `map_fd` holds a map to reuse instead of creating one
    /// (the loader owns it from the start of the run).
    pub const SET_REUSE: u32 = 1 << 6;
    /// Offset of map `i`'s `set` word (which settings are given).
    pub fn map_set(i: usize) -> usize {
        map_fd(i) + 16
    }
    /// Offset of map `i`'s `key_size`.
    pub fn map_key_size(i: usize) -> usize {
        map_fd(i) + 20
    }
    /// Offset of map `i`'s `value_size`.
    pub fn map_value_size(i: usize) -> usize {
        map_fd(i) + 24
    }
    /// Offset of map `i`'s `map_flags`.
    pub fn map_flags(i: usize) -> usize {
        map_fd(i) + 28
    }
    /// Offset of map `i`'s `numa_node`.
    pub fn map_numa_node(i: usize) -> usize {
        map_fd(i) + 32
    }
    /// Offset of map `i`'s `inner_map_fd`.
    pub fn map_inner_map_fd(i: usize) -> usize {
        map_fd(i) + 36
    }
    /// Offset of map `i`'s `map_extra`.
    pub fn map_extra(i: usize) -> usize {
        map_fd(i) + 40
    }
    /// Offset of program `j`'s `prog_fd`, after `n_maps` map descriptors.
    pub fn prog_fd(n_maps: usize, j: usize) -> usize {
        HEADER_SIZE + MAP_DESC_SIZE * n_maps + PROG_DESC_SIZE * j
    }
    /// Offset of the status trailer (`u32 failed_step; u32 possible_cpus; u64 reserved`)
    /// after the programs, rounded up to 8.
    pub fn status(n_maps: usize, n_progs: usize) -> usize {
        prog_fd(n_maps, n_progs).div_ceil(8) * 8
    }
    /// Size of the whole block, the status trailer included.
    pub fn size(n_maps: usize, n_progs: usize) -> usize {
        status(n_maps, n_progs) + 16
    }
}
