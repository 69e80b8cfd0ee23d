//! Running a program under the simulator and judging it: the oracle reads the trace twice,
//! once cut where the program returned (checks must hold at any step boundary) and once after
//! the runtime shut down. Every consumer of programs (proptest, the corpus, the snapshots, the
//! `group_ops` fuzzer) goes through [`run_with`], so they all judge a run the same way.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::oracle::{self, Violation};
use crate::{Chooser, STEPS_MAX, Sim};

use super::{Program, kinds};

/// How to run a program once, besides the chooser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// The seed (faults and data).
    pub seed: u64,
    /// Virtual workers.
    pub workers: usize,
    /// Whether faults are injected.
    pub faults: bool,
}

/// What a run records and how long it may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Keep the text trace (the records the oracle reads are kept either way).
    pub text: bool,
    /// Steps after which the run is stopped as runaway (a panic in [`Run::panic`]).
    pub steps_max: u64,
}

impl Default for Limits {
    /// Text on, the simulator's own step limit.
    fn default() -> Limits {
        Limits { text: true, steps_max: STEPS_MAX }
    }
}

/// What one checked run produced.
pub struct Run {
    /// The text trace (empty unless `Limits::text`).
    pub trace: Vec<String>,
    /// (options, chosen) for each choice with more than one option.
    pub decisions: Vec<(u32, u32)>,
    /// The oracle's verdict on the trace cut when the program returned, then on the whole run.
    pub violations: Vec<Violation>,
    /// The program's panic message, if it panicked.
    pub panic: Option<String>,
}

impl Run {
    /// No violation and no panic.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.panic.is_none()
    }
}

/// Runs `program` under `setup` (and `chooser`, if given) with the text trace on, and checks
/// it with the oracle twice: on the trace as the program returned and after shutdown.
pub fn run_checked(program: &Program, setup: Setup, chooser: Option<Box<dyn Chooser>>) -> Run {
    run_with(program, setup, chooser, Limits::default())
}

/// [`run_checked`] within `limits`.
pub fn run_with(program: &Program, setup: Setup, chooser: Option<Box<dyn Chooser>>, limits: Limits) -> Run {
    let mut builder = Sim::builder(setup.seed)
        .workers(setup.workers)
        .faults(setup.faults)
        .text(limits.text)
        .steps_max(limits.steps_max);
    if let Some(chooser) = chooser {
        builder = builder.chooser_boxed(chooser);
    }
    let sim = builder.build();
    let mut cut = Vec::new();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let rt = sim.runtime();
        kinds::define_kinds(&rt);
        program.run(&rt);
        cut = oracle::check(&sim.records());
        drop(rt);
    }));
    let mut violations = cut;
    for v in oracle::check(&sim.records()) {
        if !violations.contains(&v) {
            violations.push(v);
        }
    }
    let panic = ran.err().map(|p| panic_text(&*p));
    Run { trace: sim.trace(), decisions: sim.decisions(), violations, panic }
}

/// The message of a caught panic.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "non-string panic payload".to_owned(),
    }
}
