//! `map_flags` bits of `BPF_MAP_CREATE`, by kernel name without `BPF_F_`.

c_values! { u32;
    "BPF_F_NO_PREALLOC" => NO_PREALLOC = 1 << 0;
    "BPF_F_NUMA_NODE" => NUMA_NODE = 1 << 2;
    /// Read-only for the syscall side.
    "BPF_F_RDONLY" => RDONLY = 1 << 3;
    "BPF_F_WRONLY" => WRONLY = 1 << 4;
    /// Read-only for programs.
    "BPF_F_RDONLY_PROG" => RDONLY_PROG = 1 << 7;
    "BPF_F_WRONLY_PROG" => WRONLY_PROG = 1 << 8;
    /// The array can be `mmap`ed.
    "BPF_F_MMAPABLE" => MMAPABLE = 1 << 10;
    /// A struct_ops map attached through a link.
    "BPF_F_LINK" => LINK = 1 << 13;
}
