// Running loader bytes and putting raw addresses in the ctx are `unsafe` (issue 13): safe code
// reaches the kernel only through a generated skeleton's `load()`.
use lskel::abi::LoaderCtx;
use lskel::{bpf_load_and_run, LoadOptions};

fn main() {
    let mut ctx = LoaderCtx::with_targets(1, 1, 1);
    ctx.set_log(1, 4096, 0x1000);
    ctx.set_initial_value(0, 0x1000);
    ctx.set_attach_target(0, 0x1000, 4);
    let _ = bpf_load_and_run(&mut ctx, &[0; 8], &[0; 8], &LoadOptions::default());
}
