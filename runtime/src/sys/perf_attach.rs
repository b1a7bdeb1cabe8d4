//! System calls of the typed attach functions ([`crate::attach`]): `perf_event_open(2)` of
//! tracepoint, kprobe and software events, the perf ioctls that attach a program without a link,
//! `BPF_LINK_CREATE` with a kind-specific tail (kprobe_multi, netfilter), `BPF_PROG_ATTACH` /
//! `BPF_PROG_DETACH`, and `SO_ATTACH_BPF` / `SO_DETACH_BPF` on sockets.
//!
//! Attribute construction is done by pure functions ([`perf_attr`], [`link_create_attr`],
//! [`prog_attach_attr`]) so it is unit-tested without a kernel that supports the event.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::ret_owned_fd;
use crate::Errno;

/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_long = 8;
/// The `size` we declare for `struct perf_event_attr` (`PERF_ATTR_SIZE_VER7`).
const PERF_ATTR_SIZE: u64 = 128;
/// `PERF_TYPE_SOFTWARE`.
pub const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_TYPE_TRACEPOINT`.
pub const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_COUNT_SW_CPU_CLOCK`.
pub const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_EVENT_IOC_ENABLE` (`_IO('$', 0)`).
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `PERF_EVENT_IOC_DISABLE` (`_IO('$', 1)`).
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
/// `PERF_EVENT_IOC_SET_BPF` (`_IOW('$', 8, __u32)`).
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

use lskel_abi::cmd::{LINK_CREATE, PROG_ATTACH, PROG_DETACH};

/// `SO_ATTACH_BPF`, and `SO_DETACH_BPF` (= `SO_DETACH_FILTER`).
const SO_ATTACH_BPF: libc::c_int = 50;
const SO_DETACH_BPF: libc::c_int = 27;

/// The first 128 bytes of `struct perf_event_attr` as 16 words: `type`/`size` in word 0,
/// `config` in 1, `sample_period` in 2, `config1` in 7, `config2` in 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct PerfAttr(pub [u64; 16]);

/// A `perf_event_attr` of PMU `ty` with `config`, `config1` and `config2` and a sample period
/// of 1 (so a BPF program runs on every event).
pub fn perf_attr(ty: u32, config: u64, config1: u64, config2: u64) -> PerfAttr {
    let mut a = [0u64; 16];
    a[0] = u64::from(ty) | (PERF_ATTR_SIZE << 32);
    a[1] = config;
    a[2] = 1; // sample_period
    a[7] = config1;
    a[8] = config2;
    PerfAttr(a)
}

/// Where a perf event counts: `pid` (`None`: every process, on `cpu` which must then be `>= 0`).
#[derive(Debug, Clone, Copy)]
pub struct PerfScope {
    /// The process, or `None` for all.
    pub pid: Option<i32>,
    /// The CPU, or -1 for any (only with a pid).
    pub cpu: i32,
}

/// The fixed PMU types whose attrs hold no addresses: hardware, software, tracepoint,
/// hardware cache and raw events (`PERF_TYPE_HARDWARE` ..= `PERF_TYPE_RAW`).
const PERF_TYPE_MAX_PLAIN: u32 = 4;

/// `perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)` of a hardware, software,
/// tracepoint, cache or raw event (their attrs hold no addresses; other PMUs are refused with
/// `EINVAL`). The attr's `size` is always sent as 128.
pub fn perf_event_open(attr: &PerfAttr, scope: PerfScope) -> Result<OwnedFd, Errno> {
    let mut a = *attr;
    if (a.0[0] as u32) > PERF_TYPE_MAX_PLAIN {
        return Err(Errno::INVAL);
    }
    a.0[0] = (a.0[0] & 0xffff_ffff) | (PERF_ATTR_SIZE << 32);
    // SAFETY: `a` is 128 bytes and declares so; for these PMUs config1/config2 are plain
    // numbers, never read as addresses.
    unsafe { perf_open_raw(&a, scope) }
}

/// `perf_event_open` of a kprobe PMU event: `config1` is the NUL-terminated function name
/// `func` (borrowed for the call), `config2` the offset into it.
pub fn kprobe_open(
    pmu_type: u32,
    retprobe_config: u64,
    func: &CStr,
    offset: u64,
    scope: PerfScope,
) -> Result<OwnedFd, Errno> {
    let attr = perf_attr(
        pmu_type,
        retprobe_config,
        func.as_ptr() as usize as u64,
        offset,
    );
    // SAFETY: config1 points at `func`, a NUL-terminated string alive for the call.
    unsafe { perf_open_raw(&attr, scope) }
}

/// # Safety
///
/// Any pointer in `attr` (config1 of kprobe/uprobe events) must be valid for the call.
unsafe fn perf_open_raw(attr: &PerfAttr, scope: PerfScope) -> Result<OwnedFd, Errno> {
    let pid = scope.pid.unwrap_or(-1);
    // SAFETY: `attr` is a live 128-byte perf_event_attr; the caller vouches for its pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const PerfAttr,
            pid as libc::c_long,
            scope.cpu as libc::c_long,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    // SAFETY: perf_event_open returns a fresh descriptor or -1.
    unsafe { ret_owned_fd(ret) }
}

fn ioctl(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: the perf ioctls used here take an integer argument (no memory is passed).
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if ret < 0 {
        Err(Errno::last_os_error())
    } else {
        Ok(())
    }
}

/// `PERF_EVENT_IOC_SET_BPF` then `PERF_EVENT_IOC_ENABLE`: the pre-link way to run `prog` on a
/// perf event; closing the perf fd detaches it.
pub fn perf_set_bpf(event: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), Errno> {
    ioctl(
        event,
        PERF_EVENT_IOC_SET_BPF,
        prog.as_raw_fd() as libc::c_ulong,
    )?;
    ioctl(event, PERF_EVENT_IOC_ENABLE, 0)
}

/// `PERF_EVENT_IOC_DISABLE`.
pub fn perf_disable(event: BorrowedFd<'_>) -> Result<(), Errno> {
    ioctl(event, PERF_EVENT_IOC_DISABLE, 0)
}

/// The kind-specific tail of `link_create` in `union bpf_attr` (from offset 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTail {
    /// Nothing (zeros).
    None,
    /// `kprobe_multi { flags; cnt; syms; addrs; cookies }`: `syms` is a pointer to `cnt`
    /// string pointers (filled in by [`link_create_kprobe_multi`]).
    KprobeMulti {
        /// `BPF_F_KPROBE_MULTI_RETURN` (1) for return probes.
        flags: u32,
        /// Number of symbols.
        cnt: u32,
        /// Address of the array of `char *`.
        syms: u64,
    },
    /// `netfilter { pf; hooknum; priority; flags }`.
    Netfilter {
        /// Protocol family (`NFPROTO_IPV4` = 2, `NFPROTO_IPV6` = 10).
        pf: u32,
        /// The hook (`NF_INET_PRE_ROUTING` = 0, ... `NF_INET_POST_ROUTING` = 4).
        hooknum: u32,
        /// Priority among the hook's functions.
        priority: i32,
        /// `BPF_F_NETFILTER_IP_DEFRAG` (1) or 0.
        flags: u32,
    },
}

/// The first 48 bytes of `union bpf_attr` for `BPF_LINK_CREATE`, as 12 words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct LinkCreateAttr(pub [u32; 12]);

/// Builds a `BPF_LINK_CREATE` attr: `prog_fd`, `target_fd` (or ifindex), `attach_type`,
/// `flags`, then the tail.
pub fn link_create_attr(
    prog_fd: u32,
    target: u32,
    attach_type: u32,
    flags: u32,
    tail: LinkTail,
) -> LinkCreateAttr {
    let mut a = [0u32; 12];
    a[0] = prog_fd;
    a[1] = target;
    a[2] = attach_type;
    a[3] = flags;
    match tail {
        LinkTail::None => {}
        LinkTail::KprobeMulti { flags, cnt, syms } => {
            a[4] = flags;
            a[5] = cnt;
            a[6] = syms as u32;
            a[7] = (syms >> 32) as u32;
        }
        LinkTail::Netfilter {
            pf,
            hooknum,
            priority,
            flags,
        } => {
            a[4] = pf;
            a[5] = hooknum;
            a[6] = priority as u32;
            a[7] = flags;
        }
    }
    LinkCreateAttr(a)
}

/// # Safety
///
/// Pointers in `attr` must be valid for the kernel's reads.
unsafe fn bpf_raw<T>(cmd: u32, attr: &mut T) -> libc::c_long {
    // SAFETY: `attr` is a live struct of `size_of::<T>()` bytes; its pointers are the caller's.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(cmd),
            attr as *mut T,
            size_of::<T>() as libc::c_long,
        )
    }
}

/// `BPF_LINK_CREATE` of `prog` with `target` (fd or ifindex), `attach_type`, `flags` and a
/// tail without pointers (a `KprobeMulti` tail is refused: use [`link_create_kprobe_multi`]).
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: u32,
    attach_type: u32,
    flags: u32,
    tail: LinkTail,
) -> Result<OwnedFd, Errno> {
    if matches!(tail, LinkTail::KprobeMulti { .. }) {
        return Err(Errno::INVAL);
    }
    let a = link_create_attr(prog.as_raw_fd() as u32, target, attach_type, flags, tail);
    // SAFETY: the tail holds no pointers (None or Netfilter).
    unsafe { link_create_raw(a) }
}

/// `BPF_LINK_CREATE` of a built attr.
///
/// # Safety
///
/// Pointers in the attr's tail must be valid for the kernel's reads.
unsafe fn link_create_raw(mut a: LinkCreateAttr) -> Result<OwnedFd, Errno> {
    // SAFETY: the caller vouches for the tail's pointers.
    let ret = unsafe { bpf_raw(LINK_CREATE, &mut a) };
    // SAFETY: BPF_LINK_CREATE returns a fresh descriptor or -1.
    unsafe { ret_owned_fd(ret as i64) }
}

/// `BPF_TRACE_KPROBE_MULTI`.
const KPROBE_MULTI_ATTACH: u32 = lskel_abi::attach_type::TRACE_KPROBE_MULTI;

/// `BPF_LINK_CREATE` of a `BPF_TRACE_KPROBE_MULTI` link on the functions `syms`.
pub fn link_create_kprobe_multi(
    prog: BorrowedFd<'_>,
    syms: &[&CStr],
    retprobe: bool,
) -> Result<OwnedFd, Errno> {
    let ptrs: Vec<u64> = syms.iter().map(|s| s.as_ptr() as usize as u64).collect();
    let cnt = u32::try_from(ptrs.len()).map_err(|_| Errno::TOOBIG)?;
    let a = link_create_attr(
        prog.as_raw_fd() as u32,
        0,
        KPROBE_MULTI_ATTACH,
        0,
        LinkTail::KprobeMulti {
            flags: u32::from(retprobe),
            cnt,
            syms: ptrs.as_ptr() as usize as u64,
        },
    );
    // SAFETY: `syms` points at `cnt` pointers to NUL-terminated strings, all alive for the call.
    unsafe { link_create_raw(a) }
}

/// `struct { target_fd; attach_bpf_fd; attach_type; attach_flags; replace_bpf_fd; }` of
/// `BPF_PROG_ATTACH` / `BPF_PROG_DETACH`, padded to 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ProgAttachAttr(pub [u32; 8]);

/// Builds a `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` attr.
pub fn prog_attach_attr(target_fd: u32, prog_fd: u32, attach_type: u32) -> ProgAttachAttr {
    let mut a = [0u32; 8];
    a[0] = target_fd;
    a[1] = prog_fd;
    a[2] = attach_type;
    ProgAttachAttr(a)
}

/// `BPF_PROG_ATTACH` of `prog` to `target` (a map for sockmap/sockhash programs, a cgroup, ...).
pub fn prog_attach(
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> Result<(), Errno> {
    prog_attach_cmd(PROG_ATTACH, target, prog, attach_type)
}

/// `BPF_PROG_DETACH` of `prog` from `target`.
pub fn prog_detach(
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> Result<(), Errno> {
    prog_attach_cmd(PROG_DETACH, target, prog, attach_type)
}

/// `BPF_PROG_ATTACH` or `BPF_PROG_DETACH` (`cmd`): both take the same attr.
fn prog_attach_cmd(
    cmd: u32,
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> Result<(), Errno> {
    let mut a = prog_attach_attr(
        target.as_raw_fd() as u32,
        prog.as_raw_fd() as u32,
        attach_type,
    );
    // SAFETY: no pointers.
    let ret = unsafe { bpf_raw(cmd, &mut a) };
    if ret < 0 {
        Err(Errno::last_os_error())
    } else {
        Ok(())
    }
}

/// `setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd)`.
pub fn socket_attach_bpf(sock: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), Errno> {
    set_socket_int(sock, SO_ATTACH_BPF, prog.as_raw_fd())
}

/// `setsockopt(sock, SOL_SOCKET, SO_DETACH_BPF, &0)`.
pub fn socket_detach_bpf(sock: BorrowedFd<'_>) -> Result<(), Errno> {
    set_socket_int(sock, SO_DETACH_BPF, 0)
}

/// `setsockopt(sock, SOL_SOCKET, opt, &value)` of an `int` option.
fn set_socket_int(sock: BorrowedFd<'_>, opt: libc::c_int, value: libc::c_int) -> Result<(), Errno> {
    // SAFETY: the option value is a live `int` of the length given.
    let ret = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            &value as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        Err(Errno::last_os_error())
    } else {
        Ok(())
    }
}

/// `if_nametoindex(name)` in the calling thread's network namespace; `None` when there is no
/// such interface.
pub fn if_nametoindex(name: &CStr) -> Option<u32> {
    // SAFETY: `name` is a NUL-terminated string alive for the call.
    let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (i != 0).then_some(i)
}

/// A duplicate of `fd` (`F_DUPFD_CLOEXEC`), for attachments that must act on a descriptor when
/// they are dropped.
pub fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    fd.try_clone_to_owned()
        .map_err(|e| Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EBADF)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracepoint_attr() {
        let a = perf_attr(PERF_TYPE_TRACEPOINT, 1234, 0, 0);
        assert_eq!(a.0[0], 2 | (128 << 32));
        assert_eq!(a.0[1], 1234);
        assert_eq!(a.0[2], 1);
        assert!(a.0[3..].iter().all(|&w| w == 0));
        assert_eq!(size_of::<PerfAttr>(), 128);
    }

    #[test]
    fn kprobe_attr_puts_name_and_offset_in_config1_2() {
        let a = perf_attr(6, 1, 0xdead_beef, 16);
        assert_eq!(a.0[0] & 0xffff_ffff, 6);
        assert_eq!(a.0[1], 1, "retprobe bit");
        assert_eq!(a.0[7], 0xdead_beef);
        assert_eq!(a.0[8], 16);
    }

    #[test]
    fn link_create_attrs() {
        let a = link_create_attr(
            5,
            0,
            42,
            0,
            LinkTail::KprobeMulti {
                flags: 1,
                cnt: 3,
                syms: 0x1_0000_0002,
            },
        );
        assert_eq!(a.0[..8], [5, 0, 42, 0, 1, 3, 2, 1]);
        let a = link_create_attr(
            7,
            0,
            45,
            0,
            LinkTail::Netfilter {
                pf: 2,
                hooknum: 1,
                priority: -5,
                flags: 0,
            },
        );
        assert_eq!(a.0[..8], [7, 0, 45, 0, 2, 1, (-5i32) as u32, 0]);
        let a = link_create_attr(3, 9, 46, 0, LinkTail::None);
        assert_eq!(a.0, [3, 9, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(size_of::<LinkCreateAttr>(), 48);
    }

    #[test]
    fn link_create_refuses_a_pointer_tail() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let tail = LinkTail::KprobeMulti {
            flags: 0,
            cnt: 1,
            syms: 8,
        };
        assert_eq!(
            link_create(std::os::fd::AsFd::as_fd(&f), 0, 42, 0, tail).unwrap_err(),
            Errno::INVAL
        );
    }

    #[test]
    fn perf_event_open_refuses_pmus_with_addresses() {
        // A dynamic PMU type (kprobe/uprobe) would read config1 as an address.
        let a = perf_attr(9, 0, 0x1000, 0);
        let scope = PerfScope {
            pid: Some(0),
            cpu: -1,
        };
        assert_eq!(perf_event_open(&a, scope).unwrap_err(), Errno::INVAL);
    }

    #[test]
    fn prog_attach_layout() {
        assert_eq!(prog_attach_attr(3, 4, 5).0, [3, 4, 5, 0, 0, 0, 0, 0]);
    }
}
