//! libbpf's program section-name conventions: which program type, expected attach type and
//! load flags a `SEC("...")` name implies. The table's facts (names, types, order) follow
//! libbpf's `section_defs`; first match wins, exactly as libbpf matches.

/// What a section name says about the programs in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecDef {
    /// The pattern: `name` matches exactly, `name+` also matches `name/anything`, and
    /// `name/` only matches `name/anything`.
    pub pattern: &'static str,
    /// `enum bpf_prog_type`
    pub prog_type: u32,
    /// `enum bpf_attach_type` passed as `expected_attach_type`.
    pub expected_attach_type: u32,
    /// Loaded with `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// Loaded with `BPF_F_XDP_HAS_FRAGS`.
    pub xdp_frags: bool,
    /// The attach target is a kernel BTF id resolved at load time (`tp_btf`, `fentry`, ...).
    pub attach_btf: bool,
}

impl SecDef {
    const fn new(
        pattern: &'static str,
        prog_type: u32,
        expected_attach_type: u32,
        sleepable: bool,
        xdp_frags: bool,
        attach_btf: bool,
    ) -> SecDef {
        SecDef {
            pattern,
            prog_type,
            expected_attach_type,
            sleepable,
            xdp_frags,
            attach_btf,
        }
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

/// Where a program attaches, as its section says (libbpf's auto-attach rules); what a
/// skeleton's `attach()` does with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoAttach {
    /// The section does not say where (`xdp`, `tc`, `kprobe` without a function, ...).
    None,
    /// `tracepoint/<category>/<name>`, `tp/...` (and `.s`).
    Tracepoint {
        /// `syscalls`.
        category: String,
        /// `sys_enter_getpid`.
        name: String,
    },
    /// `raw_tp/<name>`, `raw_tracepoint/<name>` (and `.s`, `.w`).
    RawTp {
        /// `sys_enter`.
        name: String,
    },
    /// `tp_btf`, `fentry`, `fexit`, `fmod_ret`, `lsm`, `freplace` (and `.s`): target given at load.
    Tracing,
    /// `iter/...` (and `.s`).
    Iter,
    /// `kprobe/<func>[+<offset>]`, `kretprobe/<func>`.
    Kprobe {
        /// The function.
        func: String,
        /// Bytes into it.
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// `kprobe.multi/<pattern>`, `kretprobe.multi/<pattern>`.
    KprobeMulti {
        /// The glob.
        pattern: String,
        /// Return probes.
        ret: bool,
    },
    /// `ksyscall/<name>`, `kretsyscall/<name>`.
    Ksyscall {
        /// The syscall.
        name: String,
        /// A return probe.
        ret: bool,
    },
    /// `uprobe/<path>:<func>[+<offset>]` or `uprobe/<path>:<offset>`, `uretprobe/...` (and `.s`).
    Uprobe {
        /// The binary.
        path: String,
        /// The function (empty: `offset` is a file offset).
        func: String,
        /// Bytes past `func`, or the file offset.
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// `usdt/<path>:<provider>:<name>` (and `.s`).
    Usdt {
        /// The binary.
        path: String,
        /// The provider.
        provider: String,
        /// The probe.
        name: String,
    },
}

/// A number as C reads it: decimal, or hex with `0x`.
fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `func[+offset]`.
fn func_offset(s: &str) -> Result<(String, u64), String> {
    let (func, off) = match s.split_once('+') {
        Some((f, o)) => (
            f,
            parse_num(o).ok_or_else(|| format!("offset `{o}` is not a number"))?,
        ),
        None => (s, 0),
    };
    if func.is_empty() {
        return Err("no function name".into());
    }
    Ok((func.to_string(), off))
}

/// What the section `name` says about where its programs attach. A section of an
/// auto-attachable kind whose target is malformed is an error (`Err(why)`), as in libbpf.
pub fn auto_attach(name: &str) -> Result<AutoAttach, String> {
    let Some(def) = lookup(name) else {
        return Ok(AutoAttach::None);
    };
    let name = name.strip_prefix('?').unwrap_or(name);
    let base = def.pattern.trim_end_matches('+').trim_end_matches('/');
    let base = base.strip_suffix(".s").unwrap_or(base);
    let target = def.target(name);
    let bad = |fmt: &str| format!("the target of `{name}` should be `{fmt}`");
    Ok(match (base, target) {
        ("tp_btf" | "fentry" | "fexit" | "fmod_ret" | "lsm" | "freplace", _) => AutoAttach::Tracing,
        ("iter", _) => AutoAttach::Iter,
        (_, None) => AutoAttach::None,
        ("tracepoint" | "tp", Some(t)) => match t.split_once('/') {
            Some((c, n)) if !c.is_empty() && !n.is_empty() && !n.contains('/') => {
                AutoAttach::Tracepoint {
                    category: c.into(),
                    name: n.into(),
                }
            }
            _ => return Err(bad("<category>/<name>")),
        },
        ("raw_tracepoint" | "raw_tp" | "raw_tracepoint.w" | "raw_tp.w", Some(t)) => {
            AutoAttach::RawTp { name: t.into() }
        }
        ("kprobe" | "kretprobe", Some(t)) => {
            let ret = base == "kretprobe";
            let (func, offset) =
                func_offset(t).map_err(|w| format!("{}: {w}", bad("<function>[+<offset>]")))?;
            if ret && offset != 0 {
                return Err(format!("`{name}`: a kretprobe cannot have an offset"));
            }
            AutoAttach::Kprobe { func, offset, ret }
        }
        ("kprobe.multi" | "kretprobe.multi", Some(t)) => AutoAttach::KprobeMulti {
            pattern: t.into(),
            ret: base == "kretprobe.multi",
        },
        ("ksyscall" | "kretsyscall", Some(t)) => AutoAttach::Ksyscall {
            name: t.into(),
            ret: base == "kretsyscall",
        },
        ("uprobe" | "uretprobe", Some(t)) => {
            let fmt = "<path>:<function>[+<offset>]` or `<path>:<offset>";
            let Some((path, at)) = t.split_once(':') else {
                return Err(bad(fmt));
            };
            if path.is_empty() || at.is_empty() {
                return Err(bad(fmt));
            }
            let (func, offset) = match parse_num(at) {
                Some(off) => (String::new(), off),
                None => func_offset(at).map_err(|w| format!("{}: {w}", bad(fmt)))?,
            };
            AutoAttach::Uprobe {
                path: path.into(),
                func,
                offset,
                ret: base == "uretprobe",
            }
        }
        ("usdt", Some(t)) => {
            let parts: Vec<&str> = t.split(':').collect();
            match parts[..] {
                [path, provider, probe]
                    if !path.is_empty() && !provider.is_empty() && !probe.is_empty() =>
                {
                    AutoAttach::Usdt {
                        path: path.into(),
                        provider: provider.into(),
                        name: probe.into(),
                    }
                }
                _ => return Err(bad("<path>:<provider>:<name>")),
            }
        }
        _ => AutoAttach::None,
    })
}

/// The table, in libbpf's matching order. Numbers are `enum bpf_prog_type` /
/// `enum bpf_attach_type` values from the uapi header.
#[rustfmt::skip]
static SECTION_DEFS: &[SecDef] = &[
    SecDef::new("socket", 1, 0, false, false, false), // SOCKET_FILTER 0
    SecDef::new("sk_reuseport/migrate", 21, 40, false, false, false), // SK_REUSEPORT BPF_SK_REUSEPORT_SELECT_OR_MIGRATE
    SecDef::new("sk_reuseport", 21, 39, false, false, false), // SK_REUSEPORT BPF_SK_REUSEPORT_SELECT
    SecDef::new("kprobe+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("uprobe+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("uprobe.s+", 2, 0, true, false, false), // KPROBE 0
    SecDef::new("kretprobe+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("uretprobe+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("uretprobe.s+", 2, 0, true, false, false), // KPROBE 0
    SecDef::new("kprobe.multi+", 2, 42, false, false, false), // KPROBE BPF_TRACE_KPROBE_MULTI
    SecDef::new("kretprobe.multi+", 2, 42, false, false, false), // KPROBE BPF_TRACE_KPROBE_MULTI
    SecDef::new("kprobe.session+", 2, 56, false, false, false), // KPROBE BPF_TRACE_KPROBE_SESSION
    SecDef::new("uprobe.multi+", 2, 48, false, false, false), // KPROBE BPF_TRACE_UPROBE_MULTI
    SecDef::new("uretprobe.multi+", 2, 48, false, false, false), // KPROBE BPF_TRACE_UPROBE_MULTI
    SecDef::new("uprobe.session+", 2, 57, false, false, false), // KPROBE BPF_TRACE_UPROBE_SESSION
    SecDef::new("uprobe.multi.s+", 2, 48, true, false, false), // KPROBE BPF_TRACE_UPROBE_MULTI
    SecDef::new("uretprobe.multi.s+", 2, 48, true, false, false), // KPROBE BPF_TRACE_UPROBE_MULTI
    SecDef::new("uprobe.session.s+", 2, 57, true, false, false), // KPROBE BPF_TRACE_UPROBE_SESSION
    SecDef::new("ksyscall+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("kretsyscall+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("usdt+", 2, 0, false, false, false), // KPROBE 0
    SecDef::new("usdt.s+", 2, 0, true, false, false), // KPROBE 0
    SecDef::new("tc/ingress", 3, 46, false, false, false), // SCHED_CLS BPF_TCX_INGRESS
    SecDef::new("tc/egress", 3, 47, false, false, false), // SCHED_CLS BPF_TCX_EGRESS
    SecDef::new("tcx/ingress", 3, 46, false, false, false), // SCHED_CLS BPF_TCX_INGRESS
    SecDef::new("tcx/egress", 3, 47, false, false, false), // SCHED_CLS BPF_TCX_EGRESS
    SecDef::new("tc", 3, 0, false, false, false), // SCHED_CLS 0
    SecDef::new("classifier", 3, 0, false, false, false), // SCHED_CLS 0
    SecDef::new("action", 4, 0, false, false, false), // SCHED_ACT 0
    SecDef::new("netkit/primary", 3, 54, false, false, false), // SCHED_CLS BPF_NETKIT_PRIMARY
    SecDef::new("netkit/peer", 3, 55, false, false, false), // SCHED_CLS BPF_NETKIT_PEER
    SecDef::new("tracepoint+", 5, 0, false, false, false), // TRACEPOINT 0
    SecDef::new("tp+", 5, 0, false, false, false), // TRACEPOINT 0
    SecDef::new("tracepoint.s+", 5, 0, true, false, false), // TRACEPOINT 0
    SecDef::new("tp.s+", 5, 0, true, false, false), // TRACEPOINT 0
    SecDef::new("raw_tracepoint+", 17, 0, false, false, false), // RAW_TRACEPOINT 0
    SecDef::new("raw_tp+", 17, 0, false, false, false), // RAW_TRACEPOINT 0
    SecDef::new("raw_tracepoint.s+", 17, 0, true, false, false), // RAW_TRACEPOINT 0
    SecDef::new("raw_tp.s+", 17, 0, true, false, false), // RAW_TRACEPOINT 0
    SecDef::new("raw_tracepoint.w+", 24, 0, false, false, false), // RAW_TRACEPOINT_WRITABLE 0
    SecDef::new("raw_tp.w+", 24, 0, false, false, false), // RAW_TRACEPOINT_WRITABLE 0
    SecDef::new("tp_btf+", 26, 23, false, false, true), // TRACING BPF_TRACE_RAW_TP
    SecDef::new("tp_btf.s+", 26, 23, true, false, true), // TRACING BPF_TRACE_RAW_TP
    SecDef::new("fentry+", 26, 24, false, false, true), // TRACING BPF_TRACE_FENTRY
    SecDef::new("fmod_ret+", 26, 26, false, false, true), // TRACING BPF_MODIFY_RETURN
    SecDef::new("fexit+", 26, 25, false, false, true), // TRACING BPF_TRACE_FEXIT
    SecDef::new("fentry.s+", 26, 24, true, false, true), // TRACING BPF_TRACE_FENTRY
    SecDef::new("fmod_ret.s+", 26, 26, true, false, true), // TRACING BPF_MODIFY_RETURN
    SecDef::new("fexit.s+", 26, 25, true, false, true), // TRACING BPF_TRACE_FEXIT
    SecDef::new("freplace+", 28, 0, false, false, true), // EXT 0
    SecDef::new("lsm+", 29, 27, false, false, true), // LSM BPF_LSM_MAC
    SecDef::new("lsm.s+", 29, 27, true, false, true), // LSM BPF_LSM_MAC
    SecDef::new("lsm_cgroup+", 29, 43, false, false, true), // LSM BPF_LSM_CGROUP
    SecDef::new("iter+", 26, 28, false, false, true), // TRACING BPF_TRACE_ITER
    SecDef::new("iter.s+", 26, 28, true, false, true), // TRACING BPF_TRACE_ITER
    SecDef::new("syscall", 31, 0, true, false, false), // SYSCALL 0
    SecDef::new("xdp.frags/devmap", 6, 33, false, true, false), // XDP BPF_XDP_DEVMAP
    SecDef::new("xdp/devmap", 6, 33, false, false, false), // XDP BPF_XDP_DEVMAP
    SecDef::new("xdp.frags/cpumap", 6, 35, false, true, false), // XDP BPF_XDP_CPUMAP
    SecDef::new("xdp/cpumap", 6, 35, false, false, false), // XDP BPF_XDP_CPUMAP
    SecDef::new("xdp.frags", 6, 37, false, true, false), // XDP BPF_XDP
    SecDef::new("xdp", 6, 37, false, false, false), // XDP BPF_XDP
    SecDef::new("perf_event", 7, 0, false, false, false), // PERF_EVENT 0
    SecDef::new("lwt_in", 10, 0, false, false, false), // LWT_IN 0
    SecDef::new("lwt_out", 11, 0, false, false, false), // LWT_OUT 0
    SecDef::new("lwt_xmit", 12, 0, false, false, false), // LWT_XMIT 0
    SecDef::new("lwt_seg6local", 19, 0, false, false, false), // LWT_SEG6LOCAL 0
    SecDef::new("sockops", 13, 3, false, false, false), // SOCK_OPS BPF_CGROUP_SOCK_OPS
    SecDef::new("sk_skb/stream_parser", 14, 4, false, false, false), // SK_SKB BPF_SK_SKB_STREAM_PARSER
    SecDef::new("sk_skb/stream_verdict", 14, 5, false, false, false), // SK_SKB BPF_SK_SKB_STREAM_VERDICT
    SecDef::new("sk_skb/verdict", 14, 38, false, false, false), // SK_SKB BPF_SK_SKB_VERDICT
    SecDef::new("sk_skb", 14, 0, false, false, false), // SK_SKB 0
    SecDef::new("sk_msg", 16, 7, false, false, false), // SK_MSG BPF_SK_MSG_VERDICT
    SecDef::new("lirc_mode2", 20, 16, false, false, false), // LIRC_MODE2 BPF_LIRC_MODE2
    SecDef::new("flow_dissector", 22, 17, false, false, false), // FLOW_DISSECTOR BPF_FLOW_DISSECTOR
    SecDef::new("cgroup_skb/ingress", 8, 0, false, false, false), // CGROUP_SKB BPF_CGROUP_INET_INGRESS
    SecDef::new("cgroup_skb/egress", 8, 1, false, false, false), // CGROUP_SKB BPF_CGROUP_INET_EGRESS
    SecDef::new("cgroup/skb", 8, 0, false, false, false), // CGROUP_SKB 0
    SecDef::new("cgroup/sock_create", 9, 2, false, false, false), // CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE
    SecDef::new("cgroup/sock_release", 9, 34, false, false, false), // CGROUP_SOCK BPF_CGROUP_INET_SOCK_RELEASE
    SecDef::new("cgroup/sock", 9, 2, false, false, false), // CGROUP_SOCK BPF_CGROUP_INET_SOCK_CREATE
    SecDef::new("cgroup/post_bind4", 9, 12, false, false, false), // CGROUP_SOCK BPF_CGROUP_INET4_POST_BIND
    SecDef::new("cgroup/post_bind6", 9, 13, false, false, false), // CGROUP_SOCK BPF_CGROUP_INET6_POST_BIND
    SecDef::new("cgroup/bind4", 18, 8, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET4_BIND
    SecDef::new("cgroup/bind6", 18, 9, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET6_BIND
    SecDef::new("cgroup/connect4", 18, 10, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET4_CONNECT
    SecDef::new("cgroup/connect6", 18, 11, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET6_CONNECT
    SecDef::new("cgroup/connect_unix", 18, 49, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_CONNECT
    SecDef::new("cgroup/sendmsg4", 18, 14, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_SENDMSG
    SecDef::new("cgroup/sendmsg6", 18, 15, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_SENDMSG
    SecDef::new("cgroup/sendmsg_unix", 18, 50, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_SENDMSG
    SecDef::new("cgroup/recvmsg4", 18, 19, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UDP4_RECVMSG
    SecDef::new("cgroup/recvmsg6", 18, 20, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UDP6_RECVMSG
    SecDef::new("cgroup/recvmsg_unix", 18, 51, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_RECVMSG
    SecDef::new("cgroup/getpeername4", 18, 29, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETPEERNAME
    SecDef::new("cgroup/getpeername6", 18, 30, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETPEERNAME
    SecDef::new("cgroup/getpeername_unix", 18, 52, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETPEERNAME
    SecDef::new("cgroup/getsockname4", 18, 31, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET4_GETSOCKNAME
    SecDef::new("cgroup/getsockname6", 18, 32, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_INET6_GETSOCKNAME
    SecDef::new("cgroup/getsockname_unix", 18, 53, false, false, false), // CGROUP_SOCK_ADDR BPF_CGROUP_UNIX_GETSOCKNAME
    SecDef::new("cgroup/sysctl", 23, 18, false, false, false), // CGROUP_SYSCTL BPF_CGROUP_SYSCTL
    SecDef::new("cgroup/getsockopt", 25, 21, false, false, false), // CGROUP_SOCKOPT BPF_CGROUP_GETSOCKOPT
    SecDef::new("cgroup/setsockopt", 25, 22, false, false, false), // CGROUP_SOCKOPT BPF_CGROUP_SETSOCKOPT
    SecDef::new("cgroup/dev", 15, 6, false, false, false), // CGROUP_DEVICE BPF_CGROUP_DEVICE
    SecDef::new("struct_ops+", 27, 0, false, false, false), // STRUCT_OPS 0
    SecDef::new("struct_ops.s+", 27, 0, true, false, false), // STRUCT_OPS 0
    SecDef::new("sk_lookup", 30, 36, false, false, false), // SK_LOOKUP BPF_SK_LOOKUP
    SecDef::new("netfilter", 32, 45, false, false, false), // NETFILTER BPF_NETFILTER
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_libbpf_rules() {
        assert_eq!(lookup("raw_tp/sys_enter").unwrap().prog_type, 17);
        assert_eq!(lookup("raw_tp").unwrap().prog_type, 17);
        assert!(lookup("raw_tpx").is_none());
        assert_eq!(lookup("xdp").unwrap().expected_attach_type, 37);
        assert!(lookup("xdp.frags").unwrap().xdp_frags);
        assert!(lookup("syscall").unwrap().sleepable);
        assert!(lookup("?tp_btf/sched_switch").unwrap().attach_btf);
        assert_eq!(lookup("tc/ingress").unwrap().expected_attach_type, 46);
        assert_eq!(lookup("tc").unwrap().expected_attach_type, 0);
        assert!(lookup("lsm.s/file_open").unwrap().sleepable);
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

    #[test]
    fn auto_attach_of_sections() {
        use AutoAttach as A;
        let a = |s: &str| auto_attach(s).unwrap();
        assert_eq!(
            a("tp/syscalls/sys_enter_getpid"),
            A::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_getpid".into()
            }
        );
        assert_eq!(
            a("tracepoint.s/syscalls/sys_enter_openat"),
            A::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_openat".into()
            }
        );
        assert_eq!(a("tp"), A::None);
        assert_eq!(
            a("raw_tp/sys_enter"),
            A::RawTp {
                name: "sys_enter".into()
            }
        );
        assert_eq!(
            a("raw_tp.w/sys_enter"),
            A::RawTp {
                name: "sys_enter".into()
            }
        );
        assert_eq!(a("raw_tracepoint"), A::None);
        for s in [
            "tp_btf/sched_switch",
            "fentry/do_unlinkat",
            "fexit.s/x",
            "fmod_ret/x",
            "lsm/file_open",
            "lsm.s/bpf",
        ] {
            assert_eq!(a(s), A::Tracing, "{s}");
        }
        assert_eq!(a("iter/task"), A::Iter);
        assert_eq!(a("iter.s/task_file"), A::Iter);
        assert_eq!(
            a("kprobe/do_sys_openat2"),
            A::Kprobe {
                func: "do_sys_openat2".into(),
                offset: 0,
                ret: false
            }
        );
        assert_eq!(
            a("kprobe/tcp_connect+0x10"),
            A::Kprobe {
                func: "tcp_connect".into(),
                offset: 16,
                ret: false
            }
        );
        assert_eq!(
            a("kretprobe/tcp_connect"),
            A::Kprobe {
                func: "tcp_connect".into(),
                offset: 0,
                ret: true
            }
        );
        assert_eq!(a("kprobe"), A::None);
        assert_eq!(
            a("kprobe.multi/tcp_*"),
            A::KprobeMulti {
                pattern: "tcp_*".into(),
                ret: false
            }
        );
        assert_eq!(
            a("kretprobe.multi/x?"),
            A::KprobeMulti {
                pattern: "x?".into(),
                ret: true
            }
        );
        assert_eq!(
            a("ksyscall/openat"),
            A::Ksyscall {
                name: "openat".into(),
                ret: false
            }
        );
        assert_eq!(
            a("kretsyscall/openat"),
            A::Ksyscall {
                name: "openat".into(),
                ret: true
            }
        );
        assert_eq!(
            a("uprobe//proc/self/exe:my_fn+4"),
            A::Uprobe {
                path: "/proc/self/exe".into(),
                func: "my_fn".into(),
                offset: 4,
                ret: false
            }
        );
        assert_eq!(
            a("uretprobe.s/libc.so.6:malloc"),
            A::Uprobe {
                path: "libc.so.6".into(),
                func: "malloc".into(),
                offset: 0,
                ret: true
            }
        );
        assert_eq!(
            a("uprobe//bin/true:0x1234"),
            A::Uprobe {
                path: "/bin/true".into(),
                func: String::new(),
                offset: 0x1234,
                ret: false
            }
        );
        assert_eq!(a("uprobe"), A::None);
        assert_eq!(
            a("usdt//usr/bin/python3:python:function__entry"),
            A::Usdt {
                path: "/usr/bin/python3".into(),
                provider: "python".into(),
                name: "function__entry".into()
            }
        );
        assert_eq!(a("usdt"), A::None);
        for s in [
            "xdp",
            "tc",
            "tc/ingress",
            "tcx/egress",
            "cgroup_skb/ingress",
            "socket",
            "perf_event",
            "sk_lookup",
            "lsm_cgroup/x",
            "syscall",
            "unknown/x",
            "uprobe.multi/x:y",
        ] {
            assert_eq!(a(s), A::None, "{s}");
        }
    }

    #[test]
    fn malformed_targets_are_errors() {
        for s in [
            "tp/syscalls",
            "tp/a/b/c",
            "uprobe/nocolon",
            "uprobe/:f",
            "uprobe/p:",
            "uprobe/p:f+zz",
            "usdt/p:prov",
            "usdt/p::n",
            "kretprobe/f+8",
            "kprobe/+4",
        ] {
            let e = auto_attach(s).unwrap_err();
            assert!(e.contains(s), "{s}: {e}");
        }
    }
}
