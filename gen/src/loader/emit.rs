//! Instruction-level building blocks of the loader program: encoders for the few
//! instruction forms it uses, labels resolved at the end (no hand-counted jumps), and
//! notes that name each step for the disassembly.
//!
//! Every value that becomes an instruction's `off` (16 bits) or `imm` (32 bits) field goes
//! through one checked conversion, `Builder::fit`. A value that does not fit is encoded as 0
//! and the first such failure is kept (sticky, as gen_loader.c keeps `gen->error`), naming
//! what was being encoded and in which step; [`Builder::finish`] returns it as
//! [`Error::Limit`], so a layout that cannot be encoded never becomes a loader.

use std::collections::BTreeMap;

use crate::abi::*;
use crate::error::{Error, Result};
use crate::loader::blob::BlobOff;
use crate::plan::Plan;

/// Register roles, fixed for the whole loader.
pub mod reg {
    /// Return value of helper calls.
    pub const R0: u8 = 0;
    /// First helper argument.
    pub const R1: u8 = 1;
    /// Second helper argument.
    pub const R2: u8 = 2;
    /// Third helper argument.
    pub const R3: u8 = 3;
    /// Fourth helper argument.
    pub const R4: u8 = 4;
    /// The ctx pointer, for the whole program.
    pub const CTX: u8 = 6;
    /// Result of the last syscall step (errno source for cleanup).
    pub const RET: u8 = 7;
    /// Scratch kept across helper calls (a resolved BTF id or address).
    pub const R8: u8 = 8;
    /// Scratch kept across helper calls (a resolved BTF fd or address high half).
    pub const R9: u8 = 9;
}

/// Access sizes.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// 1 byte
    B,
    /// 2 bytes
    H,
    /// 4 bytes
    W,
    /// 8 bytes
    DW,
}

impl Size {
    fn bits(self) -> u8 {
        match self {
            Size::B => BPF_B,
            Size::H => BPF_H,
            Size::W => BPF_W,
            Size::DW => BPF_DW,
        }
    }
}

/// A jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum JumpKind {
    /// 16-bit `off` field.
    Short,
    /// `gotol`: 32-bit `imm` field.
    Long,
    /// `ld_imm64` of a subprogram (BPF_PSEUDO_FUNC): 32-bit `imm` field.
    Func,
}

/// An instruction field a value is encoded into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// `off` of a memory access: signed 16 bits.
    Off,
    /// `imm`: signed 32 bits.
    Imm,
    /// `off` of a conditional jump: signed 16 bits, in instructions.
    JumpOff,
    /// `imm` of a `gotol`: signed 32 bits, in instructions.
    JumpImm,
}

impl Field {
    fn range(self) -> (i64, i64) {
        match self {
            Field::Off | Field::JumpOff => (i16::MIN.into(), i16::MAX.into()),
            Field::Imm | Field::JumpImm => (i32::MIN.into(), i32::MAX.into()),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Off => "16-bit instruction offset",
            Field::Imm => "32-bit instruction immediate",
            Field::JumpOff => "16-bit jump offset",
            Field::JumpImm => "32-bit offset of `gotol`",
        }
    }
}

/// An integer headed for an instruction's 32-bit `imm` field. Callers pass sizes, counts and
/// ids as they are (no `as i32`): the builder checks the range when it encodes them.
pub trait ImmValue: Copy {
    /// The value, widened (a `usize` beyond `i64` saturates, and so fails the check).
    fn widen(self) -> i64;
}

impl ImmValue for i32 {
    fn widen(self) -> i64 {
        self.into()
    }
}

impl ImmValue for u32 {
    fn widen(self) -> i64 {
        self.into()
    }
}

impl ImmValue for usize {
    fn widen(self) -> i64 {
        i64::try_from(self).unwrap_or(i64::MAX)
    }
}

/// What the loader's ctx holds, to name a ctx offset in an error.
#[derive(Clone, Debug, Default)]
struct CtxNames {
    maps: Vec<String>,
    progs: Vec<String>,
    /// The programs with an attach-target entry, in entry order.
    targets: Vec<String>,
}

impl CtxNames {
    /// The ctx field at `off`, e.g. "`map_fd` of map #2047 `m2047`".
    fn field(&self, off: usize) -> String {
        let (n_maps, n_progs) = (self.maps.len(), self.progs.len());
        let maps_end = ctx::prog_fd(n_maps, 0);
        let status = ctx::status(n_maps, n_progs);
        let targets = ctx::target(n_maps, n_progs, 0);
        if off < ctx::HEADER_SIZE {
            let name = match off {
                ctx::SZ => "sz",
                ctx::FLAGS => "flags",
                ctx::LOG_LEVEL => "log_level",
                ctx::LOG_SIZE => "log_size",
                _ => "log_buf",
            };
            format!("`{name}` of the header")
        } else if off < maps_end {
            let i = (off - ctx::HEADER_SIZE) / ctx::MAP_DESC_SIZE;
            let name = match off - ctx::map_fd(i) {
                ctx::map::FD => "map_fd",
                ctx::map::MAX_ENTRIES => "max_entries",
                ctx::map::INITIAL_VALUE => "initial_value",
                ctx::map::SET => "set",
                ctx::map::KEY_SIZE => "key_size",
                ctx::map::VALUE_SIZE => "value_size",
                ctx::map::MAP_FLAGS => "map_flags",
                ctx::map::NUMA_NODE => "numa_node",
                ctx::map::INNER_MAP_FD => "inner_map_fd",
                _ => "map_extra",
            };
            format!("`{name}` of map #{i} `{}`", self.maps[i])
        } else if off < status {
            let j = (off - maps_end) / ctx::PROG_DESC_SIZE;
            format!("`prog_fd` of program #{j} `{}`", self.progs[j])
        } else if off < targets {
            let name = if off < ctx::possible_cpus(n_maps, n_progs) {
                "failed_step"
            } else {
                "possible_cpus"
            };
            format!("`{name}` of the status trailer")
        } else {
            let k = (off - targets) / ctx::TARGET_SIZE;
            let name = match (off - targets) % ctx::TARGET_SIZE {
                f if f < ctx::TARGET_NAME_SZ => "name",
                f if f < ctx::TARGET_PROG_FD => "name_sz",
                ctx::TARGET_PROG_FD => "attach_prog_fd",
                ctx::TARGET_BTF_ID => "attach_btf_id",
                _ => "reserved",
            };
            let prog = self.targets.get(k).map_or("?", String::as_str);
            format!("`{name}` of attach-target entry #{k} (program `{prog}`)")
        }
    }
}

/// Why a ctx offset must fit the instruction's own `off` field.
const CTX_REACH: &str = "the loader reaches ctx fields only as r6 + offset, as the verifier refuses a modified ctx pointer";

/// The instruction stream under construction.
#[derive(Debug, Default)]
pub struct Builder {
    insns: Vec<[u8; INSN_SIZE]>,
    labels: Vec<Option<usize>>,
    jumps: Vec<(usize, Label, JumpKind)>,
    notes: BTreeMap<usize, String>,
    /// The first value that did not fit its field.
    error: Option<Error>,
    /// Names of ctx offsets, when the builder emits a loader for a plan.
    ctx: Option<CtxNames>,
}

impl Builder {
    /// A builder for `plan`'s loader: ctx offsets in errors are named after its maps and
    /// programs.
    pub fn for_plan(plan: &Plan) -> Builder {
        Builder {
            ctx: Some(CtxNames {
                maps: plan.maps.iter().map(|m| m.name.clone()).collect(),
                progs: plan
                    .programs
                    .iter()
                    .map(|p| p.def.func.name.clone())
                    .collect(),
                targets: (plan.targets.iter())
                    .map(|&j| plan.programs[j].def.func.name.clone())
                    .collect(),
            }),
            ..Builder::default()
        }
    }

    /// The one checked conversion of a value into an instruction field: returns `value` when
    /// it is in `field`'s range, else 0, recording the first failure for [`Builder::finish`].
    /// `what` names the value ("ctx offset 32776 (...)"), given the builder, and is only built
    /// on failure; `at` is the instruction, whose step (the last note at or before it) the
    /// error names.
    fn fit(
        &mut self,
        field: Field,
        value: i64,
        at: usize,
        what: impl FnOnce(&Builder) -> String,
    ) -> i64 {
        let (min, max) = field.range();
        if (min..=max).contains(&value) {
            return value;
        }
        if self.error.is_none() {
            let step = self
                .notes
                .range(..=at)
                .next_back()
                .and_then(|(_, n)| n.lines().last())
                .map(|n| format!(", in loader step \"{n}\""))
                .unwrap_or_default();
            let bound = if value > max {
                format!("max {max}")
            } else {
                format!("min {min}")
            };
            let what = what(self);
            self.error = Some(Error::Limit {
                what: format!("{what} does not fit the {} ({bound}){step}", field.name()),
            });
        }
        0
    }

    /// `off` of an access to `base + off`.
    fn mem_off(&mut self, base: u8, off: usize) -> i16 {
        let wide = i64::try_from(off).unwrap_or(i64::MAX);
        let what = |b: &Builder| match (base, &b.ctx) {
            (reg::CTX, Some(names)) => {
                format!("ctx offset {off} ({}; {CTX_REACH})", names.field(off))
            }
            (reg::CTX, None) => format!("ctx offset {off}"),
            _ => format!("offset {off} from r{base}"),
        };
        self.fit(Field::Off, wide, self.pos(), what) as i16
    }

    /// `imm` of the instruction being emitted.
    fn imm(&mut self, value: impl ImmValue, what: &str) -> i32 {
        let wide = value.widen();
        self.fit(Field::Imm, wide, self.pos(), |_| format!("{what} {wide}")) as i32
    }

    /// Current instruction index.
    pub fn pos(&self) -> usize {
        self.insns.len()
    }

    /// Names the step that starts here, for the disassembly.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.notes
            .entry(self.pos())
            .and_modify(|n| {
                n.push('\n');
                n.push_str(&text);
            })
            .or_insert(text);
    }

    fn raw(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(encode(code, dst, src, off, imm));
    }

    /// `dst = src` (64-bit)
    pub fn mov_reg(&mut self, dst: u8, src: u8) {
        self.raw(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
    }

    /// `dst = imm`: a plain `ld_imm64` of a full 64-bit constant.
    pub fn ld_imm64(&mut self, dst: u8, imm: u64) {
        self.raw(LD_IMM64, dst, 0, 0, imm as u32 as i32);
        self.raw(0, 0, 0, 0, (imm >> 32) as u32 as i32);
    }

    /// `dst = &map`: a `ld_imm64` of the loader map itself (`BPF_PSEUDO_MAP_IDX` of
    /// `fd_array[0]`), the kernel's `struct bpf_map`, not its value.
    pub fn loader_map(&mut self, dst: u8) {
        self.raw(LD_IMM64, dst, BPF_PSEUDO_MAP_IDX, 0, 0);
        self.raw(0, 0, 0, 0, 0);
    }

    /// `dst = imm` (64-bit, sign-extended)
    pub fn mov_imm(&mut self, dst: u8, imm: impl ImmValue) {
        let imm = self.imm(imm, "immediate");
        self.raw(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
    }

    /// `dst >>= imm` (64-bit logical)
    pub fn rsh_imm(&mut self, dst: u8, imm: impl ImmValue) {
        let imm = self.imm(imm, "shift");
        self.raw(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
    }

    /// `dst &= imm` (64-bit)
    pub fn and_imm(&mut self, dst: u8, imm: i32) {
        self.raw(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
    }

    /// `dst += src` (64-bit)
    pub fn add_reg(&mut self, dst: u8, src: u8) {
        self.raw(BPF_ALU64 | BPF_ADD | BPF_X, dst, src, 0, 0);
    }

    /// `dst = *(size *)(src + off)`
    pub fn load(&mut self, size: Size, dst: u8, src: u8, off: usize) {
        let off = self.mem_off(src, off);
        self.raw(BPF_LDX | BPF_MEM | size.bits(), dst, src, off, 0);
    }

    /// `*(size *)(dst + off) = src`
    pub fn store(&mut self, size: Size, dst: u8, off: usize, src: u8) {
        let off = self.mem_off(dst, off);
        self.raw(BPF_STX | BPF_MEM | size.bits(), dst, src, off, 0);
    }

    /// `*(size *)(dst + off) = imm`
    pub fn store_imm(&mut self, size: Size, dst: u8, off: usize, imm: impl ImmValue) {
        let off = self.mem_off(dst, off);
        let imm = self.imm(imm, "stored immediate");
        self.raw(BPF_ST | BPF_MEM | size.bits(), dst, 0, off, imm);
    }

    /// `dst = &blob[off]`: a `ld_imm64` of the loader map's value address (the loader map
    /// is `fd_array[0]` of the loader program).
    pub fn blob_addr(&mut self, dst: u8, off: BlobOff) {
        let imm = self.imm(off.0, "blob offset");
        self.raw(LD_IMM64, dst, BPF_PSEUDO_MAP_IDX_VALUE, 0, 0);
        self.raw(0, 0, 0, 0, imm);
    }

    /// `dst <op>= imm` (64-bit ALU, `op` a `BPF_*` operation code).
    pub fn alu_imm(&mut self, op: u8, dst: u8, imm: impl ImmValue) {
        let imm = self.imm(imm, "ALU immediate");
        self.raw(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
    }

    /// `dst <op>= src` (64-bit ALU).
    pub fn alu_reg(&mut self, op: u8, dst: u8, src: u8) {
        self.raw(BPF_ALU64 | op | BPF_X, dst, src, 0, 0);
    }

    /// `if dst <op> src goto label` (64-bit compare when `wide`, else 32-bit).
    pub fn jump_reg(&mut self, wide: bool, op: u8, dst: u8, src: u8, label: Label) {
        let class = if wide { BPF_JMP } else { BPF_JMP32 };
        self.jumps.push((self.pos(), label, JumpKind::Short));
        self.raw(class | op | BPF_X, dst, src, 0, 0);
    }

    /// `may_goto label`: taken once the kernel's per-run budget of such jumps (8M) is used
    /// up. A loop headed by one is verified until its state converges, not unrolled.
    pub fn may_goto(&mut self, label: Label) {
        self.jumps.push((self.pos(), label, JumpKind::Short));
        self.raw(BPF_JMP | BPF_JCOND, 0, 0, 0, 0);
    }

    /// `dst = &label`: an `ld_imm64` of a subprogram's address (BPF_PSEUDO_FUNC), what
    /// `bpf_loop` takes as its callback.
    pub fn func_addr(&mut self, dst: u8, label: Label) {
        self.jumps.push((self.pos(), label, JumpKind::Func));
        self.raw(LD_IMM64, dst, BPF_PSEUDO_FUNC, 0, 0);
        self.raw(0, 0, 0, 0, 0);
    }

    /// `call helper`
    pub fn call(&mut self, helper: i32) {
        self.raw(CALL, 0, 0, 0, helper);
    }

    /// `exit`
    pub fn exit(&mut self) {
        self.raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }

    /// A new, not yet placed label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the current position.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.pos());
    }

    /// `if dst <op> imm goto label` (64-bit compare when `wide`, else 32-bit).
    pub fn jump_if(&mut self, wide: bool, op: u8, dst: u8, imm: impl ImmValue, label: Label) {
        let class = if wide { BPF_JMP } else { BPF_JMP32 };
        let imm = self.imm(imm, "compared immediate");
        self.jumps.push((self.pos(), label, JumpKind::Short));
        self.raw(class | op | BPF_K, dst, 0, 0, imm);
    }

    /// `gotol label`: an unconditional jump with a 32-bit offset, so no loader is ever
    /// too large for its error branches.
    pub fn goto_long(&mut self, label: Label) {
        self.jumps.push((self.pos(), label, JumpKind::Long));
        self.raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 0);
    }

    /// Resolves jumps; returns the instruction bytes and the notes, or the first value that
    /// did not fit its field.
    pub fn finish(mut self) -> Result<(Vec<u8>, BTreeMap<usize, String>)> {
        for (site, label, kind) in std::mem::take(&mut self.jumps) {
            let target = self.labels[label.0].ok_or_else(|| Error::Limit {
                what: "internal: jump to an unplaced label".into(),
            })?;
            let rel = target as i64 - site as i64 - 1;
            let what = |_: &Builder| format!("loader jump of {rel} instructions");
            match kind {
                JumpKind::Short => {
                    let off = self.fit(Field::JumpOff, rel, site, what) as i16;
                    self.insns[site][OFF_AT..OFF_AT + 2].copy_from_slice(&off.to_le_bytes());
                }
                JumpKind::Long | JumpKind::Func => {
                    let imm = self.fit(Field::JumpImm, rel, site, what) as i32;
                    self.insns[site][IMM_AT..IMM_AT + 4].copy_from_slice(&imm.to_le_bytes());
                }
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.insns.concat(), self.notes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit_text(b: Builder) -> String {
        match b.finish() {
            Err(Error::Limit { what }) => what,
            other => panic!("expected Error::Limit, got {other:?}"),
        }
    }

    /// The `off` field of instruction `i`.
    fn off_of(insns: &[u8], i: usize) -> i16 {
        i16::from_le_bytes([insns[8 * i + 2], insns[8 * i + 3]])
    }

    #[test]
    fn offsets_up_to_the_field_limit_are_encoded_exactly() {
        let mut b = Builder::default();
        b.load(Size::W, reg::R1, reg::CTX, 32764);
        b.store(Size::B, reg::CTX, 32767, reg::R1);
        b.store_imm(Size::W, reg::R1, 0, 7);
        b.mov_imm(reg::R2, i32::MIN);
        b.mov_imm(reg::R2, i32::MAX as u32);
        b.blob_addr(reg::R1, BlobOff(i32::MAX as u32));
        let (insns, _) = b.finish().unwrap();
        assert_eq!(off_of(&insns, 0), 32764);
        assert_eq!(off_of(&insns, 1), 32767);
        assert_eq!(off_of(&insns, 2), 0);
        // The second slot of the ld_imm64 holds the blob offset.
        assert_eq!(&insns[8 * 6 + 4..8 * 6 + 8], &i32::MAX.to_le_bytes());
    }

    #[test]
    fn a_ctx_offset_past_the_16_bit_field_is_a_limit_error_naming_it() {
        // Before the checked path, 32776 was cast to `r6 - 32760` silently.
        let mut b = Builder::default();
        b.note("prologue");
        b.store_imm(Size::W, reg::CTX, 32776, 0);
        let text = limit_text(b);
        assert_eq!(
            text,
            "ctx offset 32776 does not fit the 16-bit instruction offset (max 32767), in loader step \"prologue\""
        );
    }

    #[test]
    fn the_first_failure_is_kept_and_later_ones_do_not_replace_it() {
        let mut b = Builder::default();
        b.note("first step");
        b.load(Size::DW, reg::R2, reg::R1, 40_000);
        b.note("second step");
        b.store(Size::W, reg::CTX, 50_000, reg::R2);
        b.mov_imm(reg::R3, u32::MAX);
        let text = limit_text(b);
        assert!(
            text.starts_with(
                "offset 40000 from r1 does not fit the 16-bit instruction offset (max 32767)"
            ),
            "{text}"
        );
        assert!(text.ends_with("in loader step \"first step\""), "{text}");
        assert!(!text.contains("50000"), "{text}");
    }

    #[test]
    fn immediates_and_blob_offsets_past_32_bits_are_limit_errors() {
        let mut b = Builder::default();
        b.mov_imm(reg::R2, u32::MAX);
        assert_eq!(
            limit_text(b),
            "immediate 4294967295 does not fit the 32-bit instruction immediate (max 2147483647)"
        );
        let mut b = Builder::default();
        b.note("map_update_elem");
        b.blob_addr(reg::R1, BlobOff(1 << 31));
        assert_eq!(
            limit_text(b),
            "blob offset 2147483648 does not fit the 32-bit instruction immediate (max 2147483647), in loader step \"map_update_elem\""
        );
        let mut b = Builder::default();
        b.mov_imm(reg::R2, usize::MAX);
        assert!(limit_text(b).contains("32-bit instruction immediate"));
    }

    #[test]
    fn ctx_offsets_are_named_after_the_plan() {
        let names = CtxNames {
            maps: (0..683).map(|i| format!("m{i}")).collect(),
            progs: vec!["count".into()],
            targets: vec!["late".into()],
        };
        let mut b = Builder {
            ctx: Some(names.clone()),
            ..Builder::default()
        };
        b.load(Size::W, reg::R1, reg::CTX, ctx::prog_fd(683, 0));
        let text = limit_text(b);
        assert!(
            text.starts_with("ctx offset 32808 (`prog_fd` of program #0 `count`; the loader reaches ctx fields only as r6 + offset, as the verifier refuses a modified ctx pointer) does not fit the 16-bit instruction offset (max 32767)"),
            "{text}"
        );
        assert_eq!(names.field(ctx::map_fd(682)), "`map_fd` of map #682 `m682`");
        assert_eq!(
            names.field(ctx::map_initial_value(682)),
            "`initial_value` of map #682 `m682`"
        );
        assert_eq!(
            names.field(ctx::map_desc(682) + ctx::map::VALUE_SIZE),
            "`value_size` of map #682 `m682`"
        );
        assert_eq!(names.field(ctx::LOG_BUF), "`log_buf` of the header");
        assert_eq!(
            names.field(ctx::possible_cpus(683, 1)),
            "`possible_cpus` of the status trailer"
        );
        assert_eq!(
            names.field(ctx::target(683, 1, 0) + 8),
            "`name_sz` of attach-target entry #0 (program `late`)"
        );
        assert_eq!(
            names.field(ctx::target(683, 1, 0) + ctx::TARGET_BTF_ID),
            "`attach_btf_id` of attach-target entry #0 (program `late`)"
        );
    }

    #[test]
    fn jumps_go_through_the_same_check() {
        let mut b = Builder::default();
        let far = b.label();
        b.note("jumping step");
        b.jump_if(true, BPF_JEQ, reg::R1, 0, far);
        for _ in 0..40_000 {
            b.exit();
        }
        b.bind(far);
        let text = limit_text(b);
        assert_eq!(
            text,
            "loader jump of 40000 instructions does not fit the 16-bit jump offset (max 32767), in loader step \"jumping step\""
        );
    }
}
