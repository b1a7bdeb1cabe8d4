//! `bpf_loop` (helper 181): the callback is a subprogram whose address an `ld_imm64` with
//! `src_reg` BPF_PSEUDO_FUNC loaded; each iteration runs it in a frame of its own, as a
//! bpf-to-bpf call, with r1 = the index and r2 = the callback ctx, until it returns 1 or the
//! count is reached. Its return must be 0 or 1 (the verifier's rule for this callback).

use super::*;
use crate::consts::{E2BIG, EINVAL};

/// Tagged address of subprogram `pc` (what an `ld_imm64` of BPF_PSEUDO_FUNC gives).
pub(super) const FUNC_BASE: u64 = 0xffff_ca00_0000_0000;
/// The return pc of a callback's frame: `exec` stops there and gives r0.
pub(super) const LOOP_RETURN: usize = usize::MAX;
/// `BPF_MAX_LOOPS`: the kernel refuses more iterations (-E2BIG).
const MAX_LOOPS: u64 = 1 << 23;

impl Vm {
    /// The address an `ld_imm64` of BPF_PSEUDO_FUNC with `imm` at `pc` loads.
    pub(super) fn func_addr(&self, pc: usize, imm: i32) -> Result<u64, Error> {
        Ok(FUNC_BASE + self.target(pc, i64::from(imm))? as u64)
    }

    /// `r0 = bpf_loop(nr_loops, callback, callback_ctx, flags)`; returns the next pc.
    pub(super) fn bpf_loop(&mut self, pc: usize, k: &mut MockKernel) -> Result<usize, Error> {
        let (nr, func, cb_ctx, flags) = (
            self.get(pc, 1)?,
            self.get(pc, 2)?,
            self.get(pc, 3)?,
            self.get(pc, 4)?,
        );
        let start = func
            .checked_sub(FUNC_BASE)
            .map(|t| t as usize)
            .filter(|&t| t < self.insns.len())
            .ok_or_else(|| {
                Error::at(
                    pc,
                    ErrorKind::Helper,
                    format!("bpf_loop callback {func:#x} is not a subprogram address (ld_imm64 src_reg 4)"),
                )
            })?;
        let ret = if flags != 0 {
            -i64::from(EINVAL) as u64
        } else if nr > MAX_LOOPS {
            -i64::from(E2BIG) as u64
        } else {
            let mut done = 0;
            for i in 0..nr {
                done += 1;
                match self.callback(pc, start, i, cb_ctx, k)? {
                    0 => {}
                    1 => break,
                    r => {
                        return Err(Error::at(
                            pc,
                            ErrorKind::Helper,
                            format!(
                                "bpf_loop callback returned {r}: the verifier allows only 0 and 1"
                            ),
                        ))
                    }
                }
            }
            done
        };
        self.regs[0] = ret;
        self.init[0] = true;
        self.init[1..6].iter_mut().for_each(|b| *b = false);
        Ok(pc + 1)
    }

    /// Runs the callback at `start` once in a new frame; gives its r0.
    fn callback(
        &mut self,
        pc: usize,
        start: usize,
        index: u64,
        cb_ctx: u64,
        k: &mut MockKernel,
    ) -> Result<u64, Error> {
        if self.frames.len() + 1 >= MAX_CALL_DEPTH {
            return Err(Error::at(
                pc,
                ErrorKind::Limit,
                "bpf_loop callback nested too deep",
            ));
        }
        let mut saved = [0; 5];
        saved.copy_from_slice(&self.regs[6..11]);
        let mut saved_init = [false; 5];
        saved_init.copy_from_slice(&self.init[6..11]);
        self.frames.push(Frame {
            ret_pc: LOOP_RETURN,
            saved,
            saved_init,
        });
        let depth = self.frames.len();
        self.ensure_stack(depth);
        self.init[0..10].iter_mut().for_each(|b| *b = false);
        self.regs[10] = STACK_BASE + depth as u64 * STACK_STRIDE + STACK_SIZE as u64;
        self.set_reg(1, index);
        self.set_reg(2, cb_ctx);
        self.exec(k, start)
    }
}
