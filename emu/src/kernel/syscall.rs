//! `bpf_sys_bpf`: reads the attr, hands it to the command's family (`maps`, `btf`, `progs`)
//! with the checks every command shares (allowed from a syscall program, size, injection),
//! and records the call.

use super::attr::{Call, A};
use super::{refuse, Cmd, Event, KResult, MockKernel, Op, Pointees, SysCall};
use crate::consts::{attr, E2BIG, EINVAL};
use crate::mem::Memory;
use crate::{Error, ErrorKind};

impl MockKernel {
    pub(super) fn sys_bpf(
        &mut self,
        cmd_raw: u32,
        ptr: u64,
        size: u32,
        mem: &mut Memory,
        pc: usize,
    ) -> Result<u64, Error> {
        let attr = mem
            .read(ptr, u64::from(size))
            .map_err(|f| {
                Error::at(
                    pc,
                    ErrorKind::Memory,
                    format!(
                        "bpf_sys_bpf attr ({size} bytes) at {}: {}",
                        mem.describe(f.addr),
                        f.why
                    ),
                )
            })?
            .to_vec();
        let cmd = Cmd::from_raw(cmd_raw);
        let mut p = Pointees::default();
        let mut injected = false;
        self.log_written = 0;
        let res = self.bpf_cmd(cmd, &attr, mem, &mut p, pc, &mut injected)?;
        // The kernel reports what it wrote to the log (0: nothing) when the attr reaches
        // `log_true_size`.
        let true_size = match cmd {
            Cmd::ProgLoad => Some(attr::prog_load::LOG_TRUE_SIZE),
            Cmd::BtfLoad => Some(attr::btf_load::LOG_TRUE_SIZE),
            _ => None,
        };
        if let Some(off) = true_size.filter(|&off| size as usize >= off + 4) {
            mem.write(ptr + off as u64, &self.log_written.to_le_bytes())
                .map_err(|f| Error::at(pc, ErrorKind::Memory, format!("log_true_size: {f}")))?;
        }
        let (ret, refused) = match res {
            Ok(v) => (v, None),
            Err((e, why)) => (-i64::from(e), Some(why)),
        };
        self.syscalls.push(SysCall {
            insn: pc,
            cmd,
            attr,
            size,
            ret,
            injected,
            refused,
            mem: p,
        });
        self.events.push(Event::Bpf(self.syscalls.len() - 1));
        Ok(ret as u64)
    }

    fn bpf_cmd(
        &mut self,
        cmd: Cmd,
        raw: &[u8],
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        injected: &mut bool,
    ) -> KResult {
        let end = match cmd {
            Cmd::MapCreate => attr::map_create::END,
            Cmd::MapUpdateElem | Cmd::MapDeleteElem => attr::map_elem::END,
            Cmd::MapFreeze => attr::map_freeze::END,
            Cmd::BtfLoad => attr::btf_load::END,
            Cmd::ProgLoad => attr::prog_load::END,
            Cmd::MapGetFdById | Cmd::LinkCreate | Cmd::RawTracepointOpen => {
                return Err(Error::at(
                    pc,
                    ErrorKind::Kernel,
                    format!(
                    "{cmd:?} is allowed in syscall programs but not implemented by the mock kernel"
                ),
                ))
            }
            _ => {
                let inj = self.inject(Op::Bpf(cmd));
                *injected = inj.is_some();
                return refuse(
                    inj.unwrap_or(EINVAL),
                    format!("{cmd:?} is not allowed from a syscall program"),
                );
            }
        };
        if raw.len() > 4096 {
            return refuse(E2BIG, "attr larger than a page");
        }
        let mut a = raw.to_vec();
        a.resize(a.len().max(end), 0);
        let inj = self.inject(Op::Bpf(cmd));
        *injected = inj.is_some();
        let c = &mut Call {
            a: A(a),
            mem,
            p,
            pc,
            inj,
            tail_zero: raw.iter().skip(end).all(|&b| b == 0),
        };
        match cmd {
            Cmd::MapCreate => self.map_create(c),
            Cmd::MapUpdateElem => self.map_update(c),
            Cmd::MapDeleteElem => self.map_delete(c),
            Cmd::MapFreeze => self.map_freeze(c),
            Cmd::BtfLoad => self.btf_load(c),
            Cmd::ProgLoad => self.prog_load(c),
            _ => unreachable!(),
        }
    }
}
