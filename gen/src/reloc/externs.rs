//! References to externs. A `.kconfig` value is a load from the `.kconfig` map, resolved now;
//! a kernel symbol is left for the loader, which patches the instruction once it has looked
//! the symbol up (its BTF id, or its kallsyms address).

use lskel_abi::insn::Insn;

use super::classify::ExternRef;
use super::{data, ExternSite, SiteKind};
use crate::abi::BPF_PSEUDO_KFUNC_CALL;

/// Applies `what` at linked instruction `site`; `ld` is the instruction pair there (a call
/// uses only the first). Returns the site the loader must patch, if any.
pub(super) fn apply(ld: &mut [Insn], site: usize, what: ExternRef) -> Option<ExternSite> {
    match what {
        ExternRef::Kconfig { map, offset } => {
            // Classification saw the second half of the ld_imm64.
            if let Some(pair) = ld
                .get_mut(..2)
                .and_then(|p| <&mut [Insn; 2]>::try_from(p).ok())
            {
                data::apply(pair, map, offset);
            }
            None
        }
        ExternRef::Kernel { ext, kind } => {
            let first = ld.first_mut()?;
            match kind {
                SiteKind::KfuncCall => {
                    // The loader fills imm (BTF id) and off (module BTF slot).
                    first.src = BPF_PSEUDO_KFUNC_CALL;
                    first.imm = 0;
                    first.off = 0;
                }
                SiteKind::BtfId | SiteKind::Address => {
                    // Until the loader resolves it, the load is of the constant 0.
                    first.src = 0;
                    first.imm = 0;
                    if let Some(second) = ld.get_mut(1) {
                        second.imm = 0;
                    }
                }
            }
            Some(ExternSite {
                ext,
                insn: site,
                kind,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bytes, insn, ld_imm64};
    use super::*;
    use crate::abi::CALL;

    #[test]
    fn a_kconfig_value_is_a_kconfig_map_load() {
        let mut ld = [ld_imm64(0, 0), insn(0, 0, 0, 0)];
        assert_eq!(
            apply(&mut ld, 4, ExternRef::Kconfig { map: 1, offset: 8 }),
            None
        );
        assert_eq!(
            bytes(&ld),
            [0x18, 0x61, 0, 0, 1, 0, 0, 0, 0, 0x01, 0, 0, 8, 0, 0, 0]
        );
    }

    #[test]
    fn a_kfunc_call_is_left_for_the_loader() {
        let mut call = [insn(CALL, 1, 7, -1)];
        let site = apply(
            &mut call,
            3,
            ExternRef::Kernel {
                ext: 2,
                kind: SiteKind::KfuncCall,
            },
        );
        assert_eq!(
            site,
            Some(ExternSite {
                ext: 2,
                insn: 3,
                kind: SiteKind::KfuncCall
            })
        );
        assert_eq!(bytes(&call), [0x85, 0x21, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_ksym_load_is_zero_until_the_loader_patches_it() {
        for kind in [SiteKind::BtfId, SiteKind::Address] {
            let mut ld = [ld_imm64(0, 5), insn(0, 0, 0, 6)];
            let site = apply(&mut ld, 0, ExternRef::Kernel { ext: 0, kind });
            assert_eq!(
                site,
                Some(ExternSite {
                    ext: 0,
                    insn: 0,
                    kind
                })
            );
            assert_eq!(
                bytes(&ld),
                [0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0]
            );
        }
    }
}
