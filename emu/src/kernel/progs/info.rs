//! The program's layout and its BTF records: subprograms as the verifier finds them, and the
//! func_info, line_info and CO-RE relocation records checked against them.

use super::super::attr::A;
use super::super::{MockKernel, Object, Pointees, Refusal};
use crate::btf::Btf;
use crate::consts::{attr, kind, EACCES, EINVAL};
use crate::vm::Insn;
use lskel_abi::insn::pseudo::{BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC};
use lskel_abi::insn::{CALL, LD_IMM64};

/// The first instruction of every subprogram, ascending: 0, and each target of a bpf-to-bpf
/// call or of a callback's address load. Refuses a broken `ld_imm64` or a target outside
/// the program.
pub(super) fn subprog_starts(insns: &[Insn]) -> Result<Vec<u32>, Refusal> {
    let mut starts = vec![0u32];
    let mut k = 0;
    while k < insns.len() {
        let i = &insns[k];
        if i.code == LD_IMM64 {
            ensure!(
                k + 1 < insns.len(),
                EINVAL,
                "insn {k}: ld_imm64 without second half"
            );
            let n = &insns[k + 1];
            ensure!(
                n.code == 0 && n.dst == 0 && n.src == 0 && n.off == 0,
                EINVAL,
                "insn {k}: invalid ld_imm64 second half"
            );
            if i.src == BPF_PSEUDO_FUNC {
                let tgt = k as i64 + 1 + i64::from(i.imm);
                ensure!(
                    tgt >= 0 && (tgt as usize) < insns.len(),
                    EINVAL,
                    "insn {k}: callback target out of range"
                );
                starts.push(tgt as u32);
            }
            k += 2;
            continue;
        }
        if i.code == CALL && i.src == BPF_PSEUDO_CALL {
            let tgt = k as i64 + 1 + i64::from(i.imm);
            ensure!(
                tgt >= 0 && (tgt as usize) < insns.len(),
                EINVAL,
                "insn {k}: call target out of range"
            );
            starts.push(tgt as u32);
        }
        k += 1;
    }
    starts.sort_unstable();
    starts.dedup();
    Ok(starts)
}

impl MockKernel {
    /// The func_info, line_info and CO-RE relocation records of a program whose
    /// subprograms start at `starts`.
    pub(super) fn btf_info_valid(
        &self,
        a: &A,
        insns: &[Insn],
        p: &Pointees,
        starts: &[u32],
    ) -> Result<(), Refusal> {
        use attr::prog_load as f;
        let fi_cnt = a.u32(f::FUNC_INFO_CNT);
        let li_cnt = a.u32(f::LINE_INFO_CNT);
        let cr_cnt = a.u32(f::CORE_RELO_CNT);
        // The records' BTF is only looked up when func_info or line_info needs it.
        let prog_btf = if fi_cnt != 0 || li_cnt != 0 {
            Some(self.prog_btf(a)?)
        } else {
            None
        };
        if fi_cnt != 0 {
            let btf = prog_btf.expect("checked above");
            func_info_valid(a, btf, p.func_info.as_deref().unwrap_or_default(), starts)?;
        }
        if li_cnt != 0 {
            let btf = prog_btf.expect("checked above");
            let recs = p.line_info.as_deref().unwrap_or_default();
            line_info_valid(a, btf, recs, insns, starts)?;
        }
        if cr_cnt != 0 {
            let recs = p.core_relos.as_deref().unwrap_or_default();
            core_relos_valid(a, prog_btf.is_some(), recs)?;
        }
        Ok(())
    }

    /// The BTF object `prog_btf_fd` names, which must be one the loader loaded.
    fn prog_btf(&self, a: &A) -> Result<&Btf, Refusal> {
        let fd = a.i32(attr::prog_load::PROG_BTF_FD);
        let (obj, module) = self
            .btf_by_fd(fd)
            .map_err(|r| (r.0, format!("prog_btf_fd: {}", r.1)))?;
        ensure!(module.is_none(), EACCES, "prog_btf_fd {fd} is a kernel BTF");
        let Object::Btf(b) = &self.objects[obj] else {
            unreachable!()
        };
        Ok(&b.parsed)
    }
}

/// One func_info record per subprogram, each at its start and naming a FUNC.
fn func_info_valid(a: &A, btf: &Btf, recs: &[u8], starts: &[u32]) -> Result<(), Refusal> {
    use attr::prog_load as f;
    let fi_cnt = a.u32(f::FUNC_INFO_CNT);
    let rs = a.u32(f::FUNC_INFO_REC_SIZE);
    ensure!(
        (8..=252).contains(&rs) && rs % 4 == 0,
        EINVAL,
        "func_info_rec_size {rs} invalid"
    );
    ensure!(
        fi_cnt as usize == starts.len(),
        EINVAL,
        "{fi_cnt} func_info records for {} subprograms",
        starts.len()
    );
    for (n, r) in recs.chunks_exact(rs as usize).enumerate() {
        let off = u32::from_le_bytes(r[0..4].try_into().unwrap_or_default());
        let tid = u32::from_le_bytes(r[4..8].try_into().unwrap_or_default());
        ensure!(
            off == starts[n],
            EINVAL,
            "func_info[{n}].insn_off {off} does not start subprogram #{n} (at {})",
            starts[n]
        );
        ensure!(
            btf.get(tid).is_some_and(|t| t.kind == kind::FUNC),
            EINVAL,
            "func_info[{n}].type_id {tid} is not a FUNC"
        );
    }
    Ok(())
}

/// line_info records in ascending instruction order, none inside an `ld_imm64`, with valid
/// string offsets, and one at the start of every subprogram.
fn line_info_valid(
    a: &A,
    btf: &Btf,
    recs: &[u8],
    insns: &[Insn],
    starts: &[u32],
) -> Result<(), Refusal> {
    use attr::prog_load as f;
    let cnt = a.u32(f::INSN_CNT);
    let rs = a.u32(f::LINE_INFO_REC_SIZE);
    ensure!(
        (16..=252).contains(&rs) && rs % 4 == 0,
        EINVAL,
        "line_info_rec_size {rs} invalid"
    );
    let mut s = 0;
    let mut prev = 0;
    for (n, r) in recs.chunks_exact(rs as usize).enumerate() {
        let w = |o: usize| u32::from_le_bytes(r[o..o + 4].try_into().unwrap_or_default());
        let (off, file, line) = (w(0), w(4), w(8));
        ensure!(
            (n == 0 || off > prev) && off < cnt,
            EINVAL,
            "line_info[{n}].insn_off {off} (prev {prev}, insn_cnt {cnt})"
        );
        ensure!(
            insns[off as usize].code != 0,
            EINVAL,
            "line_info[{n}] points into an ld_imm64"
        );
        ensure!(
            btf.name(file).is_some() && btf.name(line).is_some(),
            EINVAL,
            "line_info[{n}] has bad string offsets"
        );
        if s < starts.len() {
            if off == starts[s] {
                s += 1;
            } else {
                ensure!(
                    starts[s] >= off,
                    EINVAL,
                    "missing line_info for subprogram #{s}"
                );
            }
        }
        prev = off;
    }
    ensure!(
        s == starts.len(),
        EINVAL,
        "missing line_info for subprograms from #{s}"
    );
    Ok(())
}

/// CO-RE relocation records, which need the records' BTF, each at an instruction.
fn core_relos_valid(a: &A, has_btf: bool, recs: &[u8]) -> Result<(), Refusal> {
    use attr::prog_load as f;
    let cnt = a.u32(f::INSN_CNT);
    let rs = a.u32(f::CORE_RELO_REC_SIZE);
    ensure!(
        (16..=252).contains(&rs) && rs % 4 == 0,
        EINVAL,
        "core_relo_rec_size {rs} invalid"
    );
    ensure!(
        has_btf,
        EINVAL,
        "CO-RE relocations without func_info/line_info BTF"
    );
    for (n, r) in recs.chunks_exact(rs as usize).enumerate() {
        let off = u32::from_le_bytes(r[0..4].try_into().unwrap_or_default());
        ensure!(
            off % 8 == 0 && off / 8 < cnt,
            EINVAL,
            "core_relos[{n}].insn_off {off} invalid"
        );
    }
    Ok(())
}
