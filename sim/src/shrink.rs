//! Shrinking a failing run: fewer deviations from the default order, same failure.
//!
//! A run's schedule is its decision log; option 0 at every point is the default order, so a
//! failure is explained by its *deviations* (non-zero choices). Delta debugging (Zeller's
//! ddmin, complement form) sets chunks of deviations back to 0 and keeps any candidate that
//! still fails the same way, halving the chunk size when none does, until no single deviation
//! can go. Candidates replay with [`Tail::Default`]: where a zeroed choice changes the rest of
//! the run, the replay follows the log while it matches and chooses 0 after. The result is cut
//! after its last deviation, so it is also short.

use crate::explore::replay_run;
use crate::log::{DecisionLog, Tail};
use crate::scenario::{Failure, Scenario};

/// A shrunk failing run.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The shrunk log (it still fails).
    pub log: DecisionLog,
    /// How it fails.
    pub failure: Failure,
    /// Runs tried while shrinking.
    pub runs: usize,
    /// Deviations in the input log and in the result.
    pub deviations_before: usize,
    /// Deviations in the result.
    pub deviations_after: usize,
}

/// Why a log could not be shrunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    /// The log does not fail in the named scenario.
    #[error("the log does not fail in scenario {0}: nothing to shrink")]
    Passes(String),
}

/// How a failure is recognised as "the same" while shrinking: its kind and rule (an
/// assertion's rule prefix, a panic's first word, the violated rules).
pub fn failure_class(failure: &Failure) -> String {
    match failure {
        Failure::Assertion(m) => format!("assertion {}", m.split(':').next().unwrap_or_default()),
        Failure::Panic(m) => format!("panic {}", m.split([':', ' ']).next().unwrap_or_default()),
        Failure::Violations(v) => {
            let rules: std::collections::BTreeSet<&str> = v.iter().map(|v| v.rule).collect();
            format!("violations {}", rules.into_iter().collect::<Vec<_>>().join(","))
        }
    }
}

/// Shrinks `log`, trying at most `runs_max` runs.
pub fn shrink(scenario: &dyn Scenario, log: &DecisionLog, runs_max: usize) -> Result<Shrunk, ShrinkError> {
    let (report, _) = replay_run(scenario, log);
    let Err(failure) = report.outcome else { return Err(ShrinkError::Passes(scenario.name().to_owned())) };
    let class = failure_class(&failure);
    let mut best = Candidate { log: cut(log, &report.decisions), failure };
    let mut shrinker = Shrinker { scenario, class, runs: 1, runs_max };
    let deviations_before = log.deviations();
    shrinker.ddmin(&mut best);
    let deviations_after = best.log.deviations();
    Ok(Shrunk { log: best.log, failure: best.failure, runs: shrinker.runs, deviations_before, deviations_after })
}

struct Candidate {
    log: DecisionLog,
    failure: Failure,
}

struct Shrinker<'a> {
    scenario: &'a dyn Scenario,
    class: String,
    runs: usize,
    runs_max: usize,
}

impl Shrinker<'_> {
    fn ddmin(&mut self, best: &mut Candidate) {
        let mut chunks = 2;
        loop {
            let deviations = positions(&best.log);
            if deviations.is_empty() || self.runs >= self.runs_max {
                return;
            }
            chunks = chunks.min(deviations.len());
            let size = deviations.len().div_ceil(chunks);
            let found = deviations.chunks(size).find_map(|chunk| self.without(&best.log, chunk));
            match found {
                Some(smaller) => {
                    *best = smaller;
                    chunks = (chunks - 1).max(2);
                }
                None if chunks >= deviations.len() => return,
                None => chunks = (chunks * 2).min(deviations.len()),
            }
        }
    }

    /// `log` with the choices at `drop` set to 0, if that still fails the same way.
    fn without(&mut self, log: &DecisionLog, drop: &[usize]) -> Option<Candidate> {
        if self.runs >= self.runs_max {
            return None;
        }
        self.runs += 1;
        let mut candidate = DecisionLog { tail: Tail::Default, ..log.clone() };
        for &i in drop {
            candidate.decisions[i].1 = 0;
        }
        let (report, _) = replay_run(self.scenario, &candidate);
        let failure = report.outcome.err().filter(|f| failure_class(f) == self.class)?;
        Some(Candidate { log: cut(&candidate, &report.decisions), failure })
    }
}

/// Indexes of the non-zero choices.
fn positions(log: &DecisionLog) -> Vec<usize> {
    log.decisions.iter().enumerate().filter(|(_, (_, c))| *c != 0).map(|(i, _)| i).collect()
}

/// The run's decisions cut after the last deviation, replayed with the default tail (which
/// reproduces the same run: past that point every choice was 0 anyway).
fn cut(log: &DecisionLog, decisions: &[(u32, u32)]) -> DecisionLog {
    let end = decisions.iter().rposition(|(_, c)| *c != 0).map_or(0, |i| i + 1);
    DecisionLog { tail: Tail::Default, decisions: decisions[..end].to_vec(), ..log.clone() }
}
