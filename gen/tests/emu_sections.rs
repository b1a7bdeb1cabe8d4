//! Every program section of the `sec_*` fixtures (tests/bpf/README.md), run through the
//! generated loader in `lskel-emu` with every program switched on (a zeroed ctx: `?` programs
//! included, so the ones this kernel refuses are covered too). Each BPF_PROG_LOAD attr must carry
//! the prog type, expected attach type and prog flags of libbpf's section table, written out
//! here independently of `lskel_gen::section`.

mod common;

use common::*;

const PROG_TYPE: usize = 0;
const PROG_FLAGS: usize = 44;
const PROG_NAME: usize = 48;
const EXPECTED_ATTACH_TYPE: usize = 68;
const ATTACH_BTF_ID: usize = 108;

const SLEEPABLE: u32 = 1 << 4; // BPF_F_SLEEPABLE
const FRAGS: u32 = 1 << 5; // BPF_F_XDP_HAS_FRAGS

/// libbpf's (prog type, expected attach type, prog flags, needs an attach BTF id) of section
/// `sec` (without the `?`), for the sections the fixtures use. libbpf sets the expected attach
/// type of `SEC_ATTACHABLE_OPT` sections on every kernel that supports it.
fn libbpf(sec: &str) -> (u32, u32, u32, bool) {
    let head = sec.split('/').next().unwrap();
    let exact = |s: &str| sec == s;
    match () {
        _ if exact("socket") => (1, 0, 0, false),
        _ if exact("sk_reuseport/migrate") => (21, 40, 0, false),
        _ if exact("sk_reuseport") => (21, 39, 0, false),
        _ if matches!(
            head,
            "kprobe" | "kretprobe" | "uprobe" | "uretprobe" | "ksyscall"
        ) || matches!(head, "kretsyscall" | "usdt") =>
        {
            (2, 0, 0, false)
        }
        _ if matches!(head, "uprobe.s" | "uretprobe.s" | "usdt.s") => (2, 0, SLEEPABLE, false),
        _ if matches!(head, "kprobe.multi" | "kretprobe.multi") => (2, 42, 0, false),
        _ if head == "kprobe.session" => (2, 56, 0, false),
        _ if matches!(head, "uprobe.multi" | "uretprobe.multi") => (2, 48, 0, false),
        _ if matches!(head, "uprobe.multi.s" | "uretprobe.multi.s") => (2, 48, SLEEPABLE, false),
        _ if head == "uprobe.session" => (2, 57, 0, false),
        _ if head == "uprobe.session.s" => (2, 57, SLEEPABLE, false),
        _ if matches!(sec, "tc/ingress" | "tcx/ingress") => (3, 46, 0, false),
        _ if matches!(sec, "tc/egress" | "tcx/egress") => (3, 47, 0, false),
        _ if matches!(sec, "tc" | "classifier") => (3, 0, 0, false),
        _ if exact("action") => (4, 0, 0, false),
        _ if exact("netkit/primary") => (3, 54, 0, false),
        _ if exact("netkit/peer") => (3, 55, 0, false),
        _ if matches!(head, "tracepoint" | "tp") => (5, 0, 0, false),
        _ if matches!(head, "tracepoint.s" | "tp.s") => (5, 0, SLEEPABLE, false),
        _ if matches!(head, "raw_tracepoint" | "raw_tp") => (17, 0, 0, false),
        _ if matches!(head, "raw_tracepoint.s" | "raw_tp.s") => (17, 0, SLEEPABLE, false),
        _ if matches!(head, "raw_tracepoint.w" | "raw_tp.w") => (24, 0, 0, false),
        _ if head == "tp_btf" => (26, 23, 0, true),
        _ if head == "tp_btf.s" => (26, 23, SLEEPABLE, true),
        _ if head == "fentry.s" => (26, 24, SLEEPABLE, true),
        _ if head == "fexit.s" => (26, 25, SLEEPABLE, true),
        _ if head == "fmod_ret.s" => (26, 26, SLEEPABLE, true),
        _ if head == "lsm" => (29, 27, 0, true),
        _ if head == "lsm.s" => (29, 27, SLEEPABLE, true),
        _ if head == "lsm_cgroup" => (29, 43, 0, true),
        _ if exact("syscall") => (31, 0, SLEEPABLE, false),
        _ if exact("xdp.frags/devmap") => (6, 33, FRAGS, false),
        _ if exact("xdp/devmap") => (6, 33, 0, false),
        _ if exact("xdp.frags/cpumap") => (6, 35, FRAGS, false),
        _ if exact("xdp/cpumap") => (6, 35, 0, false),
        _ if exact("xdp.frags") => (6, 37, FRAGS, false),
        _ if exact("xdp") => (6, 37, 0, false),
        _ if exact("perf_event") => (7, 0, 0, false),
        _ if exact("lwt_in") => (10, 0, 0, false),
        _ if exact("lwt_out") => (11, 0, 0, false),
        _ if exact("lwt_xmit") => (12, 0, 0, false),
        _ if exact("lwt_seg6local") => (19, 0, 0, false),
        _ if exact("sockops") => (13, 3, 0, false),
        _ if exact("sk_skb/stream_parser") => (14, 4, 0, false),
        _ if exact("sk_skb/stream_verdict") => (14, 5, 0, false),
        _ if exact("sk_skb/verdict") => (14, 38, 0, false),
        _ if exact("sk_skb") => (14, 0, 0, false),
        _ if exact("sk_msg") => (16, 7, 0, false),
        _ if exact("lirc_mode2") => (20, 16, 0, false),
        _ if exact("flow_dissector") => (22, 17, 0, false),
        _ if exact("cgroup_skb/ingress") => (8, 0, 0, false),
        _ if exact("cgroup_skb/egress") => (8, 1, 0, false),
        _ if exact("cgroup/skb") => (8, 0, 0, false),
        _ if exact("cgroup/sock_create") || exact("cgroup/sock") => (9, 2, 0, false),
        _ if exact("cgroup/sock_release") => (9, 34, 0, false),
        _ if exact("cgroup/post_bind4") => (9, 12, 0, false),
        _ if exact("cgroup/post_bind6") => (9, 13, 0, false),
        _ if exact("cgroup/bind4") => (18, 8, 0, false),
        _ if exact("cgroup/bind6") => (18, 9, 0, false),
        _ if exact("cgroup/connect4") => (18, 10, 0, false),
        _ if exact("cgroup/connect6") => (18, 11, 0, false),
        _ if exact("cgroup/connect_unix") => (18, 49, 0, false),
        _ if exact("cgroup/sendmsg4") => (18, 14, 0, false),
        _ if exact("cgroup/sendmsg6") => (18, 15, 0, false),
        _ if exact("cgroup/sendmsg_unix") => (18, 50, 0, false),
        _ if exact("cgroup/recvmsg4") => (18, 19, 0, false),
        _ if exact("cgroup/recvmsg6") => (18, 20, 0, false),
        _ if exact("cgroup/recvmsg_unix") => (18, 51, 0, false),
        _ if exact("cgroup/getpeername4") => (18, 29, 0, false),
        _ if exact("cgroup/getpeername6") => (18, 30, 0, false),
        _ if exact("cgroup/getpeername_unix") => (18, 52, 0, false),
        _ if exact("cgroup/getsockname4") => (18, 31, 0, false),
        _ if exact("cgroup/getsockname6") => (18, 32, 0, false),
        _ if exact("cgroup/getsockname_unix") => (18, 53, 0, false),
        _ if exact("cgroup/sysctl") => (23, 18, 0, false),
        _ if exact("cgroup/getsockopt") => (25, 21, 0, false),
        _ if exact("cgroup/setsockopt") => (25, 22, 0, false),
        _ if exact("cgroup/dev") => (15, 6, 0, false),
        _ if head == "struct_ops" => (27, 0, 0, false),
        _ if head == "struct_ops.s" => (27, 0, SLEEPABLE, false),
        _ if exact("sk_lookup") => (30, 36, 0, false),
        _ if exact("netfilter") => (32, 45, 0, false),
        _ => panic!("section `{sec}` is not in this test's table"),
    }
}

#[test]
fn every_section_loads_with_libbpfs_attrs() {
    let mut sections = 0;
    for stem in [
        "sec_net",
        "sec_trace",
        "sec_new",
        "sec_refused",
        "sec_refused_new",
    ] {
        let f = fixture(stem);
        let mut k = kernel_for(&f.skel, Home::Vmlinux);
        // Zeroed: every program loads, `?` ones included.
        let mut ctx = fresh_ctx(&f);
        let out = run_loader(&f, &mut k, &mut ctx);
        assert_eq!(out.retval, 0, "{stem}: loader failed\n{}", syscall_list(&k));
        assert_loaded(&f, &k, &ctx);
        let loads = prog_loads(&k);
        let progs = &f.skel.plan.programs;
        assert_eq!(
            loads.len(),
            progs.len(),
            "{stem}: one PROG_LOAD per program"
        );
        for (s, p) in loads.iter().zip(progs) {
            let name = &p.def.func.name;
            let sec = p.def.func.section.trim_start_matches('?');
            let (ty, eat, flags, btf) = libbpf(sec);
            assert_eq!(s.name(PROG_NAME), truncated(name), "{stem}: load order");
            assert_eq!(
                (
                    s.u32(PROG_TYPE),
                    s.u32(EXPECTED_ATTACH_TYPE),
                    s.u32(PROG_FLAGS)
                ),
                (ty, eat, flags),
                "{stem}: `{name}` (section `{}`): prog type, expected attach type, flags",
                p.def.func.section
            );
            assert_eq!(
                s.u32(ATTACH_BTF_ID) != 0,
                btf,
                "{stem}: `{name}` (section `{sec}`): attach_btf_id {}",
                s.u32(ATTACH_BTF_ID)
            );
            assert_eq!(
                p.def.autoload_off,
                p.def.func.section.starts_with('?'),
                "{stem}: `{name}`"
            );
            sections += 1;
        }
    }
    // 47 + 15 + 21 + 9 + 5 programs, one per section.
    assert_eq!(sections, 97);
}

#[test]
fn refused_sections_are_off_by_default() {
    for (stem, n_off, so) in [
        ("sec_refused", 8, "so_op"),
        ("sec_refused_new", 4, "so_op_s"),
    ] {
        let f = fixture(stem);
        let progs = &f.skel.plan.programs;
        let off: Vec<&str> = (progs.iter())
            .filter(|p| p.def.autoload_off)
            .map(|p| p.def.func.name.as_str())
            .collect();
        assert_eq!(off.len(), n_off, "{stem}: {off:?}");
        assert!(!off.contains(&"alive"), "{stem}");
        // A struct_ops program without a `.struct_ops` map still generates, with no attach target.
        let p = progs.iter().find(|p| p.def.func.name == so).unwrap();
        assert_eq!(p.target, None, "{stem}: `{so}`");
    }
}
