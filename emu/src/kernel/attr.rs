//! Reading what a command is given: the attr (padded to its command's size), the kernel
//! memory its pointers reach, the object names and log attributes every load checks, and the
//! log the kernel writes back to user memory.

use super::MockKernel;
use crate::mem::{Memory, USER_BASE};
use crate::{Error, ErrorKind};

/// An attr padded with zeros to its command's full size.
pub(super) struct A(pub(super) Vec<u8>);

impl A {
    pub(super) fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.0[off..off + 4].try_into().expect("4 bytes"))
    }
    pub(super) fn i32(&self, off: usize) -> i32 {
        self.u32(off) as i32
    }
    pub(super) fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.0[off..off + 8].try_into().expect("8 bytes"))
    }
}

pub(super) fn valid_obj_name(b: &[u8]) -> Result<String, String> {
    let Some(end) = b.iter().position(|&c| c == 0) else {
        return Err("name is not NUL-terminated within 16 bytes".into());
    };
    let name = &b[..end];
    if let Some(c) = name
        .iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.'))
    {
        return Err(format!(
            "name {:?} has invalid character {:?}",
            String::from_utf8_lossy(name),
            *c as char
        ));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

pub(super) fn log_attrs_valid(level: u32, size: u32, buf: u64) -> Result<(), String> {
    if (buf != 0) != (size != 0) {
        return Err(format!(
            "log_buf {buf:#x} and log_size {size} must be set together"
        ));
    }
    if buf != 0 && level == 0 {
        return Err("log_buf without log_level".into());
    }
    if level & !0x7 != 0 {
        return Err(format!("log_level {level:#x} has unknown bits"));
    }
    if size > u32::MAX >> 2 {
        return Err("log_size too large".into());
    }
    Ok(())
}

impl MockKernel {
    pub(super) fn read_ptr(
        mem: &Memory,
        addr: u64,
        len: u64,
        what: &str,
        pc: usize,
    ) -> Result<Vec<u8>, Error> {
        if mem.kind_of(addr).is_none() && (USER_BASE..USER_BASE + (1 << 40)).contains(&addr) {
            return Err(Error::at(
                pc,
                ErrorKind::Kernel,
                format!("{what} {addr:#x} is a user pointer, but bpf_sys_bpf reads attr pointers as kernel memory"),
            ));
        }
        mem.read(addr, len).map(<[u8]>::to_vec).map_err(|f| {
            Error::at(
                pc,
                ErrorKind::Memory,
                format!(
                    "the kernel reads {what} ({len} bytes) at {}: {}",
                    mem.describe(f.addr),
                    f.why
                ),
            )
        })
    }

    pub(super) fn read_ptr_cstr(
        mem: &Memory,
        addr: u64,
        max: usize,
        what: &str,
        pc: usize,
    ) -> Result<Vec<u8>, Error> {
        Self::read_ptr(mem, addr, 0, what, pc)?;
        mem.read_cstr(addr, max).map_err(|f| {
            Error::at(
                pc,
                ErrorKind::Memory,
                format!(
                    "the kernel reads {what} at {}: {}",
                    mem.describe(addr),
                    f.why
                ),
            )
        })
    }

    pub(super) fn write_log(
        &mut self,
        buf: u64,
        size: u32,
        msg: &str,
        pc: usize,
    ) -> Result<(), Error> {
        if buf == 0 || size == 0 {
            return Ok(());
        }
        if self.user.kind_of(buf).is_none() {
            return Err(Error::at(
                pc,
                ErrorKind::Kernel,
                format!("log_buf {buf:#x} is not user memory (the kernel copy_to_user()s the log)"),
            ));
        }
        let mut text = msg.as_bytes().to_vec();
        text.truncate(size as usize - 1);
        text.push(0);
        self.log_written = text.len() as u32;
        self.user
            .write(buf, &text)
            .map_err(|f| Error::at(pc, ErrorKind::Kernel, format!("log_buf: {f}")))
    }
}
