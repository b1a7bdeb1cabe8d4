//! TEMPORARY stub, replaced by the kernel BTF reader.
#![allow(dead_code)]
use crate::{Error, Result};
pub(crate) fn kernel_struct_ops_value(
    so: &crate::skel::SkelStructOps,
) -> Result<(Vec<u8>, Vec<u32>)> {
    Err(Error::StructOps {
        map: so.name,
        what: "stub".into(),
    })
}
