//! Exploration: run a scenario many times under one strategy and sum up what was seen.
//!
//! Runs keep records but no text trace (the oracle reads records); the first failing run is
//! replayed from its decision log with the text trace on, which also checks that the run
//! reproduces (S1). Only the runs/s figure reads the wall clock; nothing it measures feeds
//! back into the runs.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use crate::chooser::{Chooser, Decision, DecisionKind};
use crate::log::{DecisionLog, Tail};
use crate::record::Happening;
use crate::replay::Replayer;
use crate::report::FailureReport;
use crate::scenario::{Marks, RunConfig, RunReport, Scenario, run_once};
use crate::strategy::{self, Calibration, StrategyKind};

/// How to explore.
#[derive(Debug, Clone, Copy)]
pub struct ExploreConfig {
    /// Which strategy, with its parameter.
    pub strategy: StrategyKind,
    /// At most this many runs (a bounded search may need fewer).
    pub runs: u64,
    /// Virtual workers.
    pub workers: usize,
    /// Inject faults (also on when the scenario asks for them).
    pub faults: bool,
    /// The first seed (random and PCT use consecutive seeds from it).
    pub first_seed: u64,
    /// Stop at the first failing run.
    pub stop_at_first: bool,
}

impl ExploreConfig {
    /// `runs` runs of `strategy`, default workers, no faults, from seed 0, not stopping.
    pub fn new(strategy: StrategyKind, runs: u64) -> ExploreConfig {
        let workers = crate::WORKERS_DEFAULT;
        ExploreConfig { strategy, runs, workers, faults: false, first_seed: 0, stop_at_first: false }
    }
}

/// What an exploration saw.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The scenario explored.
    pub scenario: String,
    /// The strategy used.
    pub strategy: StrategyKind,
    /// Runs made.
    pub runs: u64,
    /// Runs that failed.
    pub failed_runs: u64,
    /// Distinct mailbox delivery orders seen.
    pub interleavings: usize,
    /// Messages delivered over all runs.
    pub delivered: u64,
    /// Wall time spent.
    pub elapsed: Duration,
    /// The scenario's marks, summed over runs.
    pub marks: Marks,
    /// The strategy's own account (PCT bound, exhaustive counts).
    pub strategy_note: String,
    /// The first failure, and the run (1-based) it happened in.
    pub first_failure: Option<(u64, FailureReport)>,
}

impl Summary {
    /// Runs per second of wall time.
    pub fn runs_per_second(&self) -> f64 {
        self.runs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Messages delivered per second of wall time.
    pub fn messages_per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario {} · strategy {}", self.scenario, self.strategy.name())?;
        writeln!(f, "  {}", self.strategy_note)?;
        writeln!(f, "  runs:                   {}", self.runs)?;
        writeln!(f, "  distinct interleavings: {}", self.interleavings)?;
        writeln!(f, "  runs/s:                 {:.0}", self.runs_per_second())?;
        writeln!(f, "  messages/s:             {:.0}", self.messages_per_second())?;
        write!(f, "  violations:             {} failing run(s)", self.failed_runs)?;
        let declared = self.marks.reached.len();
        let missed = self.marks.never_reached();
        write!(f, "\n  sometimes marks:        {} of {declared} reached", declared - missed.len())?;
        for mark in missed {
            write!(f, "\n    never reached: {mark}")?;
        }
        Ok(())
    }
}

/// Explores `scenario`; `progress(runs done, failing runs)` is called after every run.
pub fn explore(scenario: &dyn Scenario, config: &ExploreConfig, progress: &mut dyn FnMut(u64, u64)) -> Summary {
    let faults = config.faults || scenario.faults();
    let calibration = match config.strategy {
        StrategyKind::Pct { .. } => calibrate(scenario, config.first_seed, faults),
        _ => Calibration { services: 0, steps: 0 },
    };
    let mut strategy = strategy::make(config.strategy, config.first_seed, calibration);
    let mut summary = Summary::new(scenario.name(), config.strategy);
    let mut seen = BTreeSet::new();
    let start = Instant::now();
    while summary.runs < config.runs && !(config.stop_at_first && summary.failed_runs > 0) {
        let Some(plan) = strategy.next_plan() else { break };
        let run =
            RunConfig { seed: plan.seed, workers: config.workers, faults, chooser: Some(plan.chooser), text: false };
        let report = run_once(scenario, run);
        strategy.finished(&report.decisions);
        seen.insert(report.interleaving);
        summary.count(&report);
        if report.outcome.is_err() && summary.first_failure.is_none() {
            let log = log_of(&report, config.workers, faults, plan.tail);
            let origin = format!("{}, run {}", config.strategy.name(), summary.runs);
            summary.first_failure = Some((summary.runs, replay(scenario, &log, origin)));
        }
        progress(summary.runs, summary.failed_runs);
    }
    summary.elapsed = start.elapsed();
    summary.interleavings = seen.len();
    summary.strategy_note = strategy.describe();
    summary
}

impl Summary {
    fn new(scenario: &str, strategy: StrategyKind) -> Summary {
        Summary {
            scenario: scenario.to_owned(),
            strategy,
            runs: 0,
            failed_runs: 0,
            interleavings: 0,
            delivered: 0,
            elapsed: Duration::ZERO,
            marks: Marks::default(),
            strategy_note: String::new(),
            first_failure: None,
        }
    }

    /// Adds one finished run.
    fn count(&mut self, report: &RunReport) {
        self.runs += 1;
        self.failed_runs += u64::from(report.outcome.is_err());
        self.delivered += report.stats.delivered;
        self.marks.merge(&report.marks);
    }
}

/// The decision log of a finished run.
pub fn log_of(report: &RunReport, workers: usize, faults: bool, tail: Tail) -> DecisionLog {
    DecisionLog { seed: report.seed, workers, faults, tail, decisions: report.decisions.clone() }
}

/// Replays `log` with the text trace on. The report's failure is `Ok` if the replay passed.
pub fn replay_run(scenario: &dyn Scenario, log: &DecisionLog) -> (RunReport, Replayer) {
    let replayer = Replayer::new(log);
    let config = RunConfig {
        seed: log.seed,
        workers: log.workers,
        faults: log.faults,
        chooser: Some(Box::new(replayer.clone())),
        text: true,
    };
    (run_once(scenario, config), replayer)
}

/// Replays a failing run's log into a printable report. If the replay passes, the run did
/// not reproduce: that breaks S1 and is reported as such.
pub fn replay(scenario: &dyn Scenario, log: &DecisionLog, origin: String) -> FailureReport {
    let (mut report, replayer) = replay_run(scenario, log);
    if report.outcome.is_ok() {
        let message = "S1: the failing run passed when replayed from its log".to_owned();
        report.outcome = Err(crate::scenario::Failure::Panic(message));
    }
    let log = DecisionLog { decisions: report.decisions.clone(), ..log.clone() };
    FailureReport::new(scenario.name(), origin, log, report, replayer.divergence())
}

/// Sizes a scenario for PCT: services started and pick decisions in the default schedule.
pub fn calibrate(scenario: &dyn Scenario, seed: u64, faults: bool) -> Calibration {
    let counter = PickCounter::default();
    let picks = counter.picks.clone();
    let config = RunConfig { faults, chooser: Some(Box::new(counter)), text: false, ..RunConfig::seed(seed) };
    let report = run_once(scenario, config);
    let services = report.records.iter().filter(|r| matches!(r.event, Happening::Spawn { .. })).count() as u64;
    let steps = picks.load(std::sync::atomic::Ordering::Relaxed);
    Calibration { services, steps }
}

/// The default order, counting pick decisions.
#[derive(Default)]
struct PickCounter {
    picks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Chooser for PickCounter {
    fn choose(&mut self, _n: usize) -> usize {
        0
    }

    fn decide(&mut self, decision: &Decision<'_>) -> usize {
        if decision.kind == DecisionKind::Pick {
            self.picks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        0
    }
}
