//! PROG_LOAD: reads the program and its records, checks them as the kernel and verifier do
//! (the attr, the subprogram layout against func_info and line_info (`info`), the attach
//! target (`target`), the maps and kfuncs the instructions refer to (`refs`)), and writes the
//! verifier's log on a refusal.

mod info;
mod refs;
mod target;

use super::attr::{valid_obj_name, Call, Log};
use super::{refuse, KResult, MockKernel, Object, Pointees, ProgObject, Refusal};
use crate::consts::{attr, prog_type, E2BIG, EFAULT, EINVAL, EPERM};
use crate::mem::Memory;
use crate::vm::{decode, Insn};
use crate::Error;
use lskel_abi::insn::pseudo::{
    BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
};
use lskel_abi::insn::{CALL, LD_IMM64};
use lskel_abi::{prog_flags, OBJ_NAME_LEN};

impl MockKernel {
    pub(super) fn prog_load(&mut self, c: &mut Call<'_>) -> KResult {
        use attr::prog_load as f;
        let (a, pc) = (&c.a, c.pc);
        let cnt = a.u32(f::INSN_CNT);
        let insns = if cnt > 0 && cnt <= 1_000_000 {
            Some(c.read(a.u64(f::INSNS), u64::from(cnt) * 8, "insns")?)
        } else {
            None
        };
        let license = Self::read_ptr_cstr(c.mem, a.u64(f::LICENSE), 127, "license", pc)?;
        let recs =
            |ptr: usize, rsz: usize, n: usize, what: &str| -> Result<Option<Vec<u8>>, Error> {
                let (n, rs) = (a.u32(n), a.u32(rsz));
                if n == 0 || rs == 0 || rs > 4096 {
                    return Ok(None);
                }
                c.read(a.u64(ptr), u64::from(n) * u64::from(rs), what)
                    .map(Some)
            };
        let func_info = recs(
            f::FUNC_INFO,
            f::FUNC_INFO_REC_SIZE,
            f::FUNC_INFO_CNT,
            "func_info",
        )?;
        let line_info = recs(
            f::LINE_INFO,
            f::LINE_INFO_REC_SIZE,
            f::LINE_INFO_CNT,
            "line_info",
        )?;
        let core_relos = recs(
            f::CORE_RELOS,
            f::CORE_RELO_REC_SIZE,
            f::CORE_RELO_CNT,
            "core_relos",
        )?;
        let decoded = insns.as_deref().map(decode).unwrap_or_default();
        let cnt = a.u32(f::FD_ARRAY_CNT);
        Self::read_fd_array(c.mem, a.u64(f::FD_ARRAY), cnt, &decoded, c.p, pc)?;
        let p = &mut *c.p;
        p.insns = insns.clone();
        p.license = Some(String::from_utf8_lossy(&license).into_owned());
        p.func_info = func_info.clone();
        p.line_info = line_info.clone();
        p.core_relos = core_relos.clone();
        let res = self.prog_check(c, &decoded);
        match res {
            Ok(mut prog) => {
                prog.insns = insns.unwrap_or_default();
                prog.license = String::from_utf8_lossy(&license).into_owned();
                Ok(self.alloc_fd(Object::Prog(prog)))
            }
            Err((e, why)) => {
                // EPERM is the kernel's refusal before verification (a locked-down program
                // type, say): it writes no log for it. Other failures come from the verifier.
                let log = prog_log(c);
                if c.inj != Some(EPERM) && log.valid().is_ok() {
                    self.write_log(log, &format!("mock verifier: {why}\n"), c.pc)?;
                }
                refuse(e, why)
            }
        }
    }

    /// Reads the `fd_array` slots the kernel reads into `p`: with `cnt` > 0 the first `cnt`
    /// (a count the kernel refuses is left for the checks), then the slots the instructions
    /// use (map fd_idx loads and module kfunc calls), as the kernel does before it checks them.
    fn read_fd_array(
        mem: &Memory,
        fd_array: u64,
        cnt: u32,
        decoded: &[Insn],
        p: &mut Pointees,
        pc: usize,
    ) -> Result<(), Error> {
        if fd_array == 0 {
            return Ok(());
        }
        let bound = if fd_array_cnt_valid(cnt) { cnt } else { 0 };
        let mut slots: Vec<u32> = (0..bound).collect();
        let mut k = 0;
        while k < decoded.len() {
            let i = decoded[k];
            k += if i.code == LD_IMM64 { 2 } else { 1 };
            if i.code == LD_IMM64 && matches!(i.src, BPF_PSEUDO_MAP_IDX | BPF_PSEUDO_MAP_IDX_VALUE)
            {
                slots.push(i.imm as u32);
            } else if i.code == CALL && i.src == BPF_PSEUDO_KFUNC_CALL && i.off > 0 {
                slots.push(i.off as u32);
            }
        }
        for slot in slots {
            if p.fd_array.contains_key(&slot) {
                continue;
            }
            let b = Self::read_ptr(
                mem,
                fd_array.wrapping_add(4 * u64::from(slot)),
                4,
                &format!("fd_array[{slot}]"),
                pc,
            )?;
            p.fd_array
                .insert(slot, i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
        Ok(())
    }

    /// The verifier's verdict on a program: the object to make, or why not. The checks run
    /// in the kernel's order, so the first refusal is the one the kernel would give.
    fn prog_check(&self, c: &Call<'_>, insns: &[Insn]) -> Result<ProgObject, Refusal> {
        use attr::prog_load as f;
        let (a, p) = (&c.a, &*c.p);
        c.admitted("keyring_id")?;
        let (t, flags, name) = prog_attrs_valid(c)?;
        let starts = info::subprog_starts(insns)?;
        self.btf_info_valid(a, insns, p, &starts)?;
        let attach_module = self.attach_target_valid(a, t)?;
        let bound = self.bound_maps(a, p)?;
        let (maps, kfuncs) = self.insn_refs(a, insns, p)?;
        Ok(ProgObject {
            prog_type: t,
            expected_attach_type: a.u32(f::EXPECTED_ATTACH_TYPE),
            name,
            insns: Vec::new(),
            license: String::new(),
            prog_flags: flags,
            attach_btf_id: a.u32(f::ATTACH_BTF_ID),
            attach_module,
            maps,
            bound,
            kfuncs,
        })
    }

    /// With `fd_array_cnt` > 0 the kernel binds every map of `fd_array[0..cnt)` to the
    /// program (and takes BTF there too); anything else there fails the load. Returns the
    /// object ids of those maps.
    fn bound_maps(&self, a: &super::attr::A, p: &Pointees) -> Result<Vec<usize>, Refusal> {
        let mut bound = Vec::new();
        for slot in 0..a.u32(attr::prog_load::FD_ARRAY_CNT) {
            let fd = p.fd_array.get(&slot).copied().unwrap_or(-1);
            match self.map_by_fd(fd) {
                Ok((obj, _)) => {
                    if !bound.contains(&obj) {
                        bound.push(obj);
                    }
                }
                Err(not_map) => {
                    if self.btf_by_fd(fd).is_err() {
                        return Err((
                            not_map.0,
                            format!(
                                "fd_array[{slot}]: fd {fd} is not pointing to valid bpf_map or btf"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(bound)
    }
}

/// Whether the kernel takes `fd_array_cnt` (it refuses a count whose byte size could
/// overflow 32 bits).
fn fd_array_cnt_valid(cnt: u32) -> bool {
    cnt < u32::MAX / 4
}

/// The load's log attributes.
fn prog_log(c: &Call<'_>) -> Log {
    use attr::prog_load as f;
    c.log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF)
}

/// The attr fields checked before the instructions are: program type, count, flags, name,
/// log attributes, and the features the mock does not have. Returns the type, the flags and
/// the name.
fn prog_attrs_valid(c: &Call<'_>) -> Result<(u32, u32, String), Refusal> {
    use attr::prog_load as f;
    let a = &c.a;
    let t = a.u32(f::PROG_TYPE);
    ensure!(
        (1..=prog_type::NETFILTER).contains(&t),
        EINVAL,
        "unknown prog type {t}"
    );
    let cnt = a.u32(f::INSN_CNT);
    ensure!(cnt != 0, EINVAL, "insn_cnt is 0");
    ensure!(cnt <= 1_000_000, E2BIG, "insn_cnt {cnt} too large");
    let flags = a.u32(f::PROG_FLAGS);
    ensure!(
        flags & !prog_flags::ALL == 0,
        EINVAL,
        "unknown prog_flags {flags:#x}"
    );
    ensure!(
        flags & prog_flags::TOKEN_FD == 0,
        EINVAL,
        "BPF_F_TOKEN_FD without a token"
    );
    let name =
        valid_obj_name(&a.0[f::PROG_NAME..f::PROG_NAME + OBJ_NAME_LEN]).map_err(|w| (EINVAL, w))?;
    prog_log(c).valid().map_err(|w| (EINVAL, w))?;
    ensure!(
        a.u32(f::PROG_IFINDEX) == 0,
        EINVAL,
        "prog_ifindex: no offload devices"
    );
    let cnt = a.u32(f::FD_ARRAY_CNT);
    ensure!(
        fd_array_cnt_valid(cnt),
        EINVAL,
        "fd_array_cnt is too big ({cnt})"
    );
    ensure!(
        cnt == 0 || a.u64(f::FD_ARRAY) != 0,
        EFAULT,
        "fd_array_cnt {cnt} without fd_array"
    );
    ensure!(
        a.u64(f::SIGNATURE) == 0,
        EINVAL,
        "signatures are not supported by the mock"
    );
    Ok((t, flags, name))
}
