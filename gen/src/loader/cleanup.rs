//! The end of the loader: success closes the BTF fd; the cleanup block every failure jumps
//! to records the step and closes every fd made so far.

use super::*;

impl Gen<'_> {
    pub(super) fn epilogue(&mut self) {
        self.b
            .note("success: close the BTF fd (maps and programs hold it), return 0");
        self.close_blob_fd(self.btf_fd);
        self.b.mov_imm(R0, 0);
        self.b.exit();

        self.b
            .note("cleanup: close every fd made so far, return the error");
        self.b.bind(self.cleanup);
        let n_maps = self.plan.maps.len();
        self.b.store(
            Size::W,
            CTX,
            ctx::status(n_maps, self.plan.programs.len()),
            R8,
        );
        for j in 0..self.plan.programs.len() {
            self.b.load(Size::W, R1, CTX, ctx::prog_fd(n_maps, j));
            self.close_r1();
        }
        for i in 0..n_maps {
            self.close_blob_fd(self.map_slot(i));
        }
        for slot in self.ext_slot.clone().into_iter().flatten() {
            self.close_blob_fd(self.fd_array.at(4 * slot));
        }
        if self.plan.maps.iter().any(|m| m.inner.is_some()) {
            self.close_blob_fd(self.inner_fd);
        }
        self.close_blob_fd(self.btf_fd);
        self.b.mov_reg(R0, RET);
        self.b.exit();
    }
}
