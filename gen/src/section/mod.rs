//! libbpf's program section-name conventions: which program type, expected attach type and
//! load flags a `SEC("...")` name implies (the table, in `table`), and where a program
//! attaches by its section (`auto_attach`). First match wins, exactly as libbpf matches.

mod auto_attach;
mod table;

pub use auto_attach::{auto_attach, AutoAttach};
use table::SECTION_DEFS;

/// What a section name says about the programs in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecDef {
    /// The pattern: `name` matches exactly, `name+` also matches `name/anything`, and
    /// `name/` only matches `name/anything`.
    pub pattern: &'static str,
    /// `enum bpf_prog_type` ([`crate::abi::prog_type`]).
    pub prog_type: u32,
    /// `enum bpf_attach_type` passed as `expected_attach_type` ([`crate::abi::attach_type`]).
    pub expected_attach_type: u32,
    /// How the programs load.
    pub flags: SecFlags,
}

/// The load options a section implies, as a set: the table reads `SLEEPABLE.with(ATTACH_BTF)`
/// where positional bools would not say which is which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecFlags(u8);

impl SecFlags {
    /// No flag.
    pub const NONE: SecFlags = SecFlags(0);
    /// Loaded with `BPF_F_SLEEPABLE`.
    pub const SLEEPABLE: SecFlags = SecFlags(1 << 0);
    /// Loaded with `BPF_F_XDP_HAS_FRAGS`.
    pub const XDP_FRAGS: SecFlags = SecFlags(1 << 1);
    /// The attach target is a kernel BTF id resolved at load time (`tp_btf`, `fentry`, ...).
    pub const ATTACH_BTF: SecFlags = SecFlags(1 << 2);

    /// Both sets (a `const fn`, for the table).
    pub const fn with(self, other: SecFlags) -> SecFlags {
        SecFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is in the set.
    pub const fn contains(self, other: SecFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl SecDef {
    const fn new(
        pattern: &'static str,
        prog_type: u32,
        expected_attach_type: u32,
        flags: SecFlags,
    ) -> SecDef {
        SecDef {
            pattern,
            prog_type,
            expected_attach_type,
            flags,
        }
    }

    /// Loaded with `BPF_F_SLEEPABLE`.
    pub fn sleepable(&self) -> bool {
        self.flags.contains(SecFlags::SLEEPABLE)
    }

    /// Loaded with `BPF_F_XDP_HAS_FRAGS`.
    pub fn xdp_frags(&self) -> bool {
        self.flags.contains(SecFlags::XDP_FRAGS)
    }

    /// The attach target is a kernel BTF id resolved at load time.
    pub fn attach_btf(&self) -> bool {
        self.flags.contains(SecFlags::ATTACH_BTF)
    }

    /// Whether `name` (without a leading `?`) matches this definition.
    pub fn matches(&self, name: &str) -> bool {
        if let Some(prefix) = self.pattern.strip_suffix('+') {
            match name.strip_prefix(prefix) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            }
        } else if self.pattern.ends_with('/') {
            name.starts_with(self.pattern)
        } else {
            name == self.pattern
        }
    }

    /// The part of the section name after `pattern/`, e.g. `sys_enter` of `raw_tp/sys_enter`.
    pub fn target<'a>(&self, name: &'a str) -> Option<&'a str> {
        let prefix = self.pattern.trim_end_matches('+');
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        name.strip_prefix(prefix)?
            .strip_prefix('/')
            .filter(|t| !t.is_empty())
    }
}

/// The section definition for `name`, after stripping a leading `?`. `None` for an
/// unknown program section.
pub fn lookup(name: &str) -> Option<&'static SecDef> {
    let name = name.strip_prefix('?').unwrap_or(name);
    SECTION_DEFS.iter().find(|def| def.matches(name))
}

/// The accepted pattern closest to an unknown section name (by edit distance of the part
/// before the first `/`), when it is close enough to be a likely typo.
pub fn suggest(name: &str) -> Option<String> {
    let name = name.strip_prefix('?').unwrap_or(name);
    let (head, tail) = match name.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (name, None),
    };
    let (dist, best) = SECTION_DEFS
        .iter()
        .map(|d| {
            let base = d.pattern.trim_end_matches('+').trim_end_matches('/');
            // Without a `/`, compare whole names (`xpd` is `xdp`, not `xdp/devmap`).
            let against = if tail.is_some() {
                base.split('/').next().unwrap_or(base)
            } else {
                base
            };
            (edit_distance(head, against), d.pattern)
        })
        .min_by_key(|(d, _)| *d)?;
    if dist == 0 || dist > 2 {
        return None;
    }
    let base = best.trim_end_matches('+').trim_end_matches('/');
    Some(match (tail, best.ends_with('+') || best.ends_with('/')) {
        (Some(t), true) => format!("{base}/{t}"),
        _ => base.to_string(),
    })
}

/// Edit distance counting a swap of two neighbours as one edit (a common typo).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The accepted section kinds, one entry per name before any `/` (`tc/ingress` and `tc` are
/// both `tc`), in table order: short enough for an error message.
pub fn kinds() -> String {
    let mut seen: Vec<&str> = Vec::new();
    for d in SECTION_DEFS {
        let base = d.pattern.trim_end_matches('+');
        let base = base.split('/').next().unwrap_or(base);
        if !seen.contains(&base) {
            seen.push(base);
        }
    }
    seen.join(", ")
}

/// Every accepted pattern, for error messages.
pub fn patterns() -> impl Iterator<Item = &'static str> {
    SECTION_DEFS.iter().map(|d| d.pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_libbpf_rules() {
        assert_eq!(lookup("raw_tp/sys_enter").unwrap().prog_type, 17);
        assert_eq!(lookup("raw_tp").unwrap().prog_type, 17);
        assert!(lookup("raw_tpx").is_none());
        assert_eq!(lookup("xdp").unwrap().expected_attach_type, 37);
        assert!(lookup("xdp.frags").unwrap().xdp_frags());
        assert!(lookup("syscall").unwrap().sleepable());
        assert!(lookup("?tp_btf/sched_switch").unwrap().attach_btf());
        assert_eq!(lookup("tc/ingress").unwrap().expected_attach_type, 46);
        assert_eq!(lookup("tc").unwrap().expected_attach_type, 0);
        assert!(lookup("lsm.s/file_open").unwrap().sleepable());
        assert!(lookup("unknown/x").is_none());
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            suggest("tp_bft/sched_switch").as_deref(),
            Some("tp_btf/sched_switch")
        );
        assert_eq!(
            suggest("kprob/do_sys_open").as_deref(),
            Some("kprobe/do_sys_open")
        );
        assert_eq!(suggest("xpd").as_deref(), Some("xdp"));
        assert_eq!(suggest("nonsense/foo"), None);
    }

    #[test]
    fn target_is_the_part_after_the_slash() {
        let def = lookup("tp_btf/sched_switch").unwrap();
        assert_eq!(def.target("tp_btf/sched_switch"), Some("sched_switch"));
        let def = lookup("tp/syscalls/sys_enter_getpid").unwrap();
        assert_eq!(
            def.target("tp/syscalls/sys_enter_getpid"),
            Some("syscalls/sys_enter_getpid")
        );
        assert_eq!(lookup("raw_tp").unwrap().target("raw_tp"), None);
    }
}
