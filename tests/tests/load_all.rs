//! Every fixture object loads on the real kernel through the generated loader, except the ones
//! this kernel refuses to libbpf too (see conformance.rs); those must fail with exactly the
//! errno the kernel gives, and leave nothing behind.

use lskel::abi::LoaderCtx;
use lskel::{bpf_load_and_run_at, Errno, LoadOptions};
use lskel_tests::{fixtures, require_kernel};

/// Objects this machine's kernel refuses, with the errno and why.
const REFUSED_HERE: &[(&str, Errno, &str)] = &[
    (
        "bad_prog",
        Errno::ACCES,
        "the verifier rejects `bad_read` (on purpose)",
    ),
    (
        "missing_kfunc",
        Errno::NOENT,
        "a strong kfunc no kernel has (on purpose)",
    ),
    (
        "fentry",
        Errno::PERM,
        "fentry/fexit/fmod_ret/LSM loads are refused (lockdown)",
    ),
    (
        "ksyms_percpu",
        Errno::NOENT,
        "per-CPU variables are not in kallsyms (CONFIG_KALLSYMS_ALL=n)",
    ),
];

#[test]
fn every_fixture_loads() {
    require_kernel!();
    for path in fixtures() {
        let data = std::fs::read(&path).unwrap();
        let stem = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        let skel =
            lskel_gen::generate(&data, &stem).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut ctx = LoaderCtx::new(skel.plan.maps.len(), skel.plan.programs.len());
        let opts = LoadOptions {
            log_level: 1,
            log_size: 0,
            keep_loader: false,
            keyring: lskel::Keyring::Session,
            signature: lskel::SignatureCheck::Required,
        };
        // As a skeleton: programs of `?` sections are switched off.
        for (j, p) in skel.plan.programs.iter().enumerate() {
            ctx.set_autoload(j, !p.def.autoload_off);
        }
        // The loader lskel-gen generated for this ctx's layout; the ctx holds no address.
        let area = skel.loader.ctx_area.map(|a| a as usize);
        // SAFETY: as above; `area` is where an interpreter loader leaves its fds.
        let result = unsafe {
            bpf_load_and_run_at(&mut ctx, &skel.loader.blob, &skel.loader.insns, area, &opts)
        };
        if let Some((_, errno, why)) = REFUSED_HERE.iter().find(|(s, _, _)| *s == stem) {
            let err = result.err().unwrap_or_else(|| {
                panic!(
                    "{}: expected the kernel to refuse it ({why})",
                    path.display()
                )
            });
            assert_eq!(err.errno(), Some(*errno), "{}: {err}", path.display());
            continue;
        }
        let fds = result.unwrap_or_else(|e| panic!("{}: {e}\n{:?}", path.display(), e));
        assert_eq!(fds.maps.len(), skel.plan.maps.len());
        assert!(
            fds.maps.iter().all(Option::is_some),
            "{}: a map fd is missing",
            path.display()
        );
        for (p, fd) in skel.plan.programs.iter().zip(&fds.progs) {
            let want = !p.def.autoload_off;
            assert_eq!(
                fd.is_some(),
                want,
                "{}: program `{}` loaded",
                path.display(),
                p.def.func.name
            );
        }
    }
}
