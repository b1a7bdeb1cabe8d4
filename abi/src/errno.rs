//! The error codes lskel's loader returns and its emulator gives (`asm-generic/errno*.h`, as
//! on x86_64 and most other architectures), and `ENOTSUPP`, which no uapi header has.

c_values! { i32;
    "EPERM" => EPERM = 1;
    "ENOENT" => ENOENT = 2;
    "EINTR" => EINTR = 4;
    "EIO" => EIO = 5;
    "E2BIG" => E2BIG = 7;
    "EBADF" => EBADF = 9;
    "EAGAIN" => EAGAIN = 11;
    "ENOMEM" => ENOMEM = 12;
    "EACCES" => EACCES = 13;
    "EFAULT" => EFAULT = 14;
    "EBUSY" => EBUSY = 16;
    "EEXIST" => EEXIST = 17;
    "EINVAL" => EINVAL = 22;
    "EMFILE" => EMFILE = 24;
    "ENOSPC" => ENOSPC = 28;
    "ERANGE" => ERANGE = 34;
    "ENAMETOOLONG" => ENAMETOOLONG = 36;
    "EPROTO" => EPROTO = 71;
    "EBADMSG" => EBADMSG = 74;
    "EOPNOTSUPP" => EOPNOTSUPP = 95;
}

c_values! { table KERNEL_C_VALUES; i32;
    /// The kernel's own "operation not supported" (`include/linux/errno.h`, next to
    /// `ENOIOCTLCMD` and the other codes meant to stay inside the kernel), which BPF commands
    /// still return to user space (a struct_ops program without its map, a ring buffer's
    /// element commands). No uapi header and no BTF knows it, so the header check lists it as
    /// not checked.
    "ENOTSUPP" => ENOTSUPP = 524;
}
