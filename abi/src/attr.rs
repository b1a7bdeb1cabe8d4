//! The parts of `union bpf_attr` lskel fills, one module per command family. The loader's
//! parts are `#[repr(C)]` structs laid out as the kernel's (6.18) with offsets from
//! `offset_of!`; the runtime's other commands give the offsets and sizes it relies on.
//! `SIZE` is what lskel passes as the attribute size; `END` the end of the kernel's last
//! field (6.18), which the emulator checks the tail against.

use core::mem::{offset_of, size_of};

use crate::OBJ_NAME_LEN;

/// `BPF_MAP_CREATE`
pub mod map_create {
    use super::*;

    /// The `BPF_MAP_CREATE` part of `union bpf_attr`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    #[allow(missing_docs)]
    pub struct MapCreate {
        pub map_type: u32,
        pub key_size: u32,
        pub value_size: u32,
        pub max_entries: u32,
        pub map_flags: u32,
        pub inner_map_fd: u32,
        pub numa_node: u32,
        pub map_name: [u8; OBJ_NAME_LEN],
        pub map_ifindex: u32,
        pub btf_fd: u32,
        pub btf_key_type_id: u32,
        pub btf_value_type_id: u32,
        pub btf_vmlinux_value_type_id: u32,
        pub map_extra: u64,
        pub value_type_btf_obj_fd: i32,
        pub map_token_fd: i32,
        pub excl_prog_hash: u64,
        pub excl_prog_hash_size: u32,
    }

    c_values! { usize;
        "offsetof(union bpf_attr, map_type)" => MAP_TYPE = offset_of!(MapCreate, map_type);
        "offsetof(union bpf_attr, key_size)" => KEY_SIZE = offset_of!(MapCreate, key_size);
        "offsetof(union bpf_attr, value_size)" => VALUE_SIZE = offset_of!(MapCreate, value_size);
        "offsetof(union bpf_attr, max_entries)" => MAX_ENTRIES = offset_of!(MapCreate, max_entries);
        "offsetof(union bpf_attr, map_flags)" => MAP_FLAGS = offset_of!(MapCreate, map_flags);
        "offsetof(union bpf_attr, inner_map_fd)" => INNER_MAP_FD = offset_of!(MapCreate, inner_map_fd);
        "offsetof(union bpf_attr, numa_node)" => NUMA_NODE = offset_of!(MapCreate, numa_node);
        "offsetof(union bpf_attr, map_name)" => MAP_NAME = offset_of!(MapCreate, map_name);
        "offsetof(union bpf_attr, map_ifindex)" => MAP_IFINDEX = offset_of!(MapCreate, map_ifindex);
        "offsetof(union bpf_attr, btf_fd)" => BTF_FD = offset_of!(MapCreate, btf_fd);
        "offsetof(union bpf_attr, btf_key_type_id)" => BTF_KEY_TYPE_ID = offset_of!(MapCreate, btf_key_type_id);
        "offsetof(union bpf_attr, btf_value_type_id)" => BTF_VALUE_TYPE_ID = offset_of!(MapCreate, btf_value_type_id);
        "offsetof(union bpf_attr, btf_vmlinux_value_type_id)" => BTF_VMLINUX_VALUE_TYPE_ID = offset_of!(MapCreate, btf_vmlinux_value_type_id);
        "offsetof(union bpf_attr, map_extra)" => MAP_EXTRA = offset_of!(MapCreate, map_extra);
        "offsetof(union bpf_attr, value_type_btf_obj_fd)" => VALUE_TYPE_BTF_OBJ_FD = offset_of!(MapCreate, value_type_btf_obj_fd);
        "offsetof(union bpf_attr, map_token_fd)" => MAP_TOKEN_FD = offset_of!(MapCreate, map_token_fd);
        "offsetof(union bpf_attr, excl_prog_hash)" => EXCL_PROG_HASH = offset_of!(MapCreate, excl_prog_hash);
        "offsetof(union bpf_attr, excl_prog_hash_size)" => EXCL_PROG_HASH_SIZE = offset_of!(MapCreate, excl_prog_hash_size);
        /// The loader's attribute size: up to and including `map_extra`.
        "offsetof(union bpf_attr, map_extra) + sizeof(__u64)" => SIZE = MAP_EXTRA + size_of::<u64>();
        /// End of the last field (6.18).
        "offsetof(union bpf_attr, excl_prog_hash_size) + sizeof(__u32)" => END = EXCL_PROG_HASH_SIZE + size_of::<u32>();
    }
}

/// `BPF_MAP_*_ELEM` (lookup, update, delete, get_next_key)
pub mod map_elem {
    use super::*;

    /// The `BPF_MAP_*_ELEM` part of `union bpf_attr`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    #[allow(missing_docs)]
    pub struct MapElem {
        pub map_fd: u32,
        pub key: u64,
        /// `value` / `next_key`
        pub value: u64,
        pub flags: u64,
    }

    c_values! { usize;
        "offsetof(union bpf_attr, map_fd)" => MAP_FD = offset_of!(MapElem, map_fd);
        "offsetof(union bpf_attr, key)" => KEY = offset_of!(MapElem, key);
        "offsetof(union bpf_attr, value)" => VALUE = offset_of!(MapElem, value);
        "offsetof(union bpf_attr, flags)" => FLAGS = offset_of!(MapElem, flags);
        /// Attribute size.
        "offsetof(union bpf_attr, flags) + sizeof(__u64)" => SIZE = size_of::<MapElem>();
        /// End of the last field.
        "offsetof(union bpf_attr, flags) + 8" => END = FLAGS + size_of::<u64>();
    }
}

/// `BPF_MAP_FREEZE`: the `map_fd` of [`map_elem`] alone.
pub mod map_freeze {
    use super::*;

    c_values! { usize;
        "offsetof(union bpf_attr, map_fd)" => MAP_FD = map_elem::MAP_FD;
        /// The loader's attribute size: `map_fd` only.
        "offsetof(union bpf_attr, map_fd) + sizeof(__u32)" => SIZE = MAP_FD + size_of::<u32>();
        /// End of the last field.
        "offsetof(union bpf_attr, map_fd) + 4" => END = SIZE;
    }
}

/// `BPF_BTF_LOAD`
pub mod btf_load {
    use super::*;

    /// The `BPF_BTF_LOAD` part of `union bpf_attr`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    #[allow(missing_docs)]
    pub struct BtfLoad {
        pub btf: u64,
        pub btf_log_buf: u64,
        pub btf_size: u32,
        pub btf_log_size: u32,
        pub btf_log_level: u32,
        pub btf_log_true_size: u32,
        pub btf_flags: u32,
        pub btf_token_fd: i32,
    }

    c_values! { usize;
        "offsetof(union bpf_attr, btf)" => BTF = offset_of!(BtfLoad, btf);
        "offsetof(union bpf_attr, btf_log_buf)" => LOG_BUF = offset_of!(BtfLoad, btf_log_buf);
        "offsetof(union bpf_attr, btf_size)" => BTF_SIZE = offset_of!(BtfLoad, btf_size);
        "offsetof(union bpf_attr, btf_log_size)" => LOG_SIZE = offset_of!(BtfLoad, btf_log_size);
        "offsetof(union bpf_attr, btf_log_level)" => LOG_LEVEL = offset_of!(BtfLoad, btf_log_level);
        "offsetof(union bpf_attr, btf_log_true_size)" => LOG_TRUE_SIZE = offset_of!(BtfLoad, btf_log_true_size);
        "offsetof(union bpf_attr, btf_flags)" => FLAGS = offset_of!(BtfLoad, btf_flags);
        "offsetof(union bpf_attr, btf_token_fd)" => TOKEN_FD = offset_of!(BtfLoad, btf_token_fd);
        /// The loader's attribute size: up to and including `btf_log_level`.
        "offsetof(union bpf_attr, btf_log_level) + sizeof(__u32)" => SIZE = LOG_LEVEL + size_of::<u32>();
        /// End of the last field (6.18).
        "offsetof(union bpf_attr, btf_token_fd) + sizeof(__s32)" => END = size_of::<BtfLoad>();
    }
}

/// `BPF_PROG_LOAD`
pub mod prog_load {
    use super::*;

    /// The `BPF_PROG_LOAD` part of `union bpf_attr`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    #[allow(missing_docs)]
    pub struct ProgLoad {
        pub prog_type: u32,
        pub insn_cnt: u32,
        pub insns: u64,
        pub license: u64,
        pub log_level: u32,
        pub log_size: u32,
        pub log_buf: u64,
        pub kern_version: u32,
        pub prog_flags: u32,
        pub prog_name: [u8; OBJ_NAME_LEN],
        pub prog_ifindex: u32,
        pub expected_attach_type: u32,
        pub prog_btf_fd: u32,
        pub func_info_rec_size: u32,
        pub func_info: u64,
        pub func_info_cnt: u32,
        pub line_info_rec_size: u32,
        pub line_info: u64,
        pub line_info_cnt: u32,
        pub attach_btf_id: u32,
        /// `attach_btf_obj_fd` / `attach_prog_fd` (a union)
        pub attach_btf_obj_fd: u32,
        pub core_relo_cnt: u32,
        pub fd_array: u64,
        pub core_relos: u64,
        pub core_relo_rec_size: u32,
        pub log_true_size: u32,
        pub prog_token_fd: i32,
        pub fd_array_cnt: u32,
        pub signature: u64,
        pub signature_size: u32,
        pub keyring_id: i32,
    }

    c_values! { usize;
        "offsetof(union bpf_attr, prog_type)" => PROG_TYPE = offset_of!(ProgLoad, prog_type);
        "offsetof(union bpf_attr, insn_cnt)" => INSN_CNT = offset_of!(ProgLoad, insn_cnt);
        "offsetof(union bpf_attr, insns)" => INSNS = offset_of!(ProgLoad, insns);
        "offsetof(union bpf_attr, license)" => LICENSE = offset_of!(ProgLoad, license);
        "offsetof(union bpf_attr, log_level)" => LOG_LEVEL = offset_of!(ProgLoad, log_level);
        "offsetof(union bpf_attr, log_size)" => LOG_SIZE = offset_of!(ProgLoad, log_size);
        "offsetof(union bpf_attr, log_buf)" => LOG_BUF = offset_of!(ProgLoad, log_buf);
        "offsetof(union bpf_attr, kern_version)" => KERN_VERSION = offset_of!(ProgLoad, kern_version);
        "offsetof(union bpf_attr, prog_flags)" => PROG_FLAGS = offset_of!(ProgLoad, prog_flags);
        "offsetof(union bpf_attr, prog_name)" => PROG_NAME = offset_of!(ProgLoad, prog_name);
        "offsetof(union bpf_attr, prog_ifindex)" => PROG_IFINDEX = offset_of!(ProgLoad, prog_ifindex);
        "offsetof(union bpf_attr, expected_attach_type)" => EXPECTED_ATTACH_TYPE = offset_of!(ProgLoad, expected_attach_type);
        "offsetof(union bpf_attr, prog_btf_fd)" => PROG_BTF_FD = offset_of!(ProgLoad, prog_btf_fd);
        "offsetof(union bpf_attr, func_info_rec_size)" => FUNC_INFO_REC_SIZE = offset_of!(ProgLoad, func_info_rec_size);
        "offsetof(union bpf_attr, func_info)" => FUNC_INFO = offset_of!(ProgLoad, func_info);
        "offsetof(union bpf_attr, func_info_cnt)" => FUNC_INFO_CNT = offset_of!(ProgLoad, func_info_cnt);
        "offsetof(union bpf_attr, line_info_rec_size)" => LINE_INFO_REC_SIZE = offset_of!(ProgLoad, line_info_rec_size);
        "offsetof(union bpf_attr, line_info)" => LINE_INFO = offset_of!(ProgLoad, line_info);
        "offsetof(union bpf_attr, line_info_cnt)" => LINE_INFO_CNT = offset_of!(ProgLoad, line_info_cnt);
        "offsetof(union bpf_attr, attach_btf_id)" => ATTACH_BTF_ID = offset_of!(ProgLoad, attach_btf_id);
        "offsetof(union bpf_attr, attach_btf_obj_fd)" => ATTACH_BTF_OBJ_FD = offset_of!(ProgLoad, attach_btf_obj_fd);
        "offsetof(union bpf_attr, attach_prog_fd)" => ATTACH_PROG_FD = offset_of!(ProgLoad, attach_btf_obj_fd);
        "offsetof(union bpf_attr, core_relo_cnt)" => CORE_RELO_CNT = offset_of!(ProgLoad, core_relo_cnt);
        "offsetof(union bpf_attr, fd_array)" => FD_ARRAY = offset_of!(ProgLoad, fd_array);
        "offsetof(union bpf_attr, core_relos)" => CORE_RELOS = offset_of!(ProgLoad, core_relos);
        "offsetof(union bpf_attr, core_relo_rec_size)" => CORE_RELO_REC_SIZE = offset_of!(ProgLoad, core_relo_rec_size);
        "offsetof(union bpf_attr, log_true_size)" => LOG_TRUE_SIZE = offset_of!(ProgLoad, log_true_size);
        "offsetof(union bpf_attr, prog_token_fd)" => PROG_TOKEN_FD = offset_of!(ProgLoad, prog_token_fd);
        "offsetof(union bpf_attr, fd_array_cnt)" => FD_ARRAY_CNT = offset_of!(ProgLoad, fd_array_cnt);
        "offsetof(union bpf_attr, signature)" => SIGNATURE = offset_of!(ProgLoad, signature);
        "offsetof(union bpf_attr, signature_size)" => SIGNATURE_SIZE = offset_of!(ProgLoad, signature_size);
        "offsetof(union bpf_attr, keyring_id)" => KEYRING_ID = offset_of!(ProgLoad, keyring_id);
        /// The loader's attribute size: up to and including `core_relo_rec_size`.
        "offsetof(union bpf_attr, core_relo_rec_size) + sizeof(__u32)" => SIZE = CORE_RELO_REC_SIZE + size_of::<u32>();
        /// The loader's attribute size for a program it binds maps to: up to and including
        /// `fd_array_cnt` (6.14+).
        "offsetof(union bpf_attr, fd_array_cnt) + sizeof(__u32)" => SIZE_FD_ARRAY_CNT = FD_ARRAY_CNT + size_of::<u32>();
        /// End of the last field (6.18).
        "offsetof(union bpf_attr, keyring_id) + sizeof(__s32)" => END = size_of::<ProgLoad>();
    }
}

/// Sizes of the other commands' parts, as the runtime's `#[repr(C)]` attribute structs have
/// them: the end of the last field the runtime fills, rounded up to 8.
pub mod sizes {
    c_values! { usize;
        /// `BPF_MAP_CREATE`, every field (6.18).
        "(offsetof(union bpf_attr, excl_prog_hash_size) + 4 + 7) / 8 * 8" => MAP_CREATE = 96;
        /// `BPF_PROG_LOAD`, every field (6.18).
        "(offsetof(union bpf_attr, keyring_id) + 4 + 7) / 8 * 8" => PROG_LOAD = 168;
        /// `BPF_PROG_TEST_RUN` (`test`), up to `batch_size`.
        "(offsetof(union bpf_attr, test.batch_size) + 4 + 7) / 8 * 8" => TEST_RUN = 80;
        /// `BPF_RAW_TRACEPOINT_OPEN` (`raw_tracepoint`), up to `cookie`.
        "(offsetof(union bpf_attr, raw_tracepoint.cookie) + 8 + 7) / 8 * 8" => RAW_TRACEPOINT_OPEN = 24;
        /// `BPF_OBJ_PIN` / `BPF_OBJ_GET`, up to `path_fd`.
        "(offsetof(union bpf_attr, path_fd) + 4 + 7) / 8 * 8" => OBJ = 24;
        /// `BPF_*_GET_NEXT_ID` / `BPF_*_GET_FD_BY_ID`, up to `fd_by_id_token_fd`.
        "offsetof(union bpf_attr, fd_by_id_token_fd) + 4" => GET_ID = 16;
        /// `BPF_OBJ_GET_INFO_BY_FD` (`info`).
        "offsetof(union bpf_attr, info.info) + 8" => INFO = 16;
        /// `BPF_MAP_*_BATCH` (`batch`).
        "offsetof(union bpf_attr, batch.flags) + 8" => BATCH = 56;
        /// `BPF_ITER_CREATE` (`iter_create`).
        "offsetof(union bpf_attr, iter_create.flags) + 4" => ITER_CREATE = 8;
        /// `BPF_PROG_BIND_MAP` (`prog_bind_map`).
        "offsetof(union bpf_attr, prog_bind_map.flags) + 4" => PROG_BIND_MAP = 12;
    }
}

/// `BPF_LINK_CREATE` (`link_create`): the fixed head and room for the attach-specific parts
/// lskel fills (lskel's choice, not the kernel's size).
pub const LINK_CREATE_SIZE: usize = 48;

/// `BPF_PROG_TEST_RUN` (`test`) offsets the runtime's struct must match.
pub mod test_run {
    c_values! { usize;
        "offsetof(union bpf_attr, test.ctx_size_in)" => CTX_SIZE_IN = 40;
        "offsetof(union bpf_attr, test.ctx_in)" => CTX_IN = 48;
        "offsetof(union bpf_attr, test.ctx_out)" => CTX_OUT = 56;
        "offsetof(union bpf_attr, test.batch_size)" => BATCH_SIZE = 72;
    }
}

/// `BPF_MAP_*_BATCH` (`batch`) offsets the runtime's struct must match.
pub mod batch {
    c_values! { usize;
        "offsetof(union bpf_attr, batch.in_batch)" => IN_BATCH = 0;
        "offsetof(union bpf_attr, batch.out_batch)" => OUT_BATCH = 8;
        "offsetof(union bpf_attr, batch.keys)" => KEYS = 16;
        "offsetof(union bpf_attr, batch.values)" => VALUES = 24;
        "offsetof(union bpf_attr, batch.count)" => COUNT = 32;
        "offsetof(union bpf_attr, batch.map_fd)" => MAP_FD = 36;
        "offsetof(union bpf_attr, batch.elem_flags)" => ELEM_FLAGS = 40;
        "offsetof(union bpf_attr, batch.flags)" => FLAGS = 48;
    }
}

/// `BPF_LINK_CREATE` (`link_create`) offsets the runtime's structs must match.
pub mod link_create {
    c_values! { usize;
        "offsetof(union bpf_attr, link_create.prog_fd)" => PROG_FD = 0;
        "offsetof(union bpf_attr, link_create.target_fd)" => TARGET_FD = 4;
        "offsetof(union bpf_attr, link_create.attach_type)" => ATTACH_TYPE = 8;
        "offsetof(union bpf_attr, link_create.flags)" => FLAGS = 12;
        "offsetof(union bpf_attr, link_create.target_btf_id)" => TARGET_BTF_ID = 16;
        "offsetof(union bpf_attr, link_create.perf_event.bpf_cookie)" => PERF_EVENT_BPF_COOKIE = 16;
    }
}

const _: () = {
    assert!(map_create::SIZE == 72);
    assert!(map_create::END == 92);
    assert!(size_of::<map_create::MapCreate>() == sizes::MAP_CREATE);
    assert!(map_elem::SIZE == 32);
    assert!(btf_load::SIZE == 28);
    assert!(btf_load::END == 40);
    assert!(prog_load::SIZE == 140);
    assert!(prog_load::END == 168);
    assert!(size_of::<prog_load::ProgLoad>() == sizes::PROG_LOAD);
};
