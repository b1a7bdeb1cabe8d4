//! Offsets in the records `BPF_OBJ_GET_INFO_BY_FD` fills, for the fields lskel reads.

/// `struct bpf_prog_info`
pub mod prog_info {
    c_values! { usize;
        "offsetof(struct bpf_prog_info, type)" => TYPE = 0;
        "offsetof(struct bpf_prog_info, id)" => ID = 4;
        "offsetof(struct bpf_prog_info, tag)" => TAG = 8;
        "offsetof(struct bpf_prog_info, xlated_prog_len)" => XLATED_PROG_LEN = 20;
        "offsetof(struct bpf_prog_info, xlated_prog_insns)" => XLATED_PROG_INSNS = 32;
        "offsetof(struct bpf_prog_info, nr_map_ids)" => NR_MAP_IDS = 52;
        "offsetof(struct bpf_prog_info, map_ids)" => MAP_IDS = 56;
        "offsetof(struct bpf_prog_info, name)" => NAME = 64;
        "offsetof(struct bpf_prog_info, btf_id)" => BTF_ID = 128;
        "offsetof(struct bpf_prog_info, nr_func_info)" => NR_FUNC_INFO = 144;
        "offsetof(struct bpf_prog_info, nr_line_info)" => NR_LINE_INFO = 148;
        "offsetof(struct bpf_prog_info, run_time_ns)" => RUN_TIME_NS = 192;
        "offsetof(struct bpf_prog_info, run_cnt)" => RUN_CNT = 200;
        "offsetof(struct bpf_prog_info, recursion_misses)" => RECURSION_MISSES = 208;
        "offsetof(struct bpf_prog_info, verified_insns)" => VERIFIED_INSNS = 216;
        "offsetof(struct bpf_prog_info, attach_btf_obj_id)" => ATTACH_BTF_OBJ_ID = 220;
        "offsetof(struct bpf_prog_info, attach_btf_id)" => ATTACH_BTF_ID = 224;
        /// The size lskel asks for: the end of `attach_btf_id`, rounded up to 8.
        "(offsetof(struct bpf_prog_info, attach_btf_id) + 4 + 7) / 8 * 8" => SIZE = 232;
    }
}

/// `struct bpf_map_info`
pub mod map_info {
    c_values! { usize;
        "offsetof(struct bpf_map_info, type)" => TYPE = 0;
        "offsetof(struct bpf_map_info, id)" => ID = 4;
        "offsetof(struct bpf_map_info, key_size)" => KEY_SIZE = 8;
        "offsetof(struct bpf_map_info, value_size)" => VALUE_SIZE = 12;
        "offsetof(struct bpf_map_info, max_entries)" => MAX_ENTRIES = 16;
        "offsetof(struct bpf_map_info, map_flags)" => MAP_FLAGS = 20;
        "offsetof(struct bpf_map_info, name)" => NAME = 24;
        "offsetof(struct bpf_map_info, btf_id)" => BTF_ID = 64;
        "offsetof(struct bpf_map_info, btf_key_type_id)" => BTF_KEY_TYPE_ID = 68;
        "offsetof(struct bpf_map_info, btf_value_type_id)" => BTF_VALUE_TYPE_ID = 72;
        "offsetof(struct bpf_map_info, map_extra)" => MAP_EXTRA = 80;
        /// The size lskel asks for: the end of `hash_size` (6.18), rounded up to 8.
        "(offsetof(struct bpf_map_info, hash_size) + 4 + 7) / 8 * 8" => SIZE = 104;
    }
}

/// `struct bpf_link_info`
pub mod link_info {
    c_values! { usize;
        "offsetof(struct bpf_link_info, id)" => ID = 4;
    }
}

/// Offset of `id` in the info records of programs, maps and links alike (BTF's differs), so
/// one read gets the id of any of them.
pub const ID: usize = prog_info::ID;

const _: () = assert!(map_info::ID == ID && link_info::ID == ID);
