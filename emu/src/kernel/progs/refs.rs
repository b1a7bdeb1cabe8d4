//! What the instructions refer to: maps (by fd, or by `fd_array` slot) and their direct
//! value accesses, ksyms, and kfuncs in vmlinux or in a module whose BTF an `fd_array` slot
//! holds.

use super::super::attr::A;
use super::super::{MockKernel, Pointees, Refusal};
use crate::consts::{attr, kind, map_type, EINVAL, EOPNOTSUPP, EPROTO};
use crate::vm::Insn;
use lskel_abi::insn::pseudo::*;
use lskel_abi::insn::{CALL, LD_IMM64};

/// A map use: (insn index, object id of the map).
type MapRef = (usize, usize);
/// A kfunc call: (insn index, btf id, module or `None` for vmlinux).
type KfuncRef = (usize, u32, Option<String>);

impl MockKernel {
    /// The maps (insn index, object id) and kfuncs the instructions use, each checked.
    pub(super) fn insn_refs(
        &self,
        a: &A,
        insns: &[Insn],
        p: &Pointees,
    ) -> Result<(Vec<MapRef>, Vec<KfuncRef>), Refusal> {
        let fd_array = a.u64(attr::prog_load::FD_ARRAY);
        let mut maps = Vec::new();
        let mut kfuncs = Vec::new();
        let mut k = 0;
        while k < insns.len() {
            let i = &insns[k];
            if i.code == LD_IMM64 {
                let imm2 = insns[k + 1].imm as u32;
                if let Some(obj) = self.ld_imm64_ref(k, i, imm2, fd_array, p)? {
                    maps.push((k, obj));
                }
                k += 2;
                continue;
            }
            if i.code == CALL && i.src == BPF_PSEUDO_KFUNC_CALL {
                if let Some(kfunc) = self.kfunc_ref(k, i, fd_array, p)? {
                    kfuncs.push(kfunc);
                }
            }
            k += 1;
        }
        Ok((maps, kfuncs))
    }

    /// The `ld_imm64` at `k` (`imm2`: its second half's imm): the object id of the map it
    /// loads, `None` for a plain constant, a callback address or a ksym.
    fn ld_imm64_ref(
        &self,
        k: usize,
        i: &Insn,
        imm2: u32,
        fd_array: u64,
        p: &Pointees,
    ) -> Result<Option<usize>, Refusal> {
        let (fd, what) = match i.src {
            0 | BPF_PSEUDO_FUNC => return Ok(None),
            BPF_PSEUDO_MAP_FD | BPF_PSEUDO_MAP_VALUE => {
                (i.imm, format!("insn {k}: map fd {}", i.imm))
            }
            BPF_PSEUDO_MAP_IDX | BPF_PSEUDO_MAP_IDX_VALUE => {
                ensure!(
                    fd_array != 0,
                    EPROTO,
                    "insn {k}: fd_idx without fd_array is invalid"
                );
                let fd = p.fd_array.get(&(i.imm as u32)).copied().unwrap_or(-1);
                (fd, format!("insn {k}: fd_array[{}] = {fd}", i.imm))
            }
            BPF_PSEUDO_BTF_ID => {
                self.ksym_valid(k, i, imm2)?;
                return Ok(None);
            }
            s => return Err((EINVAL, format!("insn {k}: unknown ld_imm64 src_reg {s}"))),
        };
        let (obj, m) = self
            .map_by_fd(fd)
            .map_err(|r| (r.0, format!("{what}: {}", r.1)))?;
        if matches!(i.src, BPF_PSEUDO_MAP_VALUE | BPF_PSEUDO_MAP_IDX_VALUE) {
            ensure!(
                matches!(m.map_type, map_type::ARRAY | map_type::ARENA)
                    && (m.map_type != map_type::ARRAY || m.max_entries == 1),
                EOPNOTSUPP,
                "{what}: direct value access needs a single-entry array"
            );
            ensure!(
                imm2 < m.value_size,
                EINVAL,
                "{what}: value offset {imm2} >= value_size {}",
                m.value_size
            );
        }
        Ok(Some(obj))
    }

    /// A ksym load (`src_reg` 3): a VAR or FUNC in vmlinux, or in the module whose BTF fd is
    /// the second half's imm.
    fn ksym_valid(&self, k: usize, i: &Insn, imm2: u32) -> Result<(), Refusal> {
        let fd = imm2 as i32;
        let module = if fd != 0 {
            let (_, m) = self
                .btf_by_fd(fd)
                .map_err(|r| (r.0, format!("insn {k}: ksym btf fd: {}", r.1)))?;
            Some(m.ok_or((EINVAL, format!("insn {k}: btf fd {fd} is not a kernel BTF")))?)
        } else {
            None
        };
        ensure!(
            self.kernel_type(module, i.imm as u32)
                .is_some_and(|t| t.1 == kind::VAR || t.1 == kind::FUNC),
            EINVAL,
            "insn {k}: ksym btf_id {} is not a VAR or FUNC in {}",
            i.imm,
            module.map_or("vmlinux", |m| self.modules[m].name.as_str())
        );
        Ok(())
    }

    /// The kfunc call at `k`: a FUNC in vmlinux (`off` 0) or in the module whose BTF fd is
    /// in `fd_array[off]`; `None` for the call of an absent weak kfunc.
    fn kfunc_ref(
        &self,
        k: usize,
        i: &Insn,
        fd_array: u64,
        p: &Pointees,
    ) -> Result<Option<KfuncRef>, Refusal> {
        if i.imm == 0 && i.off == 0 {
            // A weak kfunc that is absent: dead code the verifier removes.
            return Ok(None);
        }
        if i.off < 0 {
            return Err((EINVAL, format!("insn {k}: negative kfunc fd_array offset")));
        }
        if i.off == 0 {
            ensure!(
                self.kernel_type(None, i.imm as u32)
                    .is_some_and(|t| t.1 == kind::FUNC),
                EINVAL,
                "insn {k}: kernel btf_id {} is not a function",
                i.imm
            );
            return Ok(Some((k, i.imm as u32, None)));
        }
        ensure!(
            fd_array != 0,
            EPROTO,
            "insn {k}: kfunc offset without fd_array"
        );
        let fd = p.fd_array.get(&(i.off as u32)).copied().unwrap_or(-1);
        let (_, m) = self.btf_by_fd(fd).map_err(|r| {
            (
                r.0,
                format!("insn {k}: kfunc fd_array[{}] = {fd}: {}", i.off, r.1),
            )
        })?;
        let m = m.ok_or((
            EINVAL,
            format!("insn {k}: fd_array[{}] = {fd} is not a module BTF", i.off),
        ))?;
        ensure!(
            self.kernel_type(Some(m), i.imm as u32)
                .is_some_and(|t| t.1 == kind::FUNC),
            EINVAL,
            "insn {k}: btf_id {} is not a function in module `{}`",
            i.imm,
            self.modules[m].name
        );
        Ok(Some((k, i.imm as u32, Some(self.modules[m].name.clone()))))
    }
}
