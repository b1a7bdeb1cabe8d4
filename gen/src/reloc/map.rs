//! References to `.maps` maps: `ld_imm64` of the map becomes `BPF_PSEUDO_MAP_IDX` with its
//! `fd_array` index, which the kernel turns into the map.

use lskel_abi::insn::Insn;

use crate::abi::BPF_PSEUDO_MAP_IDX;

/// Makes the `ld_imm64` at `insn` load map `map` of `fd_array`.
pub(super) fn apply(insn: &mut Insn, map: i32) {
    insn.src = BPF_PSEUDO_MAP_IDX;
    insn.imm = map;
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bytes, ld_imm64};
    use super::*;

    #[test]
    fn the_load_names_the_fd_array_slot() {
        let mut ld = ld_imm64(0, 0);
        apply(&mut ld, 3);
        assert_eq!(bytes(&[ld]), [0x18, 0x51, 0, 0, 3, 0, 0, 0]);
    }
}
