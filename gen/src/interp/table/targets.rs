//! Attach targets given before load, as ops: a name the user set (copied from user memory,
//! then looked up in kernel BTF) or a `freplace` target program and function.

use super::*;

impl Table<'_> {
    /// The attach target named by the user before load, in ctx attach-target entry `k`: the
    /// name (prefix included) is copied from user memory into a blob buffer, then looked up
    /// in kernel BTF as `btf_kind`.
    pub(super) fn runtime_target(&mut self, name: &str, attr: BlobOff, btf_kind: u32, k: usize) {
        use abi::prog_load as f;
        let (n_maps, n_progs) = (self.plan.maps.len(), self.plan.programs.len());
        let entry = ctx::target(n_maps, n_progs, k);
        let buf = self.blob.reserve(
            TARGET_NAME_MAX,
            format!("attach target of `{name}`, set at load time"),
        );
        let (ptr, size) = (
            self.area(entry + ctx::TARGET_NAME),
            self.area(entry + ctx::TARGET_NAME_SZ),
        );
        let set = self.label();
        self.jump(cond::NE, ptr, u32::MAX, 0, set);
        self.jump(cond::NE, ptr + 4, u32::MAX, 0, set);
        self.fail(EINVAL, format!("program `{name}` has no attach target: set one with `set_attach_target` before load"));
        self.bind(set);
        let (bad, fits) = (self.label(), self.label());
        self.jump(cond::SLT, size, u32::MAX, 1, bad);
        self.jump(cond::SLT, size, u32::MAX, TARGET_NAME_MAX as u32 + 1, fits);
        self.bind(bad);
        self.fail(
            ENAMETOOLONG,
            format!(
                "the attach target set for program `{name}` is empty or longer than {} bytes",
                TARGET_NAME_MAX - 1
            ),
        );
        self.bind(fits);
        let mut op = Op::new(kind::READ);
        op.flags = flag::INDIRECT;
        (op.a, op.b, op.c) = (ptr, buf.0, size);
        op.step = self.step(format!(
            "copy the attach target of program `{name}` from user memory"
        ));
        self.push(op);
        let mut op = Op::new(kind::FIND);
        op.flags = flag::INDIRECT;
        (op.a, op.b, op.c, op.d) = (buf.0, size, btf_kind, attr.at(f::ATTACH_BTF_ID).0);
        op.step = self.step(format!(
            "find the attach target set for program `{name}` in kernel BTF"
        ));
        self.push(op);
        self.target_fds.push(attr.at(f::ATTACH_BTF_OBJ_FD).0);
    }

    /// A `freplace` program's target, given before load in ctx attach-target entry `k`: the
    /// program to extend (its fd, the user's, goes to `attach_prog_fd`) and the BTF id of the
    /// function it replaces.
    pub(super) fn freplace_target(&mut self, name: &str, attr: BlobOff, k: usize) {
        use abi::prog_load as f;
        let (n_maps, n_progs) = (self.plan.maps.len(), self.plan.programs.len());
        let entry = ctx::target(n_maps, n_progs, k);
        let (prog_fd, set) = (self.area(entry + ctx::TARGET_PROG_FD), self.label());
        self.jump(cond::SGE, prog_fd, u32::MAX, 1, set);
        self.fail(EINVAL, format!("program `{name}` has no target program: set one with `set_attach_target_prog` before load"));
        self.bind(set);
        self.copy(prog_fd, attr.at(f::ATTACH_PROG_FD).0, false);
        let btf_id = self.area(entry + ctx::TARGET_BTF_ID);
        self.copy(btf_id, attr.at(f::ATTACH_BTF_ID).0, false);
    }
}
