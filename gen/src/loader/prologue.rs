//! Before any step that can fail: ctx in r6, program fd slots cleared, the blob's fd slots
//! zeroed, reused map fds taken over; then the object's BTF is loaded.

use super::*;

impl Gen<'_> {
    pub(super) fn prologue(&mut self) {
        self.b
            .note("prologue: keep ctx in r6, clear the program fd slots of the ctx");
        self.b.mov_reg(CTX, R1);
        // A program slot preset to -1 (autoload off) stays -1: skipped, reported absent.
        for j in 0..self.plan.programs.len() {
            let off = ctx::prog_fd(self.plan.maps.len(), j);
            let skip = self.b.label();
            self.b.load(Size::W, R1, CTX, off);
            self.b.jump_if(false, BPF_JEQ, R1, ctx::PROG_SKIP, skip);
            self.b.store_imm(Size::W, CTX, off, 0);
            self.b.bind(skip);
        }
        self.zero_blob_fd_slots();
        self.take_reused_maps();
    }

    /// For each map: when its ctx descriptor says reuse (`set & REUSE`), its `map_fd` goes to
    /// the map's `fd_array` slot; otherwise `map_fd` is cleared. This runs before any step that
    /// can fail, so from here the loader owns every reused fd: the cleanup closes it with the
    /// maps it made, and success hands it back in `map_fd`.
    fn take_reused_maps(&mut self) {
        use ctx::{map as d, set};
        if self.plan.maps.is_empty() {
            return;
        }
        self.b.note(
            "maps to reuse (ctx set & REUSE): their fds go to fd_array, owned by the loader now; other map fd slots of the ctx are cleared",
        );
        for i in 0..self.plan.maps.len() {
            let (clear, next) = (self.b.label(), self.b.label());
            self.b.load(Size::W, R2, CTX, ctx::map_desc(i) + d::SET);
            self.b.and_imm(R2, set::REUSE as i32);
            self.b.jump_if(true, BPF_JEQ, R2, 0, clear);
            self.b.load(Size::W, R2, CTX, ctx::map_fd(i));
            self.b.blob_addr(R1, self.map_slot(i));
            self.b.store(Size::W, R1, 0, R2);
            self.b.goto_long(next);
            self.b.bind(clear);
            self.b.store_imm(Size::W, CTX, ctx::map_fd(i), 0);
            self.b.bind(next);
        }
    }

    /// Zeroes every blob slot the cleanup closes (the `fd_array` of map and module BTF fds,
    /// the BTF fd, the inner map template fd): the blob comes from user space, and a slot that
    /// held a number there would make a failed load close a descriptor it never created.
    fn zero_blob_fd_slots(&mut self) {
        let (start, end) = (self.fd_array.0 as usize, self.inner_fd.0 as usize + 4);
        // Reserved one after the other at the start of the blob (with alignment padding).
        debug_assert!(
            self.fd_array.0 < self.btf_fd.0 && self.btf_fd.0 < self.inner_fd.0,
            "the fd slots are one area"
        );
        self.b
            .note("zero the blob's fd slots: the cleanup closes only what this run made");
        // Stores address at most i16::MAX bytes past r1: rebase every so often.
        const REACH: usize = 32_760;
        let mut base = start;
        while base < end {
            let stop = end.min(base + REACH);
            self.b.blob_addr(R1, BlobOff(base as u32));
            let mut off = base;
            while off < stop {
                let (size, len) = if stop - off >= 8 {
                    (Size::DW, 8)
                } else {
                    (Size::W, 4)
                };
                self.b.store_imm(size, R1, off - base, 0);
                off += len;
            }
            base = stop;
        }
    }

    pub(super) fn load_btf(&mut self) {
        use abi::btf_load as f;
        let bytes = self.plan.btf.to_bytes();
        let data = self.blob.push(&bytes, "BTF");
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::BTF_SIZE, bytes.len() as u32);
        let attr = self.blob.push(&attr.0, "BTF_LOAD attr");
        self.b.note(format!("load BTF ({} bytes)", bytes.len()));
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::BTF, data);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_BTF_LOAD, attr, f::SIZE);
        self.b.blob_addr(R1, self.btf_fd);
        self.b.store(Size::W, R1, 0, RET);
        self.check_err("load BTF".to_string());
    }
}
