//! The kernel ABI and the loader ctx ABI the generator emits against: re-exported from
//! `lskel-abi`, which owns every number (shared with the runtime and the emulator, checked
//! against the kernel's headers), under the names the generator has always used.

pub use lskel_abi::insn::pseudo::{
    BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD,
    BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE,
};
pub use lskel_abi::insn::*;

/// Field offsets in an encoded `struct bpf_insn`.
pub mod insn {
    pub use lskel_abi::insn::field::*;
}
pub use lskel_abi::{attach_type, btf, helper, map_type, prog_type};

/// `BPF_F_*` flags by their C names.
pub use lskel_abi::map_flags::{MMAPABLE as BPF_F_MMAPABLE, RDONLY_PROG as BPF_F_RDONLY_PROG};
pub use lskel_abi::prog_flags::{
    SLEEPABLE as BPF_F_SLEEPABLE, XDP_HAS_FRAGS as BPF_F_XDP_HAS_FRAGS,
};

pub use lskel_abi::map_type::RINGBUF as BPF_MAP_TYPE_RINGBUF;
/// Map types by their C names.
pub use lskel_abi::map_type::{ARENA as BPF_MAP_TYPE_ARENA, ARRAY as BPF_MAP_TYPE_ARRAY};

/// The `bpf_attr` parts the loader fills.
pub use lskel_abi::attr::{btf_load, map_create, map_elem, map_freeze, prog_load};

/// The loader ctx block handed to `BPF_PROG_TEST_RUN` (the runtime's `LoaderCtx`).
pub use lskel_abi::ctx;

/// `BTF_MAGIC`
pub use lskel_abi::btf::BTF_MAGIC;

// The loader's helper calls and commands go into a 32-bit `imm`, so as `i32`.

/// `BPF_FUNC_copy_from_user`
pub const FUNC_COPY_FROM_USER: i32 = helper::COPY_FROM_USER;
/// `BPF_FUNC_sys_bpf`
pub const FUNC_SYS_BPF: i32 = helper::SYS_BPF;
/// `BPF_FUNC_btf_find_by_name_kind`
pub const FUNC_BTF_FIND_BY_NAME_KIND: i32 = helper::BTF_FIND_BY_NAME_KIND;
/// `BPF_FUNC_sys_close`
pub const FUNC_SYS_CLOSE: i32 = helper::SYS_CLOSE;
/// `BPF_FUNC_kallsyms_lookup_name`
pub const FUNC_KALLSYMS_LOOKUP_NAME: i32 = helper::KALLSYMS_LOOKUP_NAME;

/// `BPF_MAP_CREATE`
pub const BPF_MAP_CREATE: i32 = lskel_abi::cmd::MAP_CREATE as i32;
/// `BPF_MAP_UPDATE_ELEM`
pub const BPF_MAP_UPDATE_ELEM: i32 = lskel_abi::cmd::MAP_UPDATE_ELEM as i32;
/// `BPF_PROG_LOAD`
pub const BPF_PROG_LOAD: i32 = lskel_abi::cmd::PROG_LOAD as i32;
/// `BPF_BTF_LOAD`
pub const BPF_BTF_LOAD: i32 = lskel_abi::cmd::BTF_LOAD as i32;
/// `BPF_MAP_FREEZE`
pub const BPF_MAP_FREEZE: i32 = lskel_abi::cmd::MAP_FREEZE as i32;
