//! How a failure is printed: what went wrong, the waiting cycle if it hung, the end of the
//! trace, then the seed, the decision log and, last, the command that replays it (S2).

use std::fmt;

use crate::deadlock;
use crate::log::DecisionLog;
use crate::replay::Divergence;
use crate::scenario::Failure;

/// Trace lines shown before the reproduction lines.
pub const TRACE_TAIL: usize = 30;

/// One failing run, ready to print.
#[derive(Debug, Clone)]
pub struct FailureReport {
    pub scenario: String,
    /// e.g. `random, run 17`; empty for a replay.
    pub origin: String,
    pub seed: u64,
    pub log: DecisionLog,
    pub failure: Failure,
    /// The run's text trace.
    pub trace: Vec<String>,
    /// Where a replayed log stopped matching the code, if it did.
    pub divergence: Option<Divergence>,
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
        let tail = &self.trace[self.trace.len().saturating_sub(TRACE_TAIL)..];
        writeln!(f, "last {} of {} trace lines:", tail.len(), self.trace.len())?;
        for line in tail {
            writeln!(f, "  {line}")?;
        }
        let log = &self.log;
        writeln!(f, "seed:   {}", self.seed)?;
        writeln!(f, "log:    {log} ({} decisions, {} deviations)", log.decisions.len(), log.deviations())?;
        writeln!(f, "shrink: {}", shrink_command(&self.scenario, log))?;
        write!(f, "replay: {}", replay_command(&self.scenario, log))
    }
}
