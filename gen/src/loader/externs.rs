//! Kernel symbols: each extern is looked up in the running kernel and the instructions that
//! use it are patched in the blob before the programs load.

use super::*;

impl Gen<'_> {
    /// Resolves extern `k` in the running kernel and patches every instruction that uses it.
    /// A weak extern that is absent leaves the instructions as emitted: a kfunc call with
    /// imm = 0 and off = 0, a load of the constant 0.
    pub(super) fn resolve_extern(&mut self, k: usize) {
        let ext = &self.plan.externs.list[k];
        let btf_kind = match ext.kind {
            ExternKind::Kfunc => crate::btf::kind::FUNC,
            ExternKind::TypedKsym { btf_kind } => btf_kind,
            ExternKind::TypelessKsym => 0,
            ExternKind::Kconfig { .. } => return,
        };
        let sites: Vec<(BlobOff, SiteKind)> = (self.plan.programs.iter().enumerate())
            .flat_map(|(j, p)| {
                p.linked
                    .extern_sites
                    .iter()
                    .filter(|s| s.ext == k)
                    .map(move |s| (j, s))
            })
            .map(|(j, s)| (self.prog_insns[j].at(abi::insn::SIZE * s.insn), s.kind))
            .collect();
        let name = self.blob.push(
            &nul_terminated(&ext.name),
            format!("name of extern `{}`", ext.name),
        );
        let (found, done) = (self.b.label(), self.b.label());
        if btf_kind == 0 {
            let addr = self.blob.reserve(8, format!("address of `{}`", ext.name));
            self.b.note(format!(
                "ksym `{}`{}: address from kallsyms_lookup_name",
                ext.name,
                if ext.weak { " (weak)" } else { "" }
            ));
            self.b.blob_addr(R1, name);
            self.b.mov_imm(R2, ext.name.len() + 1);
            self.b.mov_imm(R3, 0);
            self.b.blob_addr(R4, addr);
            self.b.call(abi::FUNC_KALLSYMS_LOOKUP_NAME);
            self.absent_or_fail(
                ext.weak,
                found,
                done,
                format!("find kernel symbol `{}` in kallsyms", ext.name),
            );
            self.b.bind(found);
            self.b.blob_addr(R1, addr);
            self.b.load(Size::DW, R8, R1, 0);
            self.b.mov_reg(R9, R8);
            self.b.rsh_imm(R9, 32);
            for (site, _) in sites {
                self.b.blob_addr(R1, site);
                self.patch_imm64(R8, R9);
            }
            self.b.bind(done);
            return;
        }
        let slot = self.ext_slot[k].expect("kernel-BTF externs have a slot");
        self.b.note(format!(
            "{} `{}`{}: btf_find_by_name_kind(kind {btf_kind}), module BTF fd into fd_array[{slot}]",
            if btf_kind == crate::btf::kind::FUNC { "kernel function" } else { "ksym" },
            ext.name,
            if ext.weak { " (weak)" } else { "" }
        ));
        self.b.blob_addr(R1, name);
        self.b.mov_imm(R2, ext.name.len() + 1);
        self.call_btf_find(btf_kind);
        let what = if btf_kind == crate::btf::kind::FUNC {
            "kernel function"
        } else {
            "kernel variable"
        };
        self.absent_or_fail(
            ext.weak,
            found,
            done,
            format!("find {what} `{}` in kernel BTF", ext.name),
        );
        self.b.bind(found);
        // r8 = BTF id, r9 = BTF object fd (0: vmlinux), r0 = the call's off.
        self.b.mov_reg(R8, R0);
        self.b.mov_reg(R9, R0);
        self.b.rsh_imm(R9, 32);
        self.b.blob_addr(R1, self.fd_array.at(4 * slot));
        self.b.store(Size::W, R1, 0, R9);
        let vmlinux = self.b.label();
        self.b.mov_imm(R0, 0);
        self.b.jump_if(false, BPF_JEQ, R9, 0, vmlinux);
        self.b.mov_imm(R0, slot);
        self.b.bind(vmlinux);
        for (site, kind) in sites {
            self.b.blob_addr(R1, site);
            match kind {
                // imm = the function's BTF id, off = the fd_array slot of its module (0: vmlinux).
                SiteKind::KfuncCall => {
                    self.patch_imm(R8);
                    self.patch_off(R0);
                }
                // An ld_imm64 of the variable: (BTF id, module fd) as BPF_PSEUDO_BTF_ID.
                _ => {
                    self.patch_imm64(R8, R9);
                    let dst = self.insn_dst(site);
                    self.patch_src_reg(abi::BPF_PSEUDO_BTF_ID, dst);
                }
            }
        }
        self.b.bind(done);
    }

    /// After a lookup (result in r0): a found symbol continues at `found`; an absent weak one
    /// skips to `done`; an absent strong one fails the load with the lookup's errno.
    fn absent_or_fail(&mut self, weak: bool, found: Label, done: Label, what: String) {
        self.b.jump_if(true, BPF_JSGE, R0, 0, found);
        if weak {
            // Only "not found" means absent; any other error is a real failure.
            self.b.jump_if(true, BPF_JEQ, R0, -ENOENT, done);
        }
        self.b.mov_reg(RET, R0);
        self.fail(what);
    }

    /// After the last program load: module BTF fds are held by the programs now.
    pub(super) fn close_extern_fds(&mut self) {
        let slots: Vec<usize> = self.ext_slot.iter().flatten().copied().collect();
        if slots.is_empty() {
            return;
        }
        self.b
            .note("close the module BTF fds of kernel symbols (programs hold them now)");
        for slot in slots {
            let off = self.fd_array.at(4 * slot);
            self.close_blob_fd(off);
            self.b.blob_addr(R1, off);
            self.b.store_imm(Size::W, R1, 0, 0);
        }
    }
}
