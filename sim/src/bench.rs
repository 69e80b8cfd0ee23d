//! Figures for BENCHMARKS.md: explored runs per second and delivered messages per second, per
//! built-in scenario, on one thread, under the random walk (records kept, text off, as
//! `explore` runs). Wall-clock time is read here and only here.

use std::fmt::Write;

use crate::explore::{ExploreConfig, explore};
use crate::scenario::Scenario;
use crate::strategy::StrategyKind;

/// One scenario's figures.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// The scenario measured.
    pub scenario: String,
    /// Runs made.
    pub runs: u64,
    /// Runs per second of wall time.
    pub runs_per_second: f64,
    /// Messages delivered per second of wall time.
    pub messages_per_second: f64,
    /// Messages delivered per run, on average.
    pub messages_per_run: f64,
}

/// Explores each of `scenarios` for `runs` runs (after a warm-up of a tenth as many).
pub fn bench(scenarios: &[Box<dyn Scenario>], runs: u64) -> Vec<BenchRow> {
    scenarios.iter().map(|s| bench_one(&**s, runs)).collect()
}

fn bench_one(scenario: &dyn Scenario, runs: u64) -> BenchRow {
    let warm_up = ExploreConfig::new(StrategyKind::Random, (runs / 10).max(1));
    explore(scenario, &warm_up, &mut |_, _| {});
    let config = ExploreConfig { first_seed: 1_000_000, ..ExploreConfig::new(StrategyKind::Random, runs) };
    let summary = explore(scenario, &config, &mut |_, _| {});
    BenchRow {
        scenario: scenario.name().to_owned(),
        runs: summary.runs,
        runs_per_second: summary.runs_per_second(),
        messages_per_second: summary.messages_per_second(),
        messages_per_run: summary.delivered as f64 / summary.runs.max(1) as f64,
    }
}

/// The rows as a Markdown table.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out =
        String::from("| scenario | runs | runs/s | delivered messages/s | messages/run |\n|---|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.1} |",
            r.scenario, r.runs, r.runs_per_second, r.messages_per_second, r.messages_per_run
        );
    }
    out
}
