//! Calls of `.text` subprograms: where a call without relocation points, and the relative
//! `imm` of a call once its callee is placed in the linked program.

use lskel_abi::insn::Insn;

use super::{LinkError, RelocError};

/// The `.text` instruction a static call at section instruction `at` targets: its `imm`
/// counts from the next instruction. Such a call needs no relocation only inside `.text`.
pub(super) fn static_target(insn: &Insn, at: usize, section: &str) -> Result<i64, LinkError> {
    if section != ".text" {
        return Err(LinkError::CallOutsideText { insn: at });
    }
    Ok(at as i64 + i64::from(insn.imm) + 1)
}

/// The `imm` from instruction `site` to a callee placed at `placed` (both linked indexes).
pub(super) fn relative(site: usize, placed: usize) -> Result<i32, RelocError> {
    i32::try_from(placed as i64 - site as i64 - 1).map_err(|_| RelocError::CallTooFar)
}

/// Points the call at linked instruction `site` to the callee at `placed`.
pub(super) fn apply(insn: &mut Insn, site: usize, placed: usize) -> Result<(), RelocError> {
    insn.imm = relative(site, placed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bytes, insn};
    use super::*;
    use crate::abi::{BPF_PSEUDO_CALL, CALL};

    #[test]
    fn a_call_points_from_the_next_instruction_to_its_callee() {
        let mut call = insn(CALL, BPF_PSEUDO_CALL, 0, 7);
        apply(&mut call, 2, 10).unwrap();
        assert_eq!(bytes(&[call]), [0x85, 0x11, 0, 0, 7, 0, 0, 0]);
        // A callee placed before the call (already linked for an earlier caller).
        apply(&mut call, 10, 2).unwrap();
        assert_eq!(call.imm, -9);
        assert_eq!(
            (call.code, call.src, call.dst, call.off),
            (CALL, BPF_PSEUDO_CALL, 1, 0)
        );
    }

    #[test]
    fn an_offset_beyond_32_bits_is_refused() {
        let e = relative(0, 1 << 32).unwrap_err();
        assert_eq!(e, RelocError::CallTooFar);
        assert_eq!(
            e.to_string(),
            "program is too large for a 32-bit call offset"
        );
    }

    #[test]
    fn a_static_call_counts_from_its_place_in_text() {
        let call = insn(CALL, BPF_PSEUDO_CALL, 0, -3);
        assert_eq!(static_target(&call, 5, ".text"), Ok(3));
        let e = static_target(&call, 5, "xdp").unwrap_err();
        assert_eq!(
            e.to_string(),
            "call at instruction 5 has no relocation and does not target .text"
        );
    }
}
