//! A PERF_EVENT_ARRAY declared without max_entries is sized to the possible CPUs even through
//! the low-level API: `bpf_load_and_run` fills in the count when the ctx leaves it at 0.

use lskel::abi::LoaderCtx;
use lskel::{bpf_load_and_run, LoadOptions};
use lskel_tests::{fixture, require_kernel};

#[test]
fn default_loader_ctx_loads_a_perf_event_array_without_max_entries() {
    require_kernel!();
    let data = std::fs::read(fixture("maptypes.bpf.o")).unwrap();
    let skel = lskel_gen::generate(&data, "maptypes").unwrap();
    let mut ctx = LoaderCtx::new(skel.plan.maps.len(), skel.plan.programs.len());
    // SAFETY: the loader lskel-gen generated for this ctx's layout; the ctx holds no address.
    let result = unsafe {
        bpf_load_and_run(
            &mut ctx,
            &skel.loader.blob,
            &skel.loader.insns,
            &LoadOptions::default(),
        )
    };
    assert!(
        result.is_ok(),
        "a fresh LoaderCtx cannot load maptypes.bpf.o: {}",
        result.err().unwrap()
    );
}
