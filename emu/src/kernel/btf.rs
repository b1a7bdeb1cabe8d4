//! BTF_LOAD: the object's BTF, parsed and checked, with the load's log attributes.

use super::attr::{log_attrs_valid, A};
use super::{refuse, BtfObject, KResult, MockKernel, Object, Pointees};
use crate::btf::Btf;
use crate::consts::{attr, E2BIG, EINVAL};
use crate::mem::Memory;

impl MockKernel {
    pub(super) fn btf_load(
        &mut self,
        a: &A,
        mem: &Memory,
        p: &mut Pointees,
        pc: usize,
        inj: Option<i32>,
        tail_zero: bool,
    ) -> KResult {
        use attr::btf_load as f;
        let size = a.u32(f::BTF_SIZE);
        let (level, lsize, lbuf) = (a.u32(f::LOG_LEVEL), a.u32(f::LOG_SIZE), a.u64(f::LOG_BUF));
        check!(size != 0, EINVAL, "btf_size is 0");
        check!(size <= 1 << 24, E2BIG, "btf_size {size} too large");
        let bytes = Self::read_ptr(mem, a.u64(f::BTF), u64::from(size), "btf", pc)?;
        p.btf = Some(bytes.clone());
        let res = (|| {
            if let Some(e) = inj {
                return Err((e, "injected".to_string()));
            }
            if !tail_zero {
                return Err((EINVAL, "attr bytes beyond btf_token_fd are not zero".into()));
            }
            log_attrs_valid(level, lsize, lbuf).map_err(|w| (EINVAL, w))?;
            if a.u32(f::FLAGS) != 0 {
                return Err((EINVAL, "btf_flags set without a token".into()));
            }
            Btf::parse(&bytes).map_err(|w| (EINVAL, format!("invalid BTF: {w}")))
        })();
        match res {
            Ok(parsed) => Ok(self.alloc_fd(Object::Btf(BtfObject { bytes, parsed }))),
            Err((e, why)) => {
                self.write_log(lbuf, lsize, &format!("mock BTF_LOAD: {why}\n"), pc)?;
                refuse(e, why)
            }
        }
    }
}
