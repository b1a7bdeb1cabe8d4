//! The link pass's refusals, one variant each, so callers and tests match on what went wrong
//! rather than on text. [`crate::Error`] wraps them with where they happened.

use thiserror::Error;

/// Why one relocation cannot be applied. Wrapped in [`crate::Error::Reloc`], which names the
/// section, instruction and symbol.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RelocError {
    /// The relocated instruction is neither a call nor an `ld_imm64`.
    #[error("relocation on instruction with opcode {opcode:#04x}; only calls and 64-bit immediate loads can be relocated")]
    NotRelocatable {
        /// Its opcode.
        opcode: u8,
    },
    /// A helper call (not a `BPF_PSEUDO_CALL`) carries a relocation.
    #[error("call relocation on a helper call")]
    CallOnHelper,
    /// A call or callback into code outside `.text`.
    #[error("calls and callbacks must target functions in .text, not `{section}`")]
    CallOutsideText {
        /// The section the symbol is in.
        section: String,
    },
    /// The target byte offset is not a multiple of an instruction.
    #[error("target is not instruction-aligned")]
    Misaligned,
    /// No subprogram starts where the call points.
    #[error("no function starts at .text instruction {target}")]
    NoFunctionAt {
        /// The instruction index in `.text`.
        target: i64,
    },
    /// The linked program outgrew a call's 32-bit `imm`.
    #[error("program is too large for a 32-bit call offset")]
    CallTooFar,
    /// An undefined symbol that is no extern lskel resolves.
    #[error("undefined symbol that is neither __ksym nor __kconfig")]
    UnknownExtern,
    /// A `.kconfig` extern is loaded but the object has no `.kconfig` map.
    #[error("no .kconfig map")]
    NoKconfigMap,
    /// An extern used by an instruction that cannot refer to it (e.g. a kernel variable called).
    #[error(
        "extern `{name}` is used by an instruction (opcode {opcode:#04x}) that cannot refer to it"
    )]
    ExternMisused {
        /// The extern.
        name: String,
        /// The instruction's opcode.
        opcode: u8,
    },
    /// A map or data reference that is not a whole `ld_imm64`.
    #[error("map or data relocation on something other than a 64-bit immediate load")]
    DataNotLdImm64,
    /// The symbol points where no map or data section is.
    #[error("it points into section `{section}` at {value:#x}, which holds no map or global data lskel knows")]
    NoMapThere {
        /// The symbol's section.
        section: String,
        /// The symbol's value.
        value: u64,
    },
    /// A map index beyond `i32`.
    #[error("too many maps")]
    TooManyMaps,
    /// Code refers to a struct_ops map, which only the kernel's struct_ops machinery uses.
    #[error("code cannot refer to a struct_ops map")]
    StructOpsMap,
    /// A global-data offset beyond `i32`.
    #[error("data offset out of range")]
    DataOffset,
    /// A relocation in `.maps` outside every map definition.
    #[error("relocation outside every map definition")]
    OutsideMaps,
}

/// A program-level link problem: not tied to one relocation. Wrapped in
/// [`crate::Error::Link`], which names the program.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The entry program has func_info, so every subprogram it calls needs some too.
    #[error("subprogram `{subprogram}` has no func_info in .BTF.ext while the program has")]
    MissingFuncInfo {
        /// The subprogram.
        subprogram: String,
    },
    /// An `ld_imm64` of a function address that no relocation explains.
    #[error("callback address at instruction {insn} has no relocation")]
    CallbackWithoutReloc {
        /// Instruction index in its section.
        insn: usize,
    },
    /// A relative call without relocation outside `.text`, where it cannot be resolved.
    #[error("call at instruction {insn} has no relocation and does not target .text")]
    CallOutsideText {
        /// Instruction index in its section.
        insn: usize,
    },
    /// A static call inside subprogram `name` that cannot be linked.
    #[error("in `{name}`: {source}")]
    InFunction {
        /// The function holding the call.
        name: String,
        /// Why.
        #[source]
        source: RelocError,
    },
}
