//! The numbers lskel's generator, runtime and loader emulator share, written once.
//!
//! Kernel values carry their C name in their doc and sit in the table `C_VALUES` of their
//! module, as a C expression and the value it must have; `tests/uapi.rs` compiles those
//! expressions against the kernel headers, so a wrong number here fails a test rather than a
//! load. The loader ctx ([`ctx`]) is lskel's own (after libbpf's `skel_internal.h`); that test
//! checks it against C declarations of the same structs.
//!
//! Semver-exempt: this crate follows what lskel needs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Defines `pub const`s of one type, each documented with the C expression it stands for, and
/// `C_VALUES`: every one of them as `(C expression, value)` for the header check.
macro_rules! c_values {
    ($ty:ty; $($rest:tt)*) => {
        c_values! { table C_VALUES; $ty; $($rest)* }
    };
    (table $table:ident; $ty:ty; $( $(#[$m:meta])* $c:literal => $id:ident = $v:expr; )*) => {
        $(
            #[doc = concat!("`", $c, "`")]
            #[doc = ""]
            $(#[$m])*
            pub const $id: $ty = $v;
        )*
        /// Values of this module with the C expression each must equal.
        pub const $table: &[(&str, i128)] = &[$(($c, $id as i128)),*];
    };
}

pub mod attach_type;
pub mod attr;
pub mod btf;
pub mod cmd;
pub mod ctx;
pub mod elem_flags;
pub mod errno;
pub mod helper;
pub mod info;
pub mod insn;
pub mod map_flags;
pub mod map_type;
pub mod prog_flags;
pub mod prog_type;
pub mod ringbuf;
pub mod stats_type;

c_values! { table NAME_C_VALUES; usize;
    "BPF_OBJ_NAME_LEN" => OBJ_NAME_LEN = 16;
}

/// Every `C_VALUES` table of the crate with its module's name, for the header check.
pub const ALL_C_VALUES: &[(&str, &[(&str, i128)])] = &[
    ("", NAME_C_VALUES),
    ("attach_type", attach_type::C_VALUES),
    ("attr::map_create", attr::map_create::C_VALUES),
    ("attr::map_elem", attr::map_elem::C_VALUES),
    ("attr::map_freeze", attr::map_freeze::C_VALUES),
    ("attr::btf_load", attr::btf_load::C_VALUES),
    ("attr::prog_load", attr::prog_load::C_VALUES),
    ("attr::sizes", attr::sizes::C_VALUES),
    ("attr::test_run", attr::test_run::C_VALUES),
    ("attr::link_create", attr::link_create::C_VALUES),
    ("attr::batch", attr::batch::C_VALUES),
    ("btf", btf::C_VALUES),
    ("btf", btf::VERSION_C_VALUES),
    ("btf", btf::LAYOUT_C_VALUES),
    ("btf::kind", btf::kind::C_VALUES),
    ("btf::var_linkage", btf::var_linkage::C_VALUES),
    ("btf::func_linkage", btf::func_linkage::C_VALUES),
    ("btf::bits", btf::bits::C_VALUES),
    ("cmd", cmd::C_VALUES),
    ("ctx", ctx::C_VALUES),
    ("ctx::map", ctx::map::C_VALUES),
    ("elem_flags", elem_flags::C_VALUES),
    ("errno", errno::C_VALUES),
    ("errno", errno::KERNEL_C_VALUES),
    ("helper", helper::C_VALUES),
    ("info::prog_info", info::prog_info::C_VALUES),
    ("info::map_info", info::map_info::C_VALUES),
    ("info::link_info", info::link_info::C_VALUES),
    ("insn", insn::C_VALUES),
    ("insn", insn::LAYOUT_C_VALUES),
    ("insn", insn::OFF_C_VALUES),
    ("insn::atomic", insn::atomic::C_VALUES),
    ("insn::pseudo", insn::pseudo::C_VALUES),
    ("map_flags", map_flags::C_VALUES),
    ("map_type", map_type::C_VALUES),
    ("prog_flags", prog_flags::C_VALUES),
    ("prog_type", prog_type::C_VALUES),
    ("ringbuf", ringbuf::C_VALUES),
    ("ringbuf", ringbuf::HDR_C_VALUES),
    ("stats_type", stats_type::C_VALUES),
];
