//! Helper function ids (`enum bpf_func_id`) lskel calls or names, by kernel name without
//! `BPF_FUNC_`, upper-cased.

c_values! { i32;
    "BPF_FUNC_trace_printk" => TRACE_PRINTK = 6;
    "BPF_FUNC_probe_read_kernel" => PROBE_READ_KERNEL = 113;
    "BPF_FUNC_copy_from_user" => COPY_FROM_USER = 148;
    "BPF_FUNC_sys_bpf" => SYS_BPF = 166;
    "BPF_FUNC_btf_find_by_name_kind" => BTF_FIND_BY_NAME_KIND = 167;
    "BPF_FUNC_sys_close" => SYS_CLOSE = 168;
    "BPF_FUNC_get_attach_cookie" => GET_ATTACH_COOKIE = 174;
    "BPF_FUNC_kallsyms_lookup_name" => KALLSYMS_LOOKUP_NAME = 179;
    "BPF_FUNC_loop" => LOOP = 181;
}

/// The C name of helper `id` (`bpf_sys_bpf`), for the helpers above.
pub const fn name(id: i32) -> Option<&'static str> {
    Some(match id {
        TRACE_PRINTK => "bpf_trace_printk",
        PROBE_READ_KERNEL => "bpf_probe_read_kernel",
        COPY_FROM_USER => "bpf_copy_from_user",
        SYS_BPF => "bpf_sys_bpf",
        BTF_FIND_BY_NAME_KIND => "bpf_btf_find_by_name_kind",
        SYS_CLOSE => "bpf_sys_close",
        GET_ATTACH_COOKIE => "bpf_get_attach_cookie",
        KALLSYMS_LOOKUP_NAME => "bpf_kallsyms_lookup_name",
        LOOP => "bpf_loop",
        _ => return None,
    })
}
