//! The generator's error type. Every variant names what it is about (section, symbol,
//! offset, type id), so a user can find the problem in their object.

use thiserror::Error;

pub use crate::reloc::{LinkError, RelocError};

/// Everything that can go wrong turning an object into a skeleton.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not an ELF file at all.
    #[error("not an ELF file: it starts with {} instead of 7f 45 4c 46 (\\x7fELF); expected a BPF object compiled with `clang -target bpf -c`", show_magic(magic))]
    NotElf {
        /// The first bytes found.
        magic: Vec<u8>,
    },
    /// ELF, but not a 64-bit little-endian relocatable BPF object.
    #[error("unsupported ELF object: {what}; lskel loads 64-bit little-endian relocatable (ET_REL) EM_BPF objects built with `clang -target bpf` (or `-target bpfel`)")]
    WrongElfKind {
        /// What differs.
        what: String,
    },
    /// The ELF structure itself is broken.
    #[error("malformed ELF: {0}")]
    Malformed(String),
    /// The object has no `.BTF` section.
    #[error("the object has no .BTF section; compile it with `clang -g` so that maps, globals and programs carry BTF")]
    NoBtf,
    /// `.BTF` or `.BTF.ext` could not be parsed, or says something impossible.
    #[error("{section}: {what}; rebuild the object with `clang -g -target bpf -c` (if a tool rewrote it, that tool broke its BTF)")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: &'static str,
        /// What is wrong and where.
        what: String,
    },
    /// A section whose name lskel does not know.
    #[error("section `{section}` (index {index}): unknown program section name; {suggestion}libbpf's conventions accepted here: {accepted} (`name` also as `name/...` where libbpf allows it, `?name` for autoload off; `lskel sections` lists each)")]
    UnknownSection {
        /// The section name.
        section: String,
        /// Its ELF index.
        index: usize,
        /// "did you mean ...? " when a known pattern is close, else empty.
        suggestion: String,
        /// The accepted section kinds, compactly.
        accepted: String,
    },
    /// An undefined symbol lskel cannot resolve.
    #[error("extern `{name}`: {what}")]
    Extern {
        /// The symbol.
        name: String,
        /// What is wrong and what to do.
        what: String,
    },
    /// A problem with a map definition in `.maps`.
    #[error("map `{map}`: {what}")]
    Map {
        /// The map's name.
        map: String,
        /// What is wrong.
        what: String,
    },
    /// A relocation lskel cannot apply.
    #[error("section `{section}`, instruction {insn} (offset {offset:#x}): relocation against `{symbol}`: {source}")]
    Reloc {
        /// The section holding the instruction.
        section: String,
        /// The instruction index in its section.
        insn: usize,
        /// Byte offset in the section.
        offset: u64,
        /// The symbol the relocation names.
        symbol: String,
        /// What is wrong.
        #[source]
        source: RelocError,
    },
    /// A program that cannot be linked (subprogram calls, func/line info).
    #[error("program `{program}` (section `{section}`): {source}")]
    Link {
        /// The program's name.
        program: String,
        /// Its section.
        section: String,
        /// What is wrong.
        #[source]
        source: LinkError,
    },
    /// A program-level problem outside linking (its symbol, its section's attach target).
    #[error("program `{program}` (section `{section}`): {what}")]
    Program {
        /// The program's name.
        program: String,
        /// Its section.
        section: String,
        /// What is wrong.
        what: String,
    },
    /// Something the object uses that lskel does not support yet.
    #[error("{what} is not supported yet: {why}")]
    Unsupported {
        /// The feature.
        what: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// A limit of the kernel ABI was exceeded.
    #[error("limit exceeded: {what}")]
    Limit {
        /// Which limit and by how much.
        what: String,
    },
    /// The key or certificate a signed skeleton was to be signed with.
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    /// Several independent problems, in the order they were found; never fewer than two and
    /// never nested (build it with [`Error::from_many`]).
    #[error("{}", show_many(.0))]
    Many(Vec<Error>),
}

impl Error {
    /// One error for `errors`: `None` for none, the error itself for one, else [`Error::Many`]
    /// with nested lists flattened.
    pub fn from_many(errors: Vec<Error>) -> Option<Error> {
        let mut flat: Vec<Error> = Vec::with_capacity(errors.len());
        for e in errors {
            match e {
                Error::Many(inner) => flat.extend(inner),
                e => flat.push(e),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(Error::Many(flat)),
        }
    }

    /// Every single problem this error holds: itself, or each of a [`Error::Many`].
    pub fn diagnostics(&self) -> Vec<&Error> {
        match self {
            Error::Many(all) => all.iter().flat_map(Error::diagnostics).collect(),
            e => vec![e],
        }
    }
}

/// "2 problems:" and then each on its own line.
fn show_many(errors: &[Error]) -> String {
    let mut out = format!("{} problems:", errors.len());
    for e in errors {
        out.push_str("\n- ");
        out.push_str(&e.to_string());
    }
    out
}

/// `54 68 69 73 ("This")`: hex bytes, and the text when they are printable.
fn show_magic(magic: &[u8]) -> String {
    if magic.is_empty() {
        return "nothing (the file is empty)".into();
    }
    let hex: Vec<String> = magic.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = magic
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{} (\"{text}\")", hex.join(" "))
}

/// Result alias for the generator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a `.BTF` error.
pub(crate) fn btf_err(what: impl Into<String>) -> Error {
    Error::Btf {
        section: ".BTF",
        what: what.into(),
    }
}

/// Shorthand for a `.BTF.ext` error.
pub(crate) fn btf_ext_err(what: impl Into<String>) -> Error {
    Error::Btf {
        section: ".BTF.ext",
        what: what.into(),
    }
}
