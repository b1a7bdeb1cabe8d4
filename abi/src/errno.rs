//! Error codes BPF commands return that the uapi headers do not define.

c_values! { i32;
    /// The kernel's own "operation not supported" (`include/linux/errno.h`, next to
    /// `ENOIOCTLCMD` and the other codes kept from user space), which BPF commands still return
    /// to user space (a struct_ops program without its map, a ring buffer's element commands).
    /// No uapi header and no BTF knows it, so the header check lists it as not checked.
    "ENOTSUPP" => ENOTSUPP = 524;
}
