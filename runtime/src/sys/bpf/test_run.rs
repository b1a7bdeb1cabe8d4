//! `BPF_PROG_TEST_RUN`: runs a program once (or many times) on input the caller gives.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd};

use super::{cmd, len_u32, ptr_u64, slice_ptr, sys_bpf_unit};
use crate::Errno;

#[repr(C)]
#[derive(Default)]
struct TestRunRaw {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Arguments of `BPF_PROG_TEST_RUN`.
#[derive(Debug, Default)]
pub struct TestRunAttr<'a> {
    /// `data_in` / `data_size_in`.
    pub data_in: &'a [u8],
    /// `data_out` / `data_size_out`.
    pub data_out: Option<&'a mut [u8]>,
    /// `ctx_in` / `ctx_size_in`. Mutable: for `BPF_PROG_TYPE_SYSCALL` the kernel copies the context
    /// back into this buffer after the run.
    pub ctx_in: Option<&'a mut [u8]>,
    /// `ctx_out` / `ctx_size_out`.
    pub ctx_out: Option<&'a mut [u8]>,
    /// `repeat`.
    pub repeat: u32,
    /// `flags`.
    pub flags: u32,
    /// `cpu`.
    pub cpu: u32,
    /// `batch_size`.
    pub batch_size: u32,
}

/// What `BPF_PROG_TEST_RUN` reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRunOutput {
    /// `retval`: the program's return value (`r0`, truncated to 32 bits).
    pub retval: u32,
    /// `duration` in ns (average per repetition).
    pub duration: u32,
    /// `data_size_out`.
    pub data_size_out: u32,
    /// `ctx_size_out`.
    pub ctx_size_out: u32,
}

/// `bpf(BPF_PROG_TEST_RUN, …)`: runs a program once (or `repeat` times) on the given input.
pub fn prog_test_run(prog: BorrowedFd<'_>, attr: TestRunAttr<'_>) -> Result<TestRunOutput, Errno> {
    fn out(buf: &mut Option<&mut [u8]>) -> Result<(u64, u32), Errno> {
        match buf.as_deref_mut() {
            Some(b) if !b.is_empty() => Ok((ptr_u64(b.as_mut_ptr()), len_u32(b.len())?)),
            _ => Ok((0, 0)),
        }
    }
    let mut attr = attr;
    let (data_out, data_size_out) = out(&mut attr.data_out)?;
    let (ctx_in, ctx_size_in) = out(&mut attr.ctx_in)?;
    let (ctx_out, ctx_size_out) = out(&mut attr.ctx_out)?;
    let mut raw = TestRunRaw {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: len_u32(attr.data_in.len())?,
        data_in: slice_ptr(attr.data_in),
        data_size_out,
        data_out,
        repeat: attr.repeat,
        ctx_size_in,
        ctx_in,
        ctx_size_out,
        ctx_out,
        flags: attr.flags,
        cpu: attr.cpu,
        batch_size: attr.batch_size,
        ..Default::default()
    };
    // SAFETY: each pointer comes from a slice borrowed (mutably, where the kernel writes) for this call,
    // with its size field taken from the same slice.
    unsafe { sys_bpf_unit(cmd::BPF_PROG_TEST_RUN, &mut raw) }?;
    Ok(TestRunOutput {
        retval: raw.retval,
        duration: raw.duration,
        data_size_out: raw.data_size_out,
        ctx_size_out: raw.ctx_size_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_sizes_match_uapi() {
        use lskel_abi::attr::{sizes, test_run};
        assert_eq!(size_of::<TestRunRaw>(), sizes::TEST_RUN);
        assert_eq!(offset_of!(TestRunRaw, ctx_in), test_run::CTX_IN);
        assert_eq!(offset_of!(TestRunRaw, batch_size), test_run::BATCH_SIZE);
    }
}
