//! The pieces every step is made of: call `bpf_sys_bpf` on an attr in the blob, fill the
//! attr's pointer, fd and log fields at run time, and on error record the step and go to the
//! cleanup.

use super::*;

impl Gen<'_> {
    pub(super) fn map_slot(&self, i: usize) -> BlobOff {
        self.fd_array.at(4 * self.layout.slots[i])
    }

    /// Jumps to `skip` when program `j`'s ctx slot says it is not to be loaded.
    pub(super) fn skip_if_off(&mut self, j: usize, skip: Label) {
        self.b
            .load(Size::W, R1, CTX, ctx::prog_fd(self.plan.maps.len(), j));
        self.b.jump_if(false, BPF_JEQ, R1, ctx::PROG_SKIP, skip);
    }

    /// `r7 = bpf_sys_bpf(cmd, &blob[attr], size)`
    pub(super) fn sys_bpf(&mut self, cmd: i32, attr: BlobOff, size: usize) {
        self.b.mov_imm(R1, cmd);
        self.b.blob_addr(R2, attr);
        self.b.mov_imm(R3, size);
        self.b.call(abi::FUNC_SYS_BPF);
        self.b.mov_reg(RET, R0);
    }

    /// `if r7 < 0 goto cleanup`, as a short skip over a long jump.
    /// On failure the step's number goes to r8 for the ctx status; the success path runs
    /// only the one compare, so reporting costs nothing when nothing fails.
    pub(super) fn check_err(&mut self, step: String) {
        let ok = self.b.label();
        self.b.jump_if(true, BPF_JSGE, RET, 0, ok);
        self.fail(step);
        self.b.bind(ok);
    }

    /// `r8 = number of step; goto cleanup` (r7 holds the errno).
    pub(super) fn fail(&mut self, step: String) {
        self.steps.push(step);
        self.b.mov_imm(R8, self.steps.len());
        self.b.goto_long(self.cleanup);
    }

    /// With r1 = &attr: `attr.field = &blob[target]`.
    pub(super) fn set_ptr(&mut self, field: usize, target: BlobOff) {
        self.b.blob_addr(R2, target);
        self.b.store(Size::DW, R1, field, R2);
    }

    /// With r1 = &attr: `attr.field = fd stored at blob[slot]`.
    pub(super) fn set_fd(&mut self, field: usize, slot: BlobOff) {
        self.b.blob_addr(R2, slot);
        self.b.load(Size::W, R2, R2, 0);
        self.b.store(Size::W, R1, field, R2);
    }

    /// With r1 = &attr: copy the ctx log settings into the three log fields.
    pub(super) fn set_log(&mut self, level: usize, size: usize, buf: usize) {
        self.b.load(Size::W, R2, CTX, ctx::LOG_LEVEL);
        self.b.store(Size::W, R1, level, R2);
        self.b.load(Size::W, R2, CTX, ctx::LOG_SIZE);
        self.b.store(Size::W, R1, size, R2);
        self.b.load(Size::DW, R2, CTX, ctx::LOG_BUF);
        self.b.store(Size::DW, R1, buf, R2);
    }

    /// `r0 = bpf_btf_find_by_name_kind(r1, r2, kind, 0)`: r1 and r2 (name and size with its
    /// NUL) are set by the caller. The result is `(btf_obj_fd << 32) | btf_id` or -errno.
    pub(super) fn call_btf_find(&mut self, kind: u32) {
        self.b.mov_imm(R3, kind);
        self.b.mov_imm(R4, 0);
        self.b.call(abi::FUNC_BTF_FIND_BY_NAME_KIND);
    }

    /// Closes the fd in `r1` when it is > 0 (32-bit signed compare).
    pub(super) fn close_r1(&mut self) {
        let skip = self.b.label();
        self.b.jump_if(false, BPF_JSLE, R1, 0, skip);
        self.b.call(abi::FUNC_SYS_CLOSE);
        self.b.bind(skip);
    }

    pub(super) fn close_blob_fd(&mut self, slot: BlobOff) {
        self.b.blob_addr(R1, slot);
        self.b.load(Size::W, R1, R1, 0);
        self.close_r1();
    }
}
