//! Scenarios: a program of services to run under the simulator, with its own assertions.
//!
//! The scenario API is public so users write scenarios for their own services. A scenario
//! defines its kinds on the runtime it is given and runs its program (usually one
//! `rt.block_on`); it returns `Err` when one of its own assertions fails, and may mark
//! outcomes with [`Marks::sometimes`] so an exploration can assert that some interleaving
//! reached them at least once.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use skygroup::Runtime;

use crate::chooser::Chooser;
use crate::oracle::{self, Violation};
use crate::record::Record;
use crate::{RunStats, Sim};

/// A program to run under the simulator.
pub trait Scenario: Send + Sync {
    /// Short name, as the CLI takes it (`lazy-query`).
    fn name(&self) -> &str;

    /// One line on what it exercises.
    fn description(&self) -> &str;

    /// Defines the kinds on `rt` and runs the program; `Err` if a scenario assertion fails.
    fn run(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String>;

    /// Whether exploration injects faults into this scenario by default.
    fn faults(&self) -> bool {
        false
    }
}

/// "Sometimes" assertions: outcomes a scenario wants to see reached in at least one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// mark -> how many runs reached it.
    pub reached: BTreeMap<String, u64>,
}

impl Marks {
    /// Notes `mark` as declared, and as reached if `condition` holds.
    pub fn sometimes(&mut self, mark: &str, condition: bool) {
        *self.reached.entry(mark.to_owned()).or_default() += u64::from(condition);
    }

    /// Adds another run's marks.
    pub fn merge(&mut self, other: &Marks) {
        for (mark, n) in &other.reached {
            *self.reached.entry(mark.clone()).or_default() += n;
        }
    }

    /// Declared marks no run reached.
    pub fn never_reached(&self) -> Vec<&str> {
        self.reached.iter().filter(|(_, n)| **n == 0).map(|(m, _)| m.as_str()).collect()
    }
}

/// How to run a scenario once.
pub struct RunConfig {
    pub seed: u64,
    pub workers: usize,
    pub faults: bool,
    /// Replaces the seeded chooser (strategies, replay, fuzzing).
    pub chooser: Option<Box<dyn Chooser>>,
}

impl RunConfig {
    /// The seed's own choices, default workers, no faults.
    pub fn seed(seed: u64) -> RunConfig {
        RunConfig { seed, workers: crate::WORKERS_DEFAULT, faults: false, chooser: None }
    }
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The oracle found the trace breaking the contract.
    Violations(Vec<Violation>),
    /// The scenario's own assertion failed.
    Assertion(String),
    /// The program panicked (a deadlock report is such a panic).
    Panic(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Violations(v) => {
                write!(f, "{} contract violation(s)", v.len())?;
                for violation in v {
                    write!(f, "\n  {violation}")?;
                }
                Ok(())
            }
            Failure::Assertion(m) => write!(f, "scenario assertion failed: {m}"),
            Failure::Panic(m) => write!(f, "panicked: {m}"),
        }
    }
}

/// Everything one run produced.
pub struct RunReport {
    pub seed: u64,
    pub trace: Vec<String>,
    pub records: Vec<Record>,
    /// (options, chosen) for each choice with more than one option.
    pub decisions: Vec<(u32, u32)>,
    pub marks: Marks,
    pub stats: RunStats,
    pub outcome: Result<(), Failure>,
}

/// Runs `scenario` once and checks its trace with the oracle.
pub fn run_once(scenario: &dyn Scenario, config: RunConfig) -> RunReport {
    let mut builder = Sim::builder(config.seed).workers(config.workers).faults(config.faults);
    if let Some(chooser) = config.chooser {
        builder = builder.chooser_boxed(chooser);
    }
    let sim = builder.build();
    let mut marks = Marks::default();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let rt = sim.runtime();
        let result = scenario.run(&rt, &mut marks);
        drop(rt);
        result
    }));
    let records = sim.records();
    let outcome = match ran {
        Err(panic) => Err(Failure::Panic(skygroup_panic_message(&*panic))),
        Ok(Err(message)) => Err(Failure::Assertion(message)),
        Ok(Ok(())) => match oracle::check(&records) {
            violations if violations.is_empty() => Ok(()),
            violations => Err(Failure::Violations(violations)),
        },
    };
    RunReport {
        seed: config.seed,
        trace: sim.trace(),
        records,
        decisions: sim.decisions(),
        marks,
        stats: sim.stats(),
        outcome,
    }
}

fn skygroup_panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "non-string panic payload".to_owned(),
    }
}
