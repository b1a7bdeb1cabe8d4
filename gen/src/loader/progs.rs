//! Program loads: the `BPF_PROG_LOAD` attr, its attach target (named in the section, or set
//! before load through the ctx), and the log marker before each load.

use super::*;
use crate::target::AttachTarget;

impl Gen<'_> {
    pub(super) fn prog_load(&mut self, j: usize, prog: &Program) {
        use abi::prog_load as f;
        let name = &prog.def.func.name;
        let linked = &prog.linked;
        let insns = self.prog_insns[j];
        let ProgLoadPieces {
            attr,
            records,
            kernel_target,
            size,
        } = push_prog_load(
            &mut self.blob,
            prog,
            self.plan.kern_version,
            self.layout.bound,
        );

        let skip = self.b.label();
        self.b.note(format!(
            "program `{name}`: skipped when its ctx slot is -1 (autoload off)"
        ));
        self.skip_if_off(j, skip);
        if let Some((str_off, t, kind)) = kernel_target {
            self.b.note(format!(
                "attach target of `{name}`: btf_find_by_name_kind(\"{t}\", kind {kind})"
            ));
            self.b.blob_addr(R1, str_off);
            self.b.mov_imm(R2, t.len() + 1);
            self.call_btf_find(kind);
            self.b.mov_reg(RET, R0);
            self.check_err(format!(
                "find attach target `{t}` of program `{name}` in kernel BTF"
            ));
            self.store_attach_target(attr);
        }
        match &prog.target {
            Some(AttachTarget::BeforeLoad {
                prefix,
                btf_kind,
                slot,
            }) => self.runtime_target(j, attr, prefix, *btf_kind, *slot),
            Some(AttachTarget::Freplace { slot }) => self.freplace_target(name, attr, *slot),
            Some(AttachTarget::Kernel { .. }) | None => {}
        }
        self.log_marker();
        self.b.note(format!(
            "prog_load #{j} `{name}` ({} insns)",
            linked.insns.len() / abi::insn::SIZE
        ));
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::INSNS, insns);
        self.set_ptr(f::LICENSE, self.license);
        self.set_ptr(f::FD_ARRAY, self.fd_array);
        for (field, off) in records.into_iter().flatten() {
            self.set_ptr(field, off);
        }
        self.set_fd(f::PROG_BTF_FD, self.btf_fd);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_PROG_LOAD, attr, size);
        self.b
            .store(Size::W, CTX, ctx::prog_fd(self.plan.maps.len(), j), RET);
        if matches!(
            prog.target,
            Some(AttachTarget::Kernel { .. } | AttachTarget::BeforeLoad { .. })
        ) {
            // A module's BTF fd came with the target: the kernel holds its own reference now.
            self.b.blob_addr(R1, attr);
            self.b.load(Size::W, R1, R1, f::ATTACH_BTF_OBJ_FD);
            self.close_r1();
        }
        self.check_err(format!("load program `{name}`{}", self.plan.license_hint()));
        self.b.bind(skip);
    }

    /// Ctx offset of attach-target entry `k`.
    fn target_entry(&self, k: usize) -> usize {
        ctx::target(self.plan.maps.len(), self.plan.programs.len(), k)
    }

    /// With r0 = a found `(btf_obj_fd << 32) | btf_id`: the program attr's `attach_btf_id` and
    /// `attach_btf_obj_fd`.
    fn store_attach_target(&mut self, attr: BlobOff) {
        use abi::prog_load as f;
        self.b.blob_addr(R1, attr);
        self.b.store(Size::W, R1, f::ATTACH_BTF_ID, R0);
        self.b.rsh_imm(R0, 32);
        self.b.store(Size::W, R1, f::ATTACH_BTF_OBJ_FD, R0);
    }

    /// The attach target of program `j`, named by the user before load: its BTF name (with
    /// `prefix`, e.g. `btf_trace_`, already prepended by the runtime) comes through the ctx,
    /// is copied into a blob buffer and looked up like a compile-time target. `k` is the ctx
    /// attach-target entry the plan gave the program.
    fn runtime_target(&mut self, j: usize, attr: BlobOff, prefix: &str, kind: u32, k: usize) {
        let name = self.plan.programs[j].def.func.name.clone();
        let entry = self.target_entry(k);
        let buf = self.blob.reserve(
            TARGET_NAME_MAX,
            format!("attach target of `{name}`, set at load time"),
        );
        self.b.note(format!("attach target of `{name}`: the name the user set (`{prefix}...`, kind {kind}) from ctx entry {k}"));
        let (set, fits) = (self.b.label(), self.b.label());
        self.b.load(Size::DW, R3, CTX, entry + ctx::TARGET_NAME);
        self.b.jump_if(true, BPF_JNE, R3, 0, set);
        self.b.mov_imm(RET, -EINVAL);
        self.fail(format!(
            "program `{name}` has no attach target: set one with `set_attach_target` before load"
        ));
        self.b.bind(set);
        // r9 keeps the size (NUL included), bounded to 1..=TARGET_NAME_MAX for the verifier.
        let bad = self.b.label();
        self.b.load(Size::W, R9, CTX, entry + ctx::TARGET_NAME_SZ);
        self.b.jump_if(false, BPF_JEQ, R9, 0, bad);
        self.b.jump_if(false, BPF_JLE, R9, TARGET_NAME_MAX, fits);
        self.b.bind(bad);
        self.b.mov_imm(RET, -ENAMETOOLONG);
        self.fail(format!(
            "the attach target set for program `{name}` is empty or longer than {} bytes",
            TARGET_NAME_MAX - 1
        ));
        self.b.bind(fits);
        self.b.blob_addr(R1, buf);
        self.b.mov_reg(R2, R9);
        self.b.call(abi::FUNC_COPY_FROM_USER);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "copy the attach target of program `{name}` from user memory"
        ));
        self.b.blob_addr(R1, buf);
        self.b.mov_reg(R2, R9);
        self.call_btf_find(kind);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "find the attach target set for program `{name}` in kernel BTF"
        ));
        self.store_attach_target(attr);
    }

    /// A `freplace` program's target, given before load: the program to extend (its fd goes to
    /// `attach_prog_fd`; it stays the user's, the loader does not close it) and the BTF id of
    /// the function it replaces.
    fn freplace_target(&mut self, name: &str, attr: BlobOff, k: usize) {
        use abi::prog_load as f;
        let entry = self.target_entry(k);
        self.b.note(format!(
            "freplace `{name}`: target program fd and function BTF id from the ctx"
        ));
        let set = self.b.label();
        self.b.load(Size::W, R2, CTX, entry + ctx::TARGET_PROG_FD);
        self.b.jump_if(false, BPF_JSGE, R2, 1, set);
        self.b.mov_imm(RET, -EINVAL);
        self.fail(format!("program `{name}` has no target program: set one with `set_attach_target_prog` before load"));
        self.b.bind(set);
        self.b.blob_addr(R1, attr);
        self.b.store(Size::W, R1, f::ATTACH_BTF_OBJ_FD, R2);
        self.b.load(Size::W, R2, CTX, entry + ctx::TARGET_BTF_ID);
        self.b.store(Size::W, R1, f::ATTACH_BTF_ID, R2);
    }

    /// When the ctx asks for a log: a `BTF_LOAD` of four zero bytes with the log fields, which
    /// the kernel refuses writing a short known message (`LOG_MARKER`) into the log buffer.
    /// The program load that follows writes its own log over it; one refused before
    /// verification (EPERM for a locked-down type) writes none, and the marker left in the
    /// buffer tells the runtime so, instead of it showing an earlier step's log as this one's.
    fn log_marker(&mut self) {
        use abi::btf_load as f;
        let attr = log_marker_attr(&mut self.blob, &mut self.marker_attr);
        let (none, refused) = (self.b.label(), self.b.label());
        self.b
            .note("log marker: a refused BTF_LOAD writes a known line into the log buffer");
        self.b.load(Size::W, R2, CTX, ctx::LOG_LEVEL);
        self.b.jump_if(false, BPF_JEQ, R2, 0, none);
        self.b.blob_addr(R1, attr);
        self.set_ptr(f::BTF, self.zero_key);
        self.set_log(f::LOG_LEVEL, f::LOG_SIZE, f::LOG_BUF);
        self.sys_bpf(abi::BPF_BTF_LOAD, attr, f::SIZE);
        // Four bytes are never a valid BTF; should a kernel take them, close what it made.
        self.b.jump_if(true, BPF_JSLE, RET, 0, refused);
        self.b.mov_reg(R1, RET);
        self.b.call(abi::FUNC_SYS_CLOSE);
        self.b.bind(refused);
        self.b.bind(none);
    }
}

/// The blob pieces of one program's `BPF_PROG_LOAD`, pushed the same way by both loaders: the
/// attr (pointer fields left for the loader to fill), the func_info / line_info / CO-RE records
/// it points at (with the attr field of each), and the NUL-terminated name of an attach target
/// the section names (with the name and its BTF kind).
pub(crate) struct ProgLoadPieces<'p> {
    pub attr: BlobOff,
    pub records: [Option<(usize, BlobOff)>; 3],
    pub kernel_target: Option<(BlobOff, &'p str, u32)>,
    /// The attr's size: up to `fd_array_cnt` when the program binds maps, else
    /// [`abi::prog_load::SIZE`] (what kernels before `fd_array_cnt` accept too).
    pub size: usize,
}

/// Pushes [`ProgLoadPieces`] of `prog` into `blob`, in the order both loaders' snapshots show.
pub(crate) fn push_prog_load<'p>(
    blob: &mut Blob,
    prog: &'p Program,
    kern_version: u32,
    bound: usize,
) -> ProgLoadPieces<'p> {
    use abi::prog_load as f;
    let name = &prog.def.func.name;
    let linked = &prog.linked;
    let mut flags = 0;
    if prog.def.def.sleepable() {
        flags |= BPF_F_SLEEPABLE;
    }
    if prog.def.def.xdp_frags() {
        flags |= BPF_F_XDP_HAS_FRAGS;
    }
    let core = linked.core_relos.count();
    // `fd_array_cnt` > 0: the kernel binds the maps of `fd_array[0..bound)` to the program
    // (the `.rodata` maps, first in `fd_array`: `FdLayout`), as libbpf binds them with one
    // BPF_PROG_BIND_MAP per map and program after the load.
    let size = if bound > 0 {
        f::SIZE_FD_ARRAY_CNT
    } else {
        f::SIZE
    };
    let mut attr = Attr::new(size);
    attr.u32(f::PROG_TYPE, prog.def.def.prog_type)
        .u32(f::INSN_CNT, (linked.insns.len() / abi::insn::SIZE) as u32)
        .u32(f::KERN_VERSION, kern_version)
        .u32(f::PROG_FLAGS, flags)
        .name(f::PROG_NAME, name)
        .u32(f::EXPECTED_ATTACH_TYPE, prog.expected_attach_type)
        .u32(f::FUNC_INFO_REC_SIZE, linked.func_info.rec_size)
        .u32(f::FUNC_INFO_CNT, linked.func_info.count())
        .u32(f::LINE_INFO_REC_SIZE, linked.line_info.rec_size)
        .u32(f::LINE_INFO_CNT, linked.line_info.count())
        .u32(f::CORE_RELO_CNT, core)
        .u32(
            f::CORE_RELO_REC_SIZE,
            if core > 0 {
                linked.core_relos.rec_size
            } else {
                0
            },
        );
    if bound > 0 {
        attr.u32(f::FD_ARRAY_CNT, bound as u32);
    }
    let records = [
        (f::FUNC_INFO, &linked.func_info, "func_info"),
        (f::LINE_INFO, &linked.line_info, "line_info"),
        (f::CORE_RELOS, &linked.core_relos, "CO-RE relocations"),
    ]
    .map(|(field, recs, what)| {
        (recs.count() > 0).then(|| (field, blob.push(&recs.bytes, format!("{what} of `{name}`"))))
    });
    let kernel_target = prog.kernel_target().map(|(t, kind)| {
        let off = blob.push(&nul_terminated(t), format!("attach target of `{name}`"));
        (off, t, kind)
    });
    let attr = blob.push(&attr.0, format!("PROG_LOAD attr of `{name}`"));
    ProgLoadPieces {
        attr,
        records,
        kernel_target,
        size,
    }
}

/// The `BTF_LOAD` attr of the log marker (four bytes of BTF), pushed into `blob` the first
/// time and kept in `cached` for the later markers.
pub(crate) fn log_marker_attr(blob: &mut Blob, cached: &mut Option<BlobOff>) -> BlobOff {
    use abi::btf_load as f;
    *cached.get_or_insert_with(|| {
        let mut attr = Attr::new(f::SIZE);
        attr.u32(f::BTF_SIZE, 4);
        blob.push(&attr.0, "BTF_LOAD attr of the log marker")
    })
}
