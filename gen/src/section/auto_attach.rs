//! Where a program attaches, read from its section name as libbpf's auto-attach rules read
//! it (`tp/<category>/<name>`, `kprobe/<func>+<offset>`, `uprobe/<path>:<func>`, ...): what a
//! skeleton's `attach()` does with each program.

use super::lookup;

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

#[cfg(test)]
mod tests {
    use super::*;

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
