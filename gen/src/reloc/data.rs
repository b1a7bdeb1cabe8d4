//! Addresses in global data (and `.kconfig` values): `ld_imm64` becomes
//! `BPF_PSEUDO_MAP_IDX_VALUE` of the section's map, the offset in its value in the second
//! half's `imm`.

use lskel_abi::insn::Insn;

use crate::abi::BPF_PSEUDO_MAP_IDX_VALUE;

/// Makes the `ld_imm64` pair `ld` load the address `offset` bytes into map `map`'s value.
pub(super) fn apply(ld: &mut [Insn; 2], map: i32, offset: i32) {
    ld[0].src = BPF_PSEUDO_MAP_IDX_VALUE;
    ld[0].imm = map;
    ld[1].imm = offset;
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bytes, insn, ld_imm64};
    use super::*;

    #[test]
    fn the_pair_names_the_map_and_the_offset() {
        let mut ld = [ld_imm64(0, 4), insn(0, 0, 0, 0)];
        apply(&mut ld, 2, 12);
        assert_eq!(
            bytes(&ld),
            [0x18, 0x61, 0, 0, 2, 0, 0, 0, 0, 0x01, 0, 0, 12, 0, 0, 0]
        );
    }
}
