//! Order statistics over a run's samples.

use std::time::Duration;

/// Median and 90th percentile of a set of samples.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: Duration,
    pub p90: Duration,
}

impl Summary {
    /// Summarises `samples` (at least one).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Summary {
            median: at(0.5),
            p90: at(0.9),
        }
    }
}

/// A duration in milliseconds with three decimals, for the table.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// `a / b` as a ratio with two decimals, or `-` when either is missing.
pub fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".into(),
    }
}
