//! Where a program's attach target comes from. The plan decides it once per program
//! ([`crate::plan::Plan::build`]), numbering the ctx attach-target entries as it goes; the
//! loader emitter and the skeleton expander both read that number instead of counting
//! programs again, so the entry the loader reads is the one the runtime fills.

/// A program's attach target, for the programs that load against one (tracing, LSM, iter,
/// `freplace`, struct_ops). Programs without one (kprobe, xdp, ...) have `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachTarget {
    /// Known when the skeleton is generated: the section names it (`fentry/do_unlinkat`, as
    /// `do_unlinkat`), or a struct_ops program's struct. The loader looks `name` up in kernel
    /// BTF as `btf_kind`.
    Kernel {
        /// The BTF name, prefix included (`btf_trace_sched_switch`).
        name: String,
        /// The BTF kind to look it up as.
        btf_kind: u32,
    },
    /// Named by the user before load (`SEC("fentry")` and `set_attach_target`): the runtime
    /// prepends `prefix` and passes the name in ctx attach-target entry `slot`.
    BeforeLoad {
        /// What the runtime prepends (`btf_trace_`, `bpf_lsm_`, or nothing).
        prefix: String,
        /// The BTF kind to look the name up as.
        btf_kind: u32,
        /// The ctx attach-target entry.
        slot: usize,
    },
    /// `freplace`: the program to extend and the BTF id of the function it replaces, given
    /// before load in ctx attach-target entry `slot`.
    Freplace {
        /// The ctx attach-target entry.
        slot: usize,
    },
}

impl AttachTarget {
    /// The ctx attach-target entry the runtime fills, for a target set before load.
    pub fn slot(&self) -> Option<usize> {
        match self {
            AttachTarget::Kernel { .. } => None,
            AttachTarget::BeforeLoad { slot, .. } | AttachTarget::Freplace { slot } => Some(*slot),
        }
    }

    /// The name prefix the runtime prepends to the user's name: what the skeleton's spec
    /// lists for each entry (empty for `freplace`, which takes no name).
    pub fn prefix(&self) -> Option<&str> {
        match self {
            AttachTarget::Kernel { .. } => None,
            AttachTarget::BeforeLoad { prefix, .. } => Some(prefix),
            AttachTarget::Freplace { .. } => Some(""),
        }
    }
}
