//! The `schedule` target: the input bytes are the decision stream of one run of a built-in
//! scenario, so libFuzzer's coverage feedback steers towards new interleavings.
//!
//! Input: one options byte, then (only with faults on) one seed byte for the faults, then one
//! byte per decision (two for a choice among more than 256 options; see [`bytes`](super::bytes)).
//! The options byte `o` picks the scenario `o % 4` in [`builtin`] order, then
//! `w = o / 4`: workers `[2, 1, 3][w % 3]`, faults when `(w / 3) % 2 == 1`. The empty input is
//! lazy-query on 2 workers in the default order. Past the input, every decision is option 0.

use std::sync::OnceLock;

use super::bytes::{ByteChooser, Bytes};
use super::quiet::quietly;
use crate::log::{DecisionLog, Tail};
use crate::report::FailureReport;
use crate::scenario::{RunConfig, RunReport, Scenario, builtin, run_once};

/// Worker counts the options byte picks from: the default first, so zero bytes mean it.
pub const WORKER_CHOICES: [usize; 3] = [2, 1, 3];

/// One decoded `schedule` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInput {
    /// Index into [`builtin`].
    pub scenario: usize,
    /// Virtual workers.
    pub workers: usize,
    /// Whether faults are injected.
    pub faults: bool,
    /// Seeds the faults (and nothing else: the schedule is `decisions`).
    pub seed: u64,
    /// The schedule: one byte per decision.
    pub decisions: Vec<u8>,
}

impl ScheduleInput {
    /// Reads an input; every byte string is one.
    pub fn decode(data: &[u8]) -> ScheduleInput {
        let mut bytes = Bytes::new(data);
        let options = usize::from(bytes.byte());
        let count = scenarios().len();
        let (scenario, rest) = (options % count, options / count);
        let (workers, faults) = (WORKER_CHOICES[rest % 3], (rest / 3) % 2 == 1);
        let seed = if faults { u64::from(bytes.byte()) } else { 0 };
        ScheduleInput { scenario, workers, faults, seed, decisions: bytes.rest().to_vec() }
    }

    fn config(&self, text: bool) -> RunConfig {
        let chooser = Some(Box::new(ByteChooser::new(&self.decisions)) as _);
        RunConfig { seed: self.seed, workers: self.workers, faults: self.faults, chooser, text }
    }
}

/// The built-in scenarios, built once per process.
fn scenarios() -> &'static [Box<dyn Scenario>] {
    static SCENARIOS: OnceLock<Vec<Box<dyn Scenario>>> = OnceLock::new();
    SCENARIOS.get_or_init(builtin)
}

/// Runs the scenario `data` picks under the schedule `data` spells; panics with the failure
/// report (scenario, failure, trace tail, replay command) if the run fails: an oracle
/// violation, a scenario assertion, a deadlock or a runaway.
pub fn schedule(data: &[u8]) {
    let input = ScheduleInput::decode(data);
    if input.run(false).outcome.is_err() {
        panic!("{}", failure_report(&input));
    }
}

impl ScheduleInput {
    /// The scenario this input runs: its own, or the one a pinned mutant is measured in.
    pub fn scenario(&self) -> &'static dyn Scenario {
        #[cfg(skygroup_mutants)]
        if let Some(mutant) = super::mutant::pinned() {
            return super::mutant::scenario_of(mutant);
        }
        &*scenarios()[self.scenario]
    }

    /// One run of it (with the text trace if `text`), checked by the oracle.
    pub fn run(&self, text: bool) -> RunReport {
        quietly(|| run_once(self.scenario(), self.config(text)))
    }
}

/// Re-runs the failing `input` with the text trace on, for its report.
fn failure_report(input: &ScheduleInput) -> FailureReport {
    let run = input.run(true);
    let (seed, workers, faults) = (input.seed, input.workers, input.faults);
    let log = DecisionLog { seed, workers, faults, tail: Tail::Default, decisions: run.decisions.clone() };
    FailureReport::new(input.scenario().name(), "fuzz target schedule".to_owned(), log, run, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_byte_picks_scenario_workers_and_faults() {
        let plain = ScheduleInput::decode(&[]);
        assert_eq!((plain.scenario, plain.workers, plain.faults, plain.decisions.len()), (0, 2, false, 0));
        // 1 + 4 * (1 + 3): startup-race, 1 worker, faults; then seed 5; then decisions
        let input = ScheduleInput::decode(&[17, 5, 1, 2]);
        assert_eq!(input.scenario().name(), "startup-race");
        assert_eq!((input.workers, input.faults, input.seed, input.decisions), (1, true, 5, vec![1, 2]));
    }
}
