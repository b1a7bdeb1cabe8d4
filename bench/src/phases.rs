//! The phases of an lskel load (`load_with_stats`): the loader's map, its verification and its
//! run, and user space, each the median over a run of loads; with the loader's written and
//! verified instruction counts.

use std::time::Duration;

use crate::stats::{ms, Summary};

/// Medians of each phase over one object's loads.
pub struct Phases {
    map: Duration,
    verify: Duration,
    run: Duration,
    user: Duration,
    total: Duration,
    insns: u32,
    verified: u32,
}

/// `n` loads with stats after a warm-up, summarised phase by phase.
pub fn measure(
    stats: fn() -> Result<lskel::LoadStats, String>,
    n: usize,
) -> Result<Phases, String> {
    stats()?;
    let mut all = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        all.push(stats()?);
    }
    let median = |f: fn(&lskel::LoadStats) -> Duration| {
        Summary::of(&all.iter().map(f).collect::<Vec<_>>()).median
    };
    let last = all.last().expect("at least one load");
    Ok(Phases {
        map: median(|s| s.loader_map),
        verify: median(|s| s.loader_verify),
        run: median(|s| s.loader_run),
        user: median(|s| s.user_space),
        total: median(|s| s.total),
        insns: last.loader_insns,
        verified: last.verified_insns,
    })
}

/// The header of the phases table.
pub fn header() -> String {
    format!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "object", "map ms", "verify ms", "run ms", "user ms", "total ms", "insns", "verified"
    )
}

/// One object's row (`-` when its loads failed).
pub fn row(name: &str, p: Option<&Phases>) -> String {
    match p {
        Some(p) => format!(
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}",
            name,
            ms(p.map),
            ms(p.verify),
            ms(p.run),
            ms(p.user),
            ms(p.total),
            p.insns,
            p.verified
        ),
        None => format!("{name:<12} -"),
    }
}
