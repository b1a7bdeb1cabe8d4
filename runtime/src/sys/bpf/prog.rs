//! Program commands: `BPF_PROG_LOAD` and `BPF_PROG_BIND_MAP`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::BPF_OBJ_NAME_LEN;
use super::{cmd, fd_u32, len_u32, obj_name, ptr_u64, slice_ptr, sys_bpf_fd, sys_bpf_unit};
use crate::Errno;

/// `struct { prog_fd; map_fd; flags; } prog_bind_map` of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgBindMapRaw {
    prog_fd: u32,
    map_fd: u32,
    flags: u32,
}

/// `bpf(BPF_PROG_BIND_MAP, …)`: keeps `map` alive as long as `prog`, and lists it in the
/// program's `map_ids`, even if no instruction refers to it.
pub fn prog_bind_map(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut raw = ProgBindMapRaw {
        prog_fd: prog.as_raw_fd() as u32,
        map_fd: map.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: no pointers.
    unsafe { sys_bpf_unit(cmd::BPF_PROG_BIND_MAP, &mut raw) }
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadRaw {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_btf_obj_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    log_true_size: u32,
    prog_token_fd: i32,
    fd_array_cnt: u32,
    signature: u64,
    signature_size: u32,
    keyring_id: i32,
}

/// Arguments of `BPF_PROG_LOAD`. `Default` gives an empty program of type 0.
#[derive(Debug, Default)]
pub struct ProgLoadAttr<'a> {
    /// `prog_type`: one of `enum bpf_prog_type`.
    pub prog_type: u32,
    /// Raw `struct bpf_insn` bytes; the length must be a multiple of 8.
    pub insns: &'a [u8],
    /// `license`.
    pub license: Option<&'a CStr>,
    /// `log_level` (0: no log; 1: verbose on failure; 2: full; 4: stats).
    pub log_level: u32,
    /// `log_buf` / `log_size`: the verifier log buffer.
    pub log_buf: Option<&'a mut [u8]>,
    /// `kern_version` (unused by modern kernels).
    pub kern_version: u32,
    /// `prog_flags` (`BPF_F_SLEEPABLE`, …).
    pub prog_flags: u32,
    /// `prog_name`, truncated to 15 bytes.
    pub name: &'a str,
    /// `prog_ifindex` (device offload).
    pub prog_ifindex: u32,
    /// `expected_attach_type`.
    pub expected_attach_type: u32,
    /// `prog_btf_fd`: the object's BTF.
    pub prog_btf_fd: Option<BorrowedFd<'a>>,
    /// `func_info` records (`func_info_cnt` = len / `func_info_rec_size`).
    pub func_info: &'a [u8],
    /// `func_info_rec_size`.
    pub func_info_rec_size: u32,
    /// `line_info` records.
    pub line_info: &'a [u8],
    /// `line_info_rec_size`.
    pub line_info_rec_size: u32,
    /// `attach_btf_id`.
    pub attach_btf_id: u32,
    /// `attach_btf_obj_fd` / `attach_prog_fd` (a union in the kernel).
    pub attach_fd: Option<BorrowedFd<'a>>,
    /// `core_relos` records.
    pub core_relos: &'a [u8],
    /// `core_relo_rec_size`.
    pub core_relo_rec_size: u32,
    /// `fd_array` (empty: NULL). Raw descriptor numbers; the kernel checks each one it uses.
    pub fd_array: &'a [RawFd],
    /// `fd_array_cnt`: bind the first `fd_array_cnt` maps of `fd_array` (0: only those referenced).
    pub fd_array_cnt: u32,
    /// `signature` (empty: unsigned).
    pub signature: &'a [u8],
    /// `keyring_id`.
    pub keyring_id: i32,
    /// Output: `log_true_size`, the log length the kernel needed, NUL included.
    pub log_true_size: u32,
}

fn rec_cnt(bytes: &[u8], rec_size: u32) -> Result<u32, Errno> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if rec_size == 0 || bytes.len() % rec_size as usize != 0 {
        return Err(Errno::INVAL);
    }
    len_u32(bytes.len() / rec_size as usize)
}

/// `bpf(BPF_PROG_LOAD, …)`: verifies and loads a program. Sets `attr.log_true_size`.
///
/// # References
///
/// - [bpf(2)](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn prog_load(attr: &mut ProgLoadAttr<'_>) -> Result<OwnedFd, Errno> {
    if attr.insns.len() % 8 != 0 || (attr.fd_array_cnt as usize) > attr.fd_array.len() {
        return Err(Errno::INVAL);
    }
    let (log_buf, log_size) = match attr.log_buf.as_deref_mut() {
        Some(buf) if !buf.is_empty() => (ptr_u64(buf.as_mut_ptr()), len_u32(buf.len())?),
        _ => (0, 0),
    };
    let mut raw = ProgLoadRaw {
        prog_type: attr.prog_type,
        insn_cnt: len_u32(attr.insns.len() / 8)?,
        insns: slice_ptr(attr.insns),
        license: attr.license.map_or(0, |l| ptr_u64(l.as_ptr())),
        log_level: attr.log_level,
        log_size,
        log_buf,
        kern_version: attr.kern_version,
        prog_flags: attr.prog_flags,
        prog_name: obj_name(attr.name),
        prog_ifindex: attr.prog_ifindex,
        expected_attach_type: attr.expected_attach_type,
        prog_btf_fd: fd_u32(attr.prog_btf_fd),
        func_info_rec_size: attr.func_info_rec_size,
        func_info: slice_ptr(attr.func_info),
        func_info_cnt: rec_cnt(attr.func_info, attr.func_info_rec_size)?,
        line_info_rec_size: attr.line_info_rec_size,
        line_info: slice_ptr(attr.line_info),
        line_info_cnt: rec_cnt(attr.line_info, attr.line_info_rec_size)?,
        attach_btf_id: attr.attach_btf_id,
        attach_btf_obj_fd: fd_u32(attr.attach_fd),
        core_relo_cnt: rec_cnt(attr.core_relos, attr.core_relo_rec_size)?,
        fd_array: if attr.fd_array.is_empty() {
            0
        } else {
            ptr_u64(attr.fd_array.as_ptr())
        },
        core_relos: slice_ptr(attr.core_relos),
        core_relo_rec_size: attr.core_relo_rec_size,
        log_true_size: 0,
        prog_token_fd: 0,
        fd_array_cnt: attr.fd_array_cnt,
        signature: slice_ptr(attr.signature),
        signature_size: len_u32(attr.signature.len())?,
        keyring_id: attr.keyring_id,
    };
    if raw.log_level != 0 && raw.log_buf == 0 {
        return Err(Errno::INVAL);
    }
    // SAFETY: every pointer comes from a slice or CStr borrowed for this call, with its count/size field
    // derived from the same slice (insns: len/8 records of 8 bytes; info records: len/rec_size; the log
    // buffer, the only one written: its length). `fd_array` is only read, at the indices the program
    // names; an index past the slice makes the kernel read (never write) other memory of this process or
    // fail with EFAULT, which cannot break Rust's invariants.
    let res = unsafe { sys_bpf_fd(cmd::BPF_PROG_LOAD, &mut raw) };
    attr.log_true_size = raw.log_true_size;
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_sizes_match_uapi() {
        use lskel_abi::attr::{prog_load, sizes};
        assert_eq!(size_of::<ProgLoadRaw>(), sizes::PROG_LOAD);
        assert_eq!(offset_of!(ProgLoadRaw, fd_array), prog_load::FD_ARRAY);
        assert_eq!(
            offset_of!(ProgLoadRaw, core_relo_rec_size),
            prog_load::CORE_RELO_REC_SIZE
        );
        assert_eq!(
            offset_of!(ProgLoadRaw, log_true_size),
            prog_load::LOG_TRUE_SIZE
        );
        assert_eq!(offset_of!(ProgLoadRaw, keyring_id), prog_load::KEYRING_ID);
        assert_eq!(size_of::<ProgBindMapRaw>(), sizes::PROG_BIND_MAP);
    }
}
