//! How a failure is printed: what went wrong, the waiting cycle if it hung, the end of the
//! trace, then the seed, the decision log and, last, the command that replays it (S2).

use std::fmt;

use crate::deadlock;
use crate::log::DecisionLog;
use crate::replay::Divergence;
use crate::scenario::{Failure, RunReport};

/// Trace lines shown before the reproduction lines.
pub const TRACE_TAIL: usize = 30;

/// One failing run, ready to print.
#[derive(Debug, Clone)]
pub struct FailureReport {
    /// The scenario that failed.
    pub scenario: String,
    /// e.g. `random, run 17`; empty for a replay.
    pub origin: String,
    /// The run's seed.
    pub seed: u64,
    /// The run's decisions, to replay it exactly.
    pub log: DecisionLog,
    /// Why it failed.
    pub failure: Failure,
    /// The run's text trace.
    pub trace: Vec<String>,
    /// Lines of `trace` written before the runtime shut down (the tail shown ends there).
    pub program_end: usize,
    /// Where a replayed log stopped matching the code, if it did.
    pub divergence: Option<Divergence>,
}

impl FailureReport {
    /// The report of `run`, a failed run of `scenario` whose decisions `log` holds.
    pub fn new(
        scenario: &str,
        origin: String,
        log: DecisionLog,
        run: RunReport,
        divergence: Option<Divergence>,
    ) -> Self {
        let failure = run.outcome.err().unwrap_or_else(|| Failure::Assertion("the run passed".to_owned()));
        let (seed, trace, program_end) = (log.seed, run.trace, run.program_end);
        FailureReport { scenario: scenario.to_owned(), origin, seed, log, failure, trace, program_end, divergence }
    }
}

impl FailureReport {
    /// The last trace lines before the runtime shut down (nothing if there is no trace).
    fn write_tail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.trace.is_empty() {
            return Ok(());
        }
        let end = self.program_end.min(self.trace.len());
        let tail = &self.trace[end.saturating_sub(TRACE_TAIL)..end];
        writeln!(f, "last {} of {} trace lines before shutdown:", tail.len(), end)?;
        for line in tail {
            writeln!(f, "  {line}")?;
        }
        if end < self.trace.len() {
            writeln!(f, "  ({} more lines: the runtime shutting down)", self.trace.len() - end)?;
        }
        Ok(())
    }
}

/// The command that replays `log` in `scenario`.
pub fn replay_command(scenario: &str, log: &DecisionLog) -> String {
    format!("cargo run -p skygroup-sim -- replay --scenario {scenario} --log {log}")
}

/// The command that shrinks `log` in `scenario`.
pub fn shrink_command(scenario: &str, log: &DecisionLog) -> String {
    format!("cargo run -p skygroup-sim -- shrink --scenario {scenario} --log {log}")
}

/// Cycle-form lines for a deadlock panic; empty for other failures.
pub fn waiting_cycles(failure: &Failure) -> Vec<String> {
    match failure {
        Failure::Panic(message) if message.starts_with("deadlock") => deadlock::describe(message),
        _ => Vec::new(),
    }
}

impl fmt::Display for FailureReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = if self.origin.is_empty() { String::new() } else { format!(" ({})", self.origin) };
        writeln!(f, "---- failure in scenario {}{origin} ----", self.scenario)?;
        writeln!(f, "{}", self.failure)?;
        for cycle in waiting_cycles(&self.failure) {
            writeln!(f, "waiting: {cycle}")?;
        }
        if let Some(divergence) = &self.divergence {
            writeln!(f, "replay: {divergence}; continued with the log's tail choices")?;
        }
        self.write_tail(f)?;
        let log = &self.log;
        writeln!(f, "seed:   {}", self.seed)?;
        writeln!(f, "log:    {log} ({} decisions, {} deviations)", log.decisions.len(), log.deviations())?;
        writeln!(f, "shrink: {}", shrink_command(&self.scenario, log))?;
        write!(f, "replay: {}", replay_command(&self.scenario, log))
    }
}
