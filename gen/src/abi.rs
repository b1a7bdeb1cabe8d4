//! Kernel constants and `bpf_attr` layouts the generator needs, written by hand from
//! `include/uapi/linux/bpf.h` and `btf.h` (each with its C name), plus the loader ctx ABI
//! shared with the `lskel` runtime (`runtime/src/abi.rs` holds the same numbers).

// ---- struct bpf_insn ----------------------------------------------------------------------

/// `BPF_LD`
pub const BPF_LD: u8 = 0x00;
/// `BPF_LDX`
pub const BPF_LDX: u8 = 0x01;
/// `BPF_ST`
pub const BPF_ST: u8 = 0x02;
/// `BPF_STX`
pub const BPF_STX: u8 = 0x03;
/// `BPF_ALU`
pub const BPF_ALU: u8 = 0x04;
/// `BPF_JMP`
pub const BPF_JMP: u8 = 0x05;
/// `BPF_JMP32`
pub const BPF_JMP32: u8 = 0x06;
/// `BPF_ALU64`
pub const BPF_ALU64: u8 = 0x07;

/// `BPF_W`
pub const BPF_W: u8 = 0x00;
/// `BPF_DW`
pub const BPF_DW: u8 = 0x18;
/// `BPF_IMM`
pub const BPF_IMM: u8 = 0x00;
/// `BPF_MEM`
pub const BPF_MEM: u8 = 0x60;
/// `BPF_K`
pub const BPF_K: u8 = 0x00;
/// `BPF_X`
pub const BPF_X: u8 = 0x08;

/// `BPF_MOV`
pub const BPF_MOV: u8 = 0xb0;
/// `BPF_JA`
pub const BPF_JA: u8 = 0x00;
/// `BPF_JEQ`
pub const BPF_JEQ: u8 = 0x10;
/// `BPF_JNE`
pub const BPF_JNE: u8 = 0x50;
/// `BPF_JSGE`
pub const BPF_JSGE: u8 = 0x70;
/// `BPF_JSLE`
pub const BPF_JSLE: u8 = 0xd0;
/// `BPF_JLE`
pub const BPF_JLE: u8 = 0xb0;
/// `BPF_JGT`
pub const BPF_JGT: u8 = 0x20;
/// `BPF_ADD`
pub const BPF_ADD: u8 = 0x00;
/// `BPF_AND`
pub const BPF_AND: u8 = 0x50;
/// `BPF_CALL`
pub const BPF_CALL: u8 = 0x80;
/// `BPF_EXIT`
pub const BPF_EXIT: u8 = 0x90;

/// `BPF_PSEUDO_CALL`: `src_reg` of a bpf-to-bpf call.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `BPF_PSEUDO_KFUNC_CALL`
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;
/// `BPF_PSEUDO_BTF_ID`: `ld_imm64` of a kernel variable or function by BTF id.
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// `BPF_PSEUDO_FUNC`: `ld_imm64` of a subprogram address (callbacks).
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// `BPF_PSEUDO_MAP_IDX`: `ld_imm64` of a map, imm = index into `fd_array`.
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
/// `BPF_PSEUDO_MAP_IDX_VALUE`: `ld_imm64` of a map value address, imm = `fd_array` index.
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

/// Field offsets in a `struct bpf_insn` (8 bytes: `u8 code`, `u8 dst_reg:4, src_reg:4`,
/// `s16 off`, `s32 imm`); `ld_imm64` takes two, the upper half of its value in the second's imm.
pub mod insn {
    /// `code`
    pub const CODE: usize = 0;
    /// The register byte: `dst_reg` in the low nibble, `src_reg` in the high one.
    pub const REGS: usize = 1;
    /// `off`
    pub const OFF: usize = 2;
    /// `imm`
    pub const IMM: usize = 4;
    /// Size of one instruction.
    pub const SIZE: usize = 8;
    /// `imm` of an `ld_imm64`'s second instruction: the upper 32 bits of its value.
    pub const IMM_HI: usize = SIZE + IMM;

    /// The register byte of `dst` and `src`.
    pub const fn regs(dst: u8, src: u8) -> u8 {
        (src << 4) | (dst & 0x0f)
    }
    /// `dst_reg` of a register byte.
    pub const fn dst_reg(regs: u8) -> u8 {
        regs & 0x0f
    }
}

/// Opcode of `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`).
pub const LD_IMM64: u8 = BPF_LD | BPF_IMM | BPF_DW;
/// Opcode of a call (`BPF_JMP | BPF_CALL`).
pub const CALL: u8 = BPF_JMP | BPF_CALL;

// ---- helpers used by the loader (enum bpf_func_id) ----------------------------------------

/// `BPF_FUNC_copy_from_user`
pub const FUNC_COPY_FROM_USER: i32 = 148;
/// `BPF_FUNC_sys_bpf`
pub const FUNC_SYS_BPF: i32 = 166;
/// `BPF_FUNC_btf_find_by_name_kind`
pub const FUNC_BTF_FIND_BY_NAME_KIND: i32 = 167;
/// `BPF_FUNC_sys_close`
pub const FUNC_SYS_CLOSE: i32 = 168;
/// `BPF_FUNC_kallsyms_lookup_name`
pub const FUNC_KALLSYMS_LOOKUP_NAME: i32 = 179;

// ---- bpf(2) commands ------------------------------------------------------------------------

/// `BPF_MAP_CREATE`
pub const BPF_MAP_CREATE: i32 = 0;
/// `BPF_MAP_UPDATE_ELEM`
pub const BPF_MAP_UPDATE_ELEM: i32 = 2;
/// `BPF_PROG_LOAD`
pub const BPF_PROG_LOAD: i32 = 5;
/// `BPF_BTF_LOAD`
pub const BPF_BTF_LOAD: i32 = 18;
/// `BPF_MAP_FREEZE`
pub const BPF_MAP_FREEZE: i32 = 22;

// ---- flags ------------------------------------------------------------------------------------

/// `BPF_F_RDONLY_PROG`
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_SLEEPABLE` (prog_flags)
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS` (prog_flags)
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

// ---- map types (enum bpf_map_type) used by name in the generator ---------------------------

/// `BPF_MAP_TYPE_ARRAY`
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_RINGBUF`
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;
/// `BPF_MAP_TYPE_ARENA`, the highest map type in the 6.18 uapi.
pub const BPF_MAP_TYPE_ARENA: u32 = 33;

// ---- program, attach and map types by name (enums of the uapi header) ---------------------

/// `enum bpf_prog_type`.
pub mod prog_type {
    /// `BPF_PROG_TYPE_UNSPEC`
    pub const UNSPEC: u32 = 0;
    /// `BPF_PROG_TYPE_SOCKET_FILTER`
    pub const SOCKET_FILTER: u32 = 1;
    /// `BPF_PROG_TYPE_KPROBE`
    pub const KPROBE: u32 = 2;
    /// `BPF_PROG_TYPE_SCHED_CLS`
    pub const SCHED_CLS: u32 = 3;
    /// `BPF_PROG_TYPE_SCHED_ACT`
    pub const SCHED_ACT: u32 = 4;
    /// `BPF_PROG_TYPE_TRACEPOINT`
    pub const TRACEPOINT: u32 = 5;
    /// `BPF_PROG_TYPE_XDP`
    pub const XDP: u32 = 6;
    /// `BPF_PROG_TYPE_PERF_EVENT`
    pub const PERF_EVENT: u32 = 7;
    /// `BPF_PROG_TYPE_CGROUP_SKB`
    pub const CGROUP_SKB: u32 = 8;
    /// `BPF_PROG_TYPE_CGROUP_SOCK`
    pub const CGROUP_SOCK: u32 = 9;
    /// `BPF_PROG_TYPE_LWT_IN`
    pub const LWT_IN: u32 = 10;
    /// `BPF_PROG_TYPE_LWT_OUT`
    pub const LWT_OUT: u32 = 11;
    /// `BPF_PROG_TYPE_LWT_XMIT`
    pub const LWT_XMIT: u32 = 12;
    /// `BPF_PROG_TYPE_SOCK_OPS`
    pub const SOCK_OPS: u32 = 13;
    /// `BPF_PROG_TYPE_SK_SKB`
    pub const SK_SKB: u32 = 14;
    /// `BPF_PROG_TYPE_CGROUP_DEVICE`
    pub const CGROUP_DEVICE: u32 = 15;
    /// `BPF_PROG_TYPE_SK_MSG`
    pub const SK_MSG: u32 = 16;
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`
    pub const RAW_TRACEPOINT: u32 = 17;
    /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`
    pub const CGROUP_SOCK_ADDR: u32 = 18;
    /// `BPF_PROG_TYPE_LWT_SEG6LOCAL`
    pub const LWT_SEG6LOCAL: u32 = 19;
    /// `BPF_PROG_TYPE_LIRC_MODE2`
    pub const LIRC_MODE2: u32 = 20;
    /// `BPF_PROG_TYPE_SK_REUSEPORT`
    pub const SK_REUSEPORT: u32 = 21;
    /// `BPF_PROG_TYPE_FLOW_DISSECTOR`
    pub const FLOW_DISSECTOR: u32 = 22;
    /// `BPF_PROG_TYPE_CGROUP_SYSCTL`
    pub const CGROUP_SYSCTL: u32 = 23;
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`
    pub const RAW_TRACEPOINT_WRITABLE: u32 = 24;
    /// `BPF_PROG_TYPE_CGROUP_SOCKOPT`
    pub const CGROUP_SOCKOPT: u32 = 25;
    /// `BPF_PROG_TYPE_TRACING`
    pub const TRACING: u32 = 26;
    /// `BPF_PROG_TYPE_STRUCT_OPS`
    pub const STRUCT_OPS: u32 = 27;
    /// `BPF_PROG_TYPE_EXT`
    pub const EXT: u32 = 28;
    /// `BPF_PROG_TYPE_LSM`
    pub const LSM: u32 = 29;
    /// `BPF_PROG_TYPE_SK_LOOKUP`
    pub const SK_LOOKUP: u32 = 30;
    /// `BPF_PROG_TYPE_SYSCALL`
    pub const SYSCALL: u32 = 31;
    /// `BPF_PROG_TYPE_NETFILTER`
    pub const NETFILTER: u32 = 32;
}

/// `enum bpf_attach_type` (the kernel names without `BPF_`).
pub mod attach_type {
    /// `BPF_CGROUP_INET_INGRESS`
    pub const CGROUP_INET_INGRESS: u32 = 0;
    /// `BPF_CGROUP_INET_EGRESS`
    pub const CGROUP_INET_EGRESS: u32 = 1;
    /// `BPF_CGROUP_INET_SOCK_CREATE`
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    /// `BPF_CGROUP_SOCK_OPS`
    pub const CGROUP_SOCK_OPS: u32 = 3;
    /// `BPF_SK_SKB_STREAM_PARSER`
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    /// `BPF_SK_SKB_STREAM_VERDICT`
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    /// `BPF_CGROUP_DEVICE`
    pub const CGROUP_DEVICE: u32 = 6;
    /// `BPF_SK_MSG_VERDICT`
    pub const SK_MSG_VERDICT: u32 = 7;
    /// `BPF_CGROUP_INET4_BIND`
    pub const CGROUP_INET4_BIND: u32 = 8;
    /// `BPF_CGROUP_INET6_BIND`
    pub const CGROUP_INET6_BIND: u32 = 9;
    /// `BPF_CGROUP_INET4_CONNECT`
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    /// `BPF_CGROUP_INET6_CONNECT`
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    /// `BPF_CGROUP_INET4_POST_BIND`
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    /// `BPF_CGROUP_INET6_POST_BIND`
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    /// `BPF_CGROUP_UDP4_SENDMSG`
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    /// `BPF_CGROUP_UDP6_SENDMSG`
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    /// `BPF_LIRC_MODE2`
    pub const LIRC_MODE2: u32 = 16;
    /// `BPF_FLOW_DISSECTOR`
    pub const FLOW_DISSECTOR: u32 = 17;
    /// `BPF_CGROUP_SYSCTL`
    pub const CGROUP_SYSCTL: u32 = 18;
    /// `BPF_CGROUP_UDP4_RECVMSG`
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    /// `BPF_CGROUP_UDP6_RECVMSG`
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    /// `BPF_CGROUP_GETSOCKOPT`
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    /// `BPF_CGROUP_SETSOCKOPT`
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    /// `BPF_TRACE_RAW_TP`
    pub const TRACE_RAW_TP: u32 = 23;
    /// `BPF_TRACE_FENTRY`
    pub const TRACE_FENTRY: u32 = 24;
    /// `BPF_TRACE_FEXIT`
    pub const TRACE_FEXIT: u32 = 25;
    /// `BPF_MODIFY_RETURN`
    pub const MODIFY_RETURN: u32 = 26;
    /// `BPF_LSM_MAC`
    pub const LSM_MAC: u32 = 27;
    /// `BPF_TRACE_ITER`
    pub const TRACE_ITER: u32 = 28;
    /// `BPF_CGROUP_INET4_GETPEERNAME`
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    /// `BPF_CGROUP_INET6_GETPEERNAME`
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    /// `BPF_CGROUP_INET4_GETSOCKNAME`
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    /// `BPF_CGROUP_INET6_GETSOCKNAME`
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    /// `BPF_XDP_DEVMAP`
    pub const XDP_DEVMAP: u32 = 33;
    /// `BPF_CGROUP_INET_SOCK_RELEASE`
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    /// `BPF_XDP_CPUMAP`
    pub const XDP_CPUMAP: u32 = 35;
    /// `BPF_SK_LOOKUP`
    pub const SK_LOOKUP: u32 = 36;
    /// `BPF_XDP`
    pub const XDP: u32 = 37;
    /// `BPF_SK_SKB_VERDICT`
    pub const SK_SKB_VERDICT: u32 = 38;
    /// `BPF_SK_REUSEPORT_SELECT`
    pub const SK_REUSEPORT_SELECT: u32 = 39;
    /// `BPF_SK_REUSEPORT_SELECT_OR_MIGRATE`
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
    /// `BPF_PERF_EVENT`
    pub const PERF_EVENT: u32 = 41;
    /// `BPF_TRACE_KPROBE_MULTI`
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    /// `BPF_LSM_CGROUP`
    pub const LSM_CGROUP: u32 = 43;
    /// `BPF_STRUCT_OPS`
    pub const STRUCT_OPS: u32 = 44;
    /// `BPF_NETFILTER`
    pub const NETFILTER: u32 = 45;
    /// `BPF_TCX_INGRESS`
    pub const TCX_INGRESS: u32 = 46;
    /// `BPF_TCX_EGRESS`
    pub const TCX_EGRESS: u32 = 47;
    /// `BPF_TRACE_UPROBE_MULTI`
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    /// `BPF_CGROUP_UNIX_CONNECT`
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    /// `BPF_CGROUP_UNIX_SENDMSG`
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    /// `BPF_CGROUP_UNIX_RECVMSG`
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    /// `BPF_CGROUP_UNIX_GETPEERNAME`
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    /// `BPF_CGROUP_UNIX_GETSOCKNAME`
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
    /// `BPF_NETKIT_PRIMARY`
    pub const NETKIT_PRIMARY: u32 = 54;
    /// `BPF_NETKIT_PEER`
    pub const NETKIT_PEER: u32 = 55;
    /// `BPF_TRACE_KPROBE_SESSION`
    pub const TRACE_KPROBE_SESSION: u32 = 56;
    /// `BPF_TRACE_UPROBE_SESSION`
    pub const TRACE_UPROBE_SESSION: u32 = 57;
}

/// `enum bpf_map_type`.
pub mod map_type {
    /// `BPF_MAP_TYPE_UNSPEC`
    pub const UNSPEC: u32 = 0;
    /// `BPF_MAP_TYPE_HASH`
    pub const HASH: u32 = 1;
    /// `BPF_MAP_TYPE_ARRAY`
    pub const ARRAY: u32 = 2;
    /// `BPF_MAP_TYPE_PROG_ARRAY`
    pub const PROG_ARRAY: u32 = 3;
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`
    pub const PERF_EVENT_ARRAY: u32 = 4;
    /// `BPF_MAP_TYPE_PERCPU_HASH`
    pub const PERCPU_HASH: u32 = 5;
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`
    pub const PERCPU_ARRAY: u32 = 6;
    /// `BPF_MAP_TYPE_STACK_TRACE`
    pub const STACK_TRACE: u32 = 7;
    /// `BPF_MAP_TYPE_CGROUP_ARRAY`
    pub const CGROUP_ARRAY: u32 = 8;
    /// `BPF_MAP_TYPE_LRU_HASH`
    pub const LRU_HASH: u32 = 9;
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`
    pub const LRU_PERCPU_HASH: u32 = 10;
    /// `BPF_MAP_TYPE_LPM_TRIE`
    pub const LPM_TRIE: u32 = 11;
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`
    pub const ARRAY_OF_MAPS: u32 = 12;
    /// `BPF_MAP_TYPE_HASH_OF_MAPS`
    pub const HASH_OF_MAPS: u32 = 13;
    /// `BPF_MAP_TYPE_DEVMAP`
    pub const DEVMAP: u32 = 14;
    /// `BPF_MAP_TYPE_SOCKMAP`
    pub const SOCKMAP: u32 = 15;
    /// `BPF_MAP_TYPE_CPUMAP`
    pub const CPUMAP: u32 = 16;
    /// `BPF_MAP_TYPE_XSKMAP`
    pub const XSKMAP: u32 = 17;
    /// `BPF_MAP_TYPE_SOCKHASH`
    pub const SOCKHASH: u32 = 18;
    /// `BPF_MAP_TYPE_CGROUP_STORAGE`
    pub const CGROUP_STORAGE: u32 = 19;
    /// `BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`
    pub const REUSEPORT_SOCKARRAY: u32 = 20;
    /// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    /// `BPF_MAP_TYPE_QUEUE`
    pub const QUEUE: u32 = 22;
    /// `BPF_MAP_TYPE_STACK`
    pub const STACK: u32 = 23;
    /// `BPF_MAP_TYPE_SK_STORAGE`
    pub const SK_STORAGE: u32 = 24;
    /// `BPF_MAP_TYPE_DEVMAP_HASH`
    pub const DEVMAP_HASH: u32 = 25;
    /// `BPF_MAP_TYPE_STRUCT_OPS`
    pub const STRUCT_OPS: u32 = 26;
    /// `BPF_MAP_TYPE_RINGBUF`
    pub const RINGBUF: u32 = 27;
    /// `BPF_MAP_TYPE_INODE_STORAGE`
    pub const INODE_STORAGE: u32 = 28;
    /// `BPF_MAP_TYPE_TASK_STORAGE`
    pub const TASK_STORAGE: u32 = 29;
    /// `BPF_MAP_TYPE_BLOOM_FILTER`
    pub const BLOOM_FILTER: u32 = 30;
    /// `BPF_MAP_TYPE_USER_RINGBUF`
    pub const USER_RINGBUF: u32 = 31;
    /// `BPF_MAP_TYPE_CGRP_STORAGE`
    pub const CGRP_STORAGE: u32 = 32;
    /// `BPF_MAP_TYPE_ARENA`
    pub const ARENA: u32 = 33;
}

// ---- attribute layouts ----------------------------------------------------------------------

/// Offsets in the `BPF_MAP_CREATE` part of `union bpf_attr`.
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
    /// Attribute size the loader passes: up to and including `map_extra`.
    pub const SIZE: usize = 72;
}

/// Offsets in the `BPF_MAP_*_ELEM` part of `union bpf_attr`.
pub mod map_elem {
    /// `map_fd`
    pub const MAP_FD: usize = 0;
    /// `key`
    pub const KEY: usize = 8;
    /// `value`
    pub const VALUE: usize = 16;
    /// `flags`
    pub const FLAGS: usize = 24;
    /// Attribute size.
    pub const SIZE: usize = 32;
}

/// Offsets in the `BPF_MAP_FREEZE` attribute.
pub mod map_freeze {
    /// `map_fd`
    pub const MAP_FD: usize = 0;
    /// Attribute size.
    pub const SIZE: usize = 4;
}

/// Offsets in the `BPF_BTF_LOAD` part of `union bpf_attr`.
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
    /// Attribute size: up to and including `btf_log_level`.
    pub const SIZE: usize = 28;
}

/// Offsets in the `BPF_PROG_LOAD` part of `union bpf_attr`.
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
    /// Attribute size: up to and including `core_relo_rec_size`.
    pub const SIZE: usize = 140;
}

/// The loader ctx block handed to `BPF_PROG_TEST_RUN` (same layout as the runtime's
/// `LoaderCtx`), native-endian, every part 8-byte aligned:
///
/// ```text
/// 0                         header: u32 sz, u32 flags, u32 log_level, u32 log_size, u64 log_buf
/// 24 + 48*i                 map i: i32 map_fd, u32 max_entries, u64 initial_value, u32 set,
///                           u32 key_size, u32 value_size, u32 map_flags, u32 numa_node,
///                           i32 inner_map_fd, u64 map_extra
/// prog_fd(j)                program j: i32 prog_fd (4 bytes each)
/// status (8-aligned)        u32 failed_step, u32 possible_cpus, u64 reserved
/// target(k)                 attach-target entries (24 bytes each)
/// ```
pub mod ctx {
    /// Size of `struct bpf_loader_ctx`.
    pub const HEADER_SIZE: usize = 24;
    /// `bpf_loader_ctx.log_level`
    pub const LOG_LEVEL: usize = 8;
    /// `bpf_loader_ctx.log_size`
    pub const LOG_SIZE: usize = 12;
    /// `bpf_loader_ctx.log_buf`
    pub const LOG_BUF: usize = 16;
    /// Size of a map descriptor: libbpf's 16-byte `bpf_map_desc`, then the settings a user
    /// may change before load.
    pub const MAP_DESC_SIZE: usize = 48;
    /// Size of `struct bpf_prog_desc`.
    pub const PROG_DESC_SIZE: usize = 4;

    /// Bits of a map descriptor's `set` word: which of the optional settings the user gave.
    pub mod set {
        /// `key_size` is set.
        pub const KEY_SIZE: u32 = 1 << 0;
        /// `value_size` is set.
        pub const VALUE_SIZE: u32 = 1 << 1;
        /// `map_flags` is set.
        pub const MAP_FLAGS: u32 = 1 << 2;
        /// `numa_node` is set.
        pub const NUMA_NODE: u32 = 1 << 3;
        /// `map_extra` is set.
        pub const MAP_EXTRA: u32 = 1 << 4;
        /// `inner_map_fd` is set.
        pub const INNER_MAP: u32 = 1 << 5;
        /// Reuse: `map_fd` holds an open map to use instead of creating one. The loader owns
        /// that fd from the start of the run: it closes it on failure and hands it back in
        /// `map_fd` on success, as it does a map it created. The map is used as it is (a data
        /// map is neither written nor frozen).
        pub const REUSE: u32 = 1 << 6;
    }

    /// Offsets inside a map descriptor.
    pub mod map {
        /// `i32 map_fd` (out; in with [`super::set::REUSE`])
        pub const FD: usize = 0;
        /// `u32 max_entries` (0: the object's)
        pub const MAX_ENTRIES: usize = 4;
        /// `u64 initial_value` (user pointer, 0: the object's bytes)
        pub const INITIAL_VALUE: usize = 8;
        /// `u32 set`: [`super::set`] bits
        pub const SET: usize = 16;
        /// `u32 key_size`
        pub const KEY_SIZE: usize = 20;
        /// `u32 value_size`
        pub const VALUE_SIZE: usize = 24;
        /// `u32 map_flags`
        pub const MAP_FLAGS: usize = 28;
        /// `u32 numa_node`
        pub const NUMA_NODE: usize = 32;
        /// `i32 inner_map_fd`
        pub const INNER_MAP_FD: usize = 36;
        /// `u64 map_extra`
        pub const MAP_EXTRA: usize = 40;
    }

    /// Offset of map `i`'s descriptor.
    pub fn map_desc(i: usize) -> usize {
        HEADER_SIZE + MAP_DESC_SIZE * i
    }
    /// Offset of map `i`'s `map_fd`.
    pub fn map_fd(i: usize) -> usize {
        map_desc(i) + map::FD
    }
    /// Offset of map `i`'s `max_entries`.
    pub fn map_max_entries(i: usize) -> usize {
        map_desc(i) + map::MAX_ENTRIES
    }
    /// Offset of map `i`'s `initial_value`.
    pub fn map_initial_value(i: usize) -> usize {
        map_desc(i) + map::INITIAL_VALUE
    }
    /// Offset of program `j`'s `prog_fd`, after `n_maps` map descriptors.
    pub fn prog_fd(n_maps: usize, j: usize) -> usize {
        HEADER_SIZE + MAP_DESC_SIZE * n_maps + PROG_DESC_SIZE * j
    }
    /// A program's `prog_fd` preset to this by the runtime: do not load it (autoload off); it
    /// stays -1, reported absent.
    pub const PROG_SKIP: i32 = -1;

    /// Size of the status trailer.
    pub const STATUS_SIZE: usize = 16;
    /// Offset of `possible_cpus` in the status trailer (in: the size of a PERF_EVENT_ARRAY
    /// declared without max_entries).
    pub const STATUS_POSSIBLE_CPUS: usize = 4;

    /// Offset of the status trailer after the program descriptors, aligned to 8 so that the
    /// u64 fields after it are aligned whatever the program count (the kernel refuses a
    /// misaligned ctx access): `u32 failed_step` (the loader writes the 1-based number of the
    /// step that failed; 0 = none), `u32 possible_cpus`, `u64 reserved`.
    pub fn status(n_maps: usize, n_progs: usize) -> usize {
        prog_fd(n_maps, n_progs).next_multiple_of(8)
    }

    /// Size of one attach-target entry after the status trailer, for each program whose
    /// section names no target: `u64 name` (user pointer to the NUL-terminated BTF name),
    /// `u32 name_sz` (with the NUL), then for `freplace` `u32 attach_prog_fd` and
    /// `u32 attach_btf_id` (the replaced function in that program's BTF), `u32 reserved`.
    pub const TARGET_SIZE: usize = 24;
    /// Offset of `name` (a user pointer; 0: not set) in an attach-target entry.
    pub const TARGET_NAME: usize = 0;
    /// Offset of `name_sz` in an attach-target entry.
    pub const TARGET_NAME_SZ: usize = 8;
    /// Offset of `attach_prog_fd` in an attach-target entry.
    pub const TARGET_PROG_FD: usize = 12;
    /// Offset of `attach_btf_id` in an attach-target entry.
    pub const TARGET_BTF_ID: usize = 16;

    /// Offset of attach-target entry `k`.
    pub fn target(n_maps: usize, n_progs: usize, k: usize) -> usize {
        status(n_maps, n_progs) + STATUS_SIZE + TARGET_SIZE * k
    }

    /// Size of the ctx block with `n_targets` attach-target entries.
    pub fn size_with_targets(n_maps: usize, n_progs: usize, n_targets: usize) -> usize {
        target(n_maps, n_progs, n_targets)
    }

    /// Offset of `possible_cpus` in the status trailer.
    pub fn possible_cpus(n_maps: usize, n_progs: usize) -> usize {
        status(n_maps, n_progs) + STATUS_POSSIBLE_CPUS
    }
    /// Size of the whole ctx block (`bpf_loader_ctx.sz`), the status trailer included.
    pub fn size(n_maps: usize, n_progs: usize) -> usize {
        status(n_maps, n_progs) + STATUS_SIZE
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_part_is_8_aligned_whatever_the_counts() {
            for n_maps in 0..3 {
                for n_progs in 0..5 {
                    assert_eq!(status(n_maps, n_progs) % 8, 0);
                    for k in 0..3 {
                        assert_eq!(target(n_maps, n_progs, k) % 8, 0);
                    }
                    assert_eq!(size_with_targets(n_maps, n_progs, 3) % 8, 0);
                }
            }
            assert_eq!(MAP_DESC_SIZE % 8, 0);
            assert_eq!(map::MAP_EXTRA % 8, 0);
            assert_eq!(map::MAP_EXTRA + 8, MAP_DESC_SIZE);
            // One program: the status trailer starts after 4 bytes of padding.
            assert_eq!(status(1, 1), 24 + 48 + 8);
            assert_eq!(size(0, 0), 24 + 16);
        }
    }
}

// ---- BTF (include/uapi/linux/btf.h) -----------------------------------------------------------

/// `BTF_MAGIC`
pub const BTF_MAGIC: u16 = 0xeb9f;
