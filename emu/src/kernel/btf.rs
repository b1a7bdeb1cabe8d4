//! BTF_LOAD: the object's BTF, parsed and checked, with the load's log attributes.

use super::attr::Call;
use super::{refuse, BtfObject, KResult, MockKernel, Object};
use crate::btf::Btf;
use crate::consts::{attr, E2BIG, EINVAL};

impl MockKernel {
    pub(super) fn btf_load(&mut self, c: &mut Call<'_>) -> KResult {
        use attr::btf_load as f;
        let size = c.a.u32(f::BTF_SIZE);
        let log = c.log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        check!(size != 0, EINVAL, "btf_size is 0");
        check!(size <= 1 << 24, E2BIG, "btf_size {size} too large");
        let bytes = c.read(c.a.u64(f::BTF), u64::from(size), "btf")?;
        c.p.btf = Some(bytes.clone());
        let res = (|| {
            c.admitted("btf_token_fd")?;
            log.valid().map_err(|w| (EINVAL, w))?;
            if c.a.u32(f::FLAGS) != 0 {
                return Err((EINVAL, "btf_flags set without a token".into()));
            }
            Btf::parse(&bytes).map_err(|w| (EINVAL, format!("invalid BTF: {w}")))
        })();
        match res {
            Ok(parsed) => Ok(self.alloc_fd(Object::Btf(BtfObject { bytes, parsed }))),
            Err((e, why)) => {
                self.write_log(log, &format!("mock BTF_LOAD: {why}\n"), c.pc)?;
                refuse(e, why)
            }
        }
    }
}
