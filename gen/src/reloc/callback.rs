//! Callback addresses (`ld_imm64` of a `.text` function, as for `bpf_loop`): the kernel wants
//! `BPF_PSEUDO_FUNC` with `imm` relative to the load, like a call's.

use lskel_abi::insn::Insn;

use super::{call, LinkError, RelocError};
use crate::abi::{BPF_PSEUDO_FUNC, LD_IMM64};

/// Points the callback load at linked instruction `site` to the function placed at `placed`.
pub(super) fn apply(insn: &mut Insn, site: usize, placed: usize) -> Result<(), RelocError> {
    insn.imm = call::relative(site, placed)?;
    insn.src = BPF_PSEUDO_FUNC;
    Ok(())
}

/// A function address the compiler left without relocation cannot be linked: nothing says
/// which function it is. `at` is its section instruction.
pub(super) fn check_unrelocated(insn: &Insn, at: usize) -> Result<(), LinkError> {
    if insn.code == LD_IMM64 && insn.src == BPF_PSEUDO_FUNC {
        return Err(LinkError::CallbackWithoutReloc { insn: at });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bytes, ld_imm64};
    use super::*;

    #[test]
    fn the_load_becomes_a_pseudo_func_relative_to_itself() {
        // As clang leaves it: no pseudo kind yet, a byte addend in imm.
        let mut ld = ld_imm64(0, 16);
        apply(&mut ld, 4, 9).unwrap();
        assert_eq!(bytes(&[ld]), [0x18, 0x41, 0, 0, 4, 0, 0, 0]);
        assert_eq!(apply(&mut ld, 0, 1 << 33), Err(RelocError::CallTooFar));
    }

    #[test]
    fn an_unrelocated_function_address_is_refused() {
        let e = check_unrelocated(&ld_imm64(BPF_PSEUDO_FUNC, 0), 6).unwrap_err();
        assert_eq!(
            e.to_string(),
            "callback address at instruction 6 has no relocation"
        );
        assert_eq!(check_unrelocated(&ld_imm64(0, 0), 6), Ok(()));
    }
}
