//! `cargo run --release -p lskel-bench [-- --short]`: load latency and size of lskel light
//! skeletons against bpftool's light skeleton (`bpftool gen skeleton -L` + libbpf's
//! `skel_internal.h`) and libbpf's skeleton, measured in the same run on this machine, as one
//! table of ratios. Needs root (the loads are real), bpftool and gcc with libbpf's headers.
//!
//! Latency is one open + load + drop (destroy for C), median and 90th percentile of `--iters`
//! loads after a warm-up, each C reference in its own process. "kept" is the same lskel load
//! repeated with `LoadOptions::keep_loader` (the loader verified once, rerun with a fresh blob).
//! Nothing here asserts a time:
//! the figures are for reading.

mod cref;
mod objects;
mod phases;
mod stats;

use std::path::Path;
use std::time::{Duration, Instant};

use cref::{Driver, Kind};
use stats::{ms, ratio, Summary};

struct Args {
    iters: usize,
    gen_runs: usize,
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        iters: 30,
        gen_runs: 5,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--short" => {
                a.iters = 3;
                a.gen_runs = 1;
            }
            "--iters" => a.iters = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.iters),
            "--only" => a.only = it.next(),
            other => {
                eprintln!("usage: lskel-bench [--short] [--iters N] [--only OBJECT] (not {other})");
                std::process::exit(2);
            }
        }
    }
    a
}

/// One object's row.
#[derive(Default)]
struct Row {
    lskel: Option<Summary>,
    /// Repeated loads keeping the verified loader (`LoadOptions::keep_loader`).
    kept: Option<Summary>,
    light: Option<Summary>,
    libbpf: Option<Summary>,
    floor: Option<Summary>,
    loader_insns: usize,
    embedded: usize,
    light_embedded: Option<usize>,
    gen: Duration,
    light_gen: Option<Duration>,
    phases: Option<phases::Phases>,
}

fn lskel_samples(load: fn() -> Result<(), String>, n: usize) -> Result<Summary, String> {
    load()?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        load()?;
        samples.push(t0.elapsed());
    }
    Ok(Summary::of(&samples))
}

fn lskel_gen(obj: &Path, name: &str, runs: usize) -> Result<(Duration, usize, usize), String> {
    let data = std::fs::read(obj).map_err(|e| format!("{}: {e}", obj.display()))?;
    let ident = lskel_gen::expand::types::ident(name);
    let mut times = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let skel = lskel_gen::generate(&data, name).map_err(|e| e.to_string())?;
        let tokens =
            lskel_gen::expand::skeleton::expand(&skel, &ident, None).map_err(|e| e.to_string())?;
        times.push(t0.elapsed());
        drop(tokens);
        sizes = (
            skel.loader.insns.len() / 8,
            skel.loader.blob.len() + skel.loader.insns.len(),
        );
    }
    Ok((Summary::of(&times).median, sizes.0, sizes.1))
}

fn measure(o: &objects::Object, a: &Args, scratch: &Path) -> Row {
    let dir = scratch.join(o.name);
    let _ = std::fs::create_dir_all(&dir);
    let obj = Path::new(o.path);
    let mut row = Row::default();
    match lskel_gen(obj, o.name, a.gen_runs) {
        Ok((t, insns, bytes)) => {
            row.gen = t;
            row.loader_insns = insns;
            row.embedded = bytes;
        }
        Err(e) => eprintln!("{}: lskel-gen: {e}", o.name),
    }
    match lskel_samples(o.load, a.iters) {
        Ok(s) => row.lskel = Some(s),
        Err(e) => eprintln!("{}: lskel load: {e}", o.name),
    }
    // The warm-up load of `lskel_samples` fills the cache: every sample reruns its loader.
    match lskel_samples(o.load_kept, a.iters) {
        Ok(s) => row.kept = Some(s),
        Err(e) => eprintln!("{}: lskel load (loader kept): {e}", o.name),
    }
    // Closes the kept loader: the other figures measure loads that verify theirs.
    lskel::drop_kept_loaders();
    match phases::measure(o.stats, a.iters) {
        Ok(p) => row.phases = Some(p),
        Err(e) => eprintln!("{}: lskel load_with_stats: {e}", o.name),
    }
    match cref::light_gen(obj, o.name, &dir, a.gen_runs) {
        Ok(g) => {
            row.light_gen = Some(g.gen_time);
            row.light_embedded = Some(g.embedded);
        }
        Err(e) => eprintln!("{}: bpftool gen skeleton -L: {e}", o.name),
    }
    for kind in [Kind::Light, Kind::Libbpf] {
        let r = Driver::build(kind, obj, o.name, &dir).and_then(|d| d.samples(a.iters));
        let r = match r {
            Ok(s) => {
                if let Kind::Libbpf = kind {
                    let floor: Vec<Duration> = s.iter().map(|x| x.1).collect();
                    row.floor = Some(Summary::of(&floor));
                }
                let total: Vec<Duration> = s.iter().map(|x| x.0).collect();
                Some(Summary::of(&total))
            }
            Err(e) => {
                eprintln!("{}: {kind:?} C skeleton: {e}", o.name);
                None
            }
        };
        match kind {
            Kind::Light => row.light = r,
            Kind::Libbpf => row.libbpf = r,
        }
    }
    row
}

fn main() {
    let a = args();
    if let Err(e) = lskel::probe_kernel() {
        eprintln!("lskel-bench loads BPF objects and needs root: {e}");
        std::process::exit(1);
    }
    let scratch = std::env::temp_dir().join(format!("lskel-bench-{}", std::process::id()));
    println!(
        "lskel-bench: {} loads per figure (after a warm-up); times in ms; ratios are lskel / reference",
        a.iters
    );
    println!(
        "{:<12} {:>15} {:>15} {:>8} {:>15} {:>15} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9} {:>9} {:>6} {:>8} {:>8}",
        "object",
        "lskel med/p90",
        "kept med/p90",
        "k/light",
        "C-light med/p90",
        "libbpf med/p90",
        "/light",
        "/libbpf",
        "floor",
        "/floor",
        "insns",
        "bytes",
        "light-B",
        "/B",
        "gen ms",
        "bpftool"
    );
    let mut failed = false;
    let mut phase_rows = Vec::new();
    for o in objects::all() {
        if a.only.as_deref().is_some_and(|only| only != o.name) {
            continue;
        }
        let row = measure(&o, &a, &scratch);
        failed |= row.lskel.is_none()
            || row.kept.is_none()
            || row.loader_insns == 0
            || row.phases.is_none();
        phase_rows.push(phases::row(o.name, row.phases.as_ref()));
        let pair = |s: Option<Summary>| {
            s.map_or("-".to_string(), |s| {
                format!("{}/{}", ms(s.median), ms(s.p90))
            })
        };
        let med = |s: Option<Summary>| s.map(|s| s.median);
        let bytes_ratio = row
            .light_embedded
            .filter(|&b| b > 0 && row.embedded > 0)
            .map_or("-".into(), |b| {
                format!("{:.2}", row.embedded as f64 / b as f64)
            });
        println!(
            "{:<12} {:>15} {:>15} {:>8} {:>15} {:>15} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9} {:>9} {:>6} {:>8} {:>8}",
            o.name,
            pair(row.lskel),
            pair(row.kept),
            ratio(med(row.kept), med(row.light)),
            pair(row.light),
            pair(row.libbpf),
            ratio(med(row.lskel), med(row.light)),
            ratio(med(row.lskel), med(row.libbpf)),
            row.floor.map_or("-".into(), |s| ms(s.median)),
            ratio(med(row.lskel), med(row.floor)),
            row.loader_insns,
            row.embedded,
            row.light_embedded.map_or("-".into(), |b| b.to_string()),
            bytes_ratio,
            ms(row.gen),
            row.light_gen.map_or("-".into(), ms),
        );
    }
    println!();
    println!("lskel load phases (medians of load_with_stats): loader map create+update, loader verification, loader run, user space; loader insns written and verified");
    println!("{}", phases::header());
    for r in &phase_rows {
        println!("{r}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
    // The references may fail on an object (bpftool 7.1 refuses some); lskel must not.
    if failed {
        eprintln!("lskel-bench: lskel failed to generate or load an object (see above)");
        std::process::exit(1);
    }
}
