//! The objects measured: test fixtures that load with no settings, and the synthetic
//! `scale_<N>` objects of the build script.

/// An object to measure: its name (the skeleton's, also bpftool's `name`), its path, a
/// function that opens, loads and drops its lskel skeleton once, the same keeping the verified
/// loader for the next load (`LoadOptions::keep_loader`), and one that does the same with
/// `load_with_stats` and returns the phases.
pub struct Object {
    pub name: &'static str,
    pub path: &'static str,
    pub load: fn() -> Result<(), String>,
    pub load_kept: fn() -> Result<(), String>,
    pub stats: fn() -> Result<lskel::LoadStats, String>,
}

macro_rules! load_fn {
    ($module:ident) => {
        || {
            let skel = $module::open().load().map_err(|e| e.to_string())?;
            drop(skel);
            Ok(())
        }
    };
}

macro_rules! load_kept_fn {
    ($module:ident) => {
        || {
            let opts = lskel::LoadOptions {
                keep_loader: true,
                ..Default::default()
            };
            let skel = $module::open()
                .load_with(&opts)
                .map_err(|e| e.to_string())?;
            drop(skel);
            Ok(())
        }
    };
}

lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/maps.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/globals.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/calls.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/core.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/ksyms.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/kconfig.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/scale.bpf.o");
lskel::bpf_skeleton!("../tests/bpf/bigbss.bpf.o");
lskel::bpf_skeleton!("$OUT_DIR/scale_1.bpf.o");
lskel::bpf_skeleton!("$OUT_DIR/scale_8.bpf.o");
lskel::bpf_skeleton!("$OUT_DIR/scale_64.bpf.o");
lskel::bpf_skeleton!("$OUT_DIR/scale_256.bpf.o");

macro_rules! stats_fn {
    ($module:ident) => {
        || {
            let (skel, stats) = $module::open()
                .load_with_stats(&lskel::LoadOptions::default())
                .map_err(|e| e.to_string())?;
            drop(skel);
            Ok(stats)
        }
    };
}

macro_rules! fixture {
    ($module:ident) => {
        Object {
            name: stringify!($module),
            path: concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/bpf/",
                stringify!($module),
                ".bpf.o"
            ),
            load: load_fn!($module),
            load_kept: load_kept_fn!($module),
            stats: stats_fn!($module),
        }
    };
}

macro_rules! synthetic {
    ($module:ident) => {
        Object {
            name: stringify!($module),
            path: concat!(env!("OUT_DIR"), "/", stringify!($module), ".bpf.o"),
            load: load_fn!($module),
            load_kept: load_kept_fn!($module),
            stats: stats_fn!($module),
        }
    };
}

/// Every object, in table order.
pub fn all() -> Vec<Object> {
    vec![
        fixture!(counter),
        fixture!(maps),
        fixture!(globals),
        fixture!(calls),
        fixture!(core),
        fixture!(ksyms),
        fixture!(kconfig),
        fixture!(scale),
        fixture!(bigbss),
        synthetic!(scale_1),
        synthetic!(scale_8),
        synthetic!(scale_64),
        synthetic!(scale_256),
    ]
}
