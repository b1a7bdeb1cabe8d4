//! The helpers a loader may call, one method each; `bpf_sys_bpf` hands over to the command
//! dispatch in `syscall`. Every call leaves an [`Event`].

use super::{Event, MockKernel, Object, Op};
use crate::consts::{helper, EBADF, EFAULT, EINVAL, ENOENT};
use crate::mem::{Fault, Memory};
use crate::vm::Args;
use crate::{Error, ErrorKind};

/// The call being served: where it is and which helper, for the errors it raises.
#[derive(Clone, Copy)]
struct Site {
    pc: usize,
    id: i32,
}

impl Site {
    /// The helper touched memory it may not: a loader bug, named with the argument.
    fn fault(self, what: &str, f: Fault, mem: &Memory) -> Error {
        Error::at(
            self.pc,
            ErrorKind::Memory,
            format!(
                "helper #{} {what} at {}: {}",
                self.id,
                mem.describe(f.addr),
                f.why
            ),
        )
    }
}

/// The name in `b` up to its first NUL (all of `b` without one), lossily as UTF-8.
fn c_name(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl MockKernel {
    pub(crate) fn call_helper(
        &mut self,
        id: i32,
        a: &Args,
        mem: &mut Memory,
        pc: usize,
    ) -> Result<u64, Error> {
        let site = Site { pc, id };
        match id {
            helper::TRACE_PRINTK => self.trace_printk(a, mem, site),
            helper::PROBE_READ_KERNEL => self.probe_read_kernel(a, mem, site),
            helper::COPY_FROM_USER => self.copy_from_user(a, mem, site),
            helper::SYS_BPF => {
                let (cmd, ptr, size) = (a.get(1)? as u32, a.get(2)?, a.get(3)? as u32);
                self.sys_bpf(cmd, ptr, size, mem, pc)
            }
            helper::BTF_FIND_BY_NAME_KIND => self.btf_find_by_name_kind(a, mem, site),
            helper::SYS_CLOSE => self.sys_close(a, pc),
            helper::KALLSYMS_LOOKUP_NAME => self.kallsyms_lookup_name(a, mem, site),
            _ => Err(Error::at(
                pc,
                ErrorKind::Helper,
                format!("helper #{id} is not one the loader may call"),
            )),
        }
    }

    /// `bpf_trace_printk(fmt, fmt_size, ...)`: records the format; returns its length.
    fn trace_printk(&mut self, a: &Args, mem: &Memory, site: Site) -> Result<u64, Error> {
        let (p, n) = (a.get(1)?, a.get(2)? as u32);
        let b = mem
            .read(p, u64::from(n))
            .map_err(|f| site.fault("fmt", f, mem))?;
        let fmt = c_name(b);
        let args = [0, 0, 0];
        let len = fmt.len() as u64;
        self.events.push(Event::TracePrintk {
            insn: site.pc,
            fmt,
            args,
        });
        Ok(len)
    }

    /// `bpf_probe_read_kernel(dst, size, src)`: a copy from the loader's own memory, zeros
    /// and -EFAULT for any other address.
    fn probe_read_kernel(&mut self, a: &Args, mem: &mut Memory, site: Site) -> Result<u64, Error> {
        let (dst, size, src) = (a.get(1)?, a.get(2)? as u32, a.get(3)?);
        let inj = self.inject(Op::ProbeReadKernel);
        let data = match (inj, mem.read(src, u64::from(size))) {
            (None, Ok(b)) if size == 0 || mem.kind_of(src).is_some() => Some(b.to_vec()),
            _ => None,
        };
        let ret = match (&data, inj) {
            (_, Some(e)) => -i64::from(e),
            (Some(_), None) => 0,
            (None, None) => -i64::from(EFAULT),
        };
        let bytes = data.unwrap_or_else(|| vec![0; size as usize]);
        mem.write(dst, &bytes)
            .map_err(|f| site.fault("dst", f, mem))?;
        self.events.push(Event::ProbeReadKernel {
            insn: site.pc,
            dst,
            size,
            src,
            ret,
        });
        Ok(ret as u64)
    }

    /// `bpf_copy_from_user(dst, size, user_ptr)`: a copy from registered user memory, zeros
    /// and -EFAULT for an address outside it.
    fn copy_from_user(&mut self, a: &Args, mem: &mut Memory, site: Site) -> Result<u64, Error> {
        let (dst, size, src) = (a.get(1)?, a.get(2)? as u32, a.get(3)?);
        mem.read(dst, u64::from(size))
            .map_err(|f| site.fault("dst", f, mem))?;
        let inj = self.inject(Op::CopyFromUser);
        let (ret, bytes) = match inj {
            Some(e) => (-i64::from(e), vec![0; size as usize]),
            None => match self.user.read(src, u64::from(size)) {
                Ok(b) => (0, b.to_vec()),
                Err(_) => (-i64::from(EFAULT), vec![0; size as usize]),
            },
        };
        mem.write(dst, &bytes)
            .map_err(|f| site.fault("dst", f, mem))?;
        self.events.push(Event::CopyFromUser {
            insn: site.pc,
            dst,
            size,
            src,
            ret,
            injected: inj.is_some(),
        });
        Ok(ret as u64)
    }

    /// `bpf_btf_find_by_name_kind(name, name_sz, kind, flags)`: the id in vmlinux, or a new
    /// fd of the module's BTF in the upper 32 bits with the id in the lower.
    fn btf_find_by_name_kind(&mut self, a: &Args, mem: &Memory, site: Site) -> Result<u64, Error> {
        let (p, n, k, flags) = (a.get(1)?, a.get(2)? as u32, a.get(3)? as u32, a.get(4)?);
        let b = mem
            .read(p, u64::from(n))
            .map_err(|f| site.fault("name", f, mem))?
            .to_vec();
        let name = c_name(&b);
        let inj = self.inject(Op::BtfFindByNameKind);
        let ret = if let Some(e) = inj {
            -i64::from(e)
        } else if flags as u32 != 0 || n <= 1 || b[n as usize - 1] != 0 {
            -i64::from(EINVAL)
        } else if let Some(t) = self.vmlinux.iter().find(|t| t.0 == name && t.1 == k) {
            i64::from(t.2)
        } else if let Some((m, id)) = self.modules.iter().enumerate().find_map(|(m, md)| {
            md.types
                .iter()
                .find(|t| t.0 == name && t.1 == k)
                .map(|t| (m, t.2))
        }) {
            match self.alloc_fd(Object::ModuleBtf(m)) {
                Ok(fd) => (fd << 32) | i64::from(id),
                Err((e, _)) => -i64::from(e),
            }
        } else {
            -i64::from(ENOENT)
        };
        self.events.push(Event::BtfFind {
            insn: site.pc,
            name,
            kind: k,
            flags,
            ret,
            injected: inj.is_some(),
        });
        Ok(ret as u64)
    }

    /// `bpf_sys_close(fd)`. Closing stdio is a loader bug: it never opened those.
    fn sys_close(&mut self, a: &Args, pc: usize) -> Result<u64, Error> {
        let fd = a.get(1)? as u32 as i32;
        if (0..=2).contains(&fd) {
            return Err(Error::at(
                pc,
                ErrorKind::Kernel,
                format!("the loader closes fd {fd} (stdio), which it did not create"),
            ));
        }
        let ret = if let Some(e) = self.inject(Op::Close) {
            // The fd is closed anyway, as with close(2) returning EINTR/EIO.
            self.fds.remove(&fd);
            -i64::from(e)
        } else if self.fds.remove(&fd).is_some() {
            0
        } else {
            -i64::from(EBADF)
        };
        self.events.push(Event::Close { insn: pc, fd, ret });
        Ok(ret as u64)
    }

    /// `bpf_kallsyms_lookup_name(name, name_sz, flags, res)`: writes the address to `*res`
    /// (0 when not found).
    fn kallsyms_lookup_name(
        &mut self,
        a: &Args,
        mem: &mut Memory,
        site: Site,
    ) -> Result<u64, Error> {
        let (p, n, flags, res) = (a.get(1)?, a.get(2)? as u32, a.get(3)?, a.get(4)?);
        let b = mem
            .read(p, u64::from(n))
            .map_err(|f| site.fault("name", f, mem))?
            .to_vec();
        mem.read(res, 8).map_err(|f| site.fault("res", f, mem))?;
        let name = c_name(&b);
        let inj = self.inject(Op::KallsymsLookupName);
        let (ret, addr) = if let Some(e) = inj {
            (-i64::from(e), 0)
        } else if flags != 0 || n <= 1 || b[n as usize - 1] != 0 {
            (-i64::from(EINVAL), 0)
        } else {
            match self.kallsyms.get(&name) {
                Some(&addr) => (0, addr),
                None => (-i64::from(ENOENT), 0),
            }
        };
        mem.write_uint(res, 8, addr)
            .map_err(|f| site.fault("res", f, mem))?;
        self.events.push(Event::Kallsyms {
            insn: site.pc,
            name,
            ret,
            addr,
            injected: inj.is_some(),
        });
        Ok(ret as u64)
    }
}
