//! The attach target of a program: `attach_btf_id` in vmlinux or in the module whose BTF
//! `attach_btf_obj_fd` names, and for tracing, LSM and extension programs a target of the
//! kind and name prefix their attach type needs.

use super::super::attr::A;
use super::super::{MockKernel, Refusal};
use crate::consts::{attach_type, attr, kind, prog_type, EINVAL};

impl MockKernel {
    /// Checks the target of a program of type `t`; returns the module it is in (`None` for
    /// vmlinux or no target).
    pub(super) fn attach_target_valid(&self, a: &A, t: u32) -> Result<Option<String>, Refusal> {
        use attr::prog_load as f;
        let (abtf_id, aobj_fd) = (a.u32(f::ATTACH_BTF_ID), a.i32(f::ATTACH_BTF_OBJ_FD));
        let eat = a.u32(f::EXPECTED_ATTACH_TYPE);
        let mut attach_module = None;
        let target = if aobj_fd != 0 {
            let (_, module) = self
                .btf_by_fd(aobj_fd)
                .map_err(|r| (r.0, format!("attach_btf_obj_fd: {}", r.1)))?;
            let m = module.ok_or((
                EINVAL,
                format!("attach_btf_obj_fd {aobj_fd} is not a kernel BTF"),
            ))?;
            attach_module = Some(self.modules[m].name.clone());
            Some(self.kernel_type(Some(m), abtf_id).ok_or((
                EINVAL,
                format!(
                    "attach_btf_id {abtf_id} not in module `{}`",
                    self.modules[m].name
                ),
            ))?)
        } else if abtf_id != 0 {
            Some(
                self.kernel_type(None, abtf_id)
                    .ok_or((EINVAL, format!("attach_btf_id {abtf_id} not in vmlinux")))?,
            )
        } else {
            None
        };
        if matches!(t, prog_type::TRACING | prog_type::LSM | prog_type::EXT) {
            let (tname, tkind) = target.ok_or((
                EINVAL,
                "tracing/LSM/ext programs must provide attach_btf_id".to_string(),
            ))?;
            let (want_kind, prefix) = match (t, eat) {
                (prog_type::TRACING, attach_type::TRACE_RAW_TP) => (kind::TYPEDEF, "btf_trace_"),
                (prog_type::TRACING, attach_type::TRACE_ITER) => (kind::FUNC, "bpf_iter_"),
                (prog_type::LSM, _) => (kind::FUNC, "bpf_lsm_"),
                _ => (kind::FUNC, ""),
            };
            ensure!(
                tkind == want_kind && tname.starts_with(prefix),
                EINVAL,
                "attach target `{tname}` (kind {tkind}) is not a {prefix}* of kind {want_kind}"
            );
        }
        Ok(attach_module)
    }
}
