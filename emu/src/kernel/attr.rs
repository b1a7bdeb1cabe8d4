//! Reading what a command is given: the call ([`Call`]: the attr padded to its command's
//! size, the kernel memory its pointers reach, the checks every command makes first), the
//! object names and log attributes every load checks, and the log the kernel writes back to
//! user memory.

use super::{MockKernel, Pointees, Refusal};
use crate::consts::EINVAL;
use crate::mem::{Memory, USER_BASE};
use crate::{Error, ErrorKind};

/// One command's call, as every command handler takes it.
pub(super) struct Call<'c> {
    /// The attr, zero-padded to the command's full size.
    pub(super) a: A,
    /// The loader's memory, where the attr's pointers lead.
    pub(super) mem: &'c Memory,
    /// What the kernel read through those pointers, recorded with the call.
    pub(super) p: &'c mut Pointees,
    /// The loader instruction that made the call.
    pub(super) pc: usize,
    /// The failure injected into this call, if any.
    pub(super) inj: Option<i32>,
    /// Whether the attr's bytes past the command's last field (6.18) are zero.
    pub(super) tail_zero: bool,
}

impl Call<'_> {
    /// Reads `len` bytes at `addr`, as the kernel reads an attr pointer (`what` names it).
    pub(super) fn read(&self, addr: u64, len: u64, what: &str) -> Result<Vec<u8>, Error> {
        MockKernel::read_ptr(self.mem, addr, len, what, self.pc)
    }

    /// The refusals every command gives before its own checks: the injected failure, then
    /// non-zero bytes past `last`, the command's last field.
    pub(super) fn admitted(&self, last: &str) -> Result<(), Refusal> {
        if let Some(e) = self.inj {
            return Err((e, "injected".into()));
        }
        ensure!(
            self.tail_zero,
            EINVAL,
            "attr bytes beyond {last} are not zero"
        );
        Ok(())
    }

    /// The log attributes of a load, at the command's offsets of `log_level`, `log_size` and
    /// `log_buf`.
    pub(super) fn log(&self, level: usize, size: usize, buf: usize) -> Log {
        Log {
            level: self.a.u32(level),
            size: self.a.u32(size),
            buf: self.a.u64(buf),
        }
    }
}

/// A load's log attributes: where the kernel writes why it refused.
#[derive(Clone, Copy)]
pub(super) struct Log {
    pub(super) level: u32,
    pub(super) size: u32,
    pub(super) buf: u64,
}

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

impl Log {
    /// The kernel's checks of the three together.
    pub(super) fn valid(self) -> Result<(), String> {
        let Log { level, size, buf } = self;
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

    pub(super) fn write_log(&mut self, log: Log, msg: &str, pc: usize) -> Result<(), Error> {
        let Log { size, buf, .. } = log;
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
