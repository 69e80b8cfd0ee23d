//! Timing: one warm-up run, then a fixed number of measured runs; medians reported.

use std::time::Duration;

/// What one run of a workload did: how many operations, in how long.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub ops: u64,
    pub elapsed: Duration,
}

impl Sample {
    pub fn new(ops: u64, elapsed: Duration) -> Sample {
        Sample { ops, elapsed }
    }

    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[mid],
        _ => (sorted[mid - 1] + sorted[mid]) / 2.0,
    }
}

/// Rates of each measured run of one side (skygroup or tokio).
#[derive(Debug, Clone, Default)]
pub struct Rates(pub Vec<f64>);

impl Rates {
    pub fn median(&self) -> f64 {
        median(&self.0)
    }
}

/// One warm-up run of each side, then `runs` rounds that each run skygroup then the baseline
/// (interleaved, so machine drift hits both sides alike). Run `i` gets its index (the
/// simulator uses it as a seed).
pub fn compare(
    runs: usize,
    skygroup: &dyn Fn(usize) -> Sample,
    baseline: Option<&dyn Fn(usize) -> Sample>,
) -> (Rates, Option<Rates>) {
    skygroup(runs);
    if let Some(base) = baseline {
        base(runs);
    }
    let mut ours = Rates::default();
    let mut theirs = baseline.map(|_| Rates::default());
    for i in 0..runs {
        ours.0.push(skygroup(i).rate());
        if let (Some(base), Some(rates)) = (baseline, theirs.as_mut()) {
            rates.0.push(base(i).rate());
        }
    }
    (ours, theirs)
}

/// The median over rounds of skygroup's rate divided by the baseline's in the same round.
pub fn ratio(ours: &Rates, theirs: &Rates) -> f64 {
    let per_round: Vec<f64> = ours.0.iter().zip(&theirs.0).map(|(a, b)| a / b).collect();
    median(&per_round)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratio_is_median_of_rounds() {
        let ours = Rates(vec![2.0, 10.0, 3.0]);
        let theirs = Rates(vec![1.0, 1.0, 3.0]);
        assert_eq!(ratio(&ours, &theirs), 2.0);
    }
}
