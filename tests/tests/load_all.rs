//! Every fixture object loads on the real kernel through the generated loader.

use lskel::abi::LoaderCtx;
use lskel::{bpf_load_and_run, LoadOptions};
use lskel_tests::{fixtures, require_kernel};

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
        };
        let fds = bpf_load_and_run(&mut ctx, &skel.loader.blob, &skel.loader.insns, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}\n{:?}", path.display(), e));
        assert_eq!(fds.maps.len(), skel.plan.maps.len());
        assert!(
            fds.maps.iter().all(Option::is_some),
            "{}: a map fd is missing",
            path.display()
        );
        assert!(
            fds.progs.iter().all(Option::is_some),
            "{}: a program fd is missing",
            path.display()
        );
    }
}
