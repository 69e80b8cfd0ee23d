//! Scenarios: a program of services to run under the simulator, with its own assertions.
//!
//! The scenario API is public so users write scenarios for their own services. A scenario
//! defines its kinds on the runtime it is given and runs its program (usually one
//! `rt.block_on`); it returns `Err` when one of its own assertions fails, and may mark
//! outcomes with [`Marks::sometimes`] so an exploration can assert that some interleaving
//! reached them at least once.
//!
//! The built-in scenarios (one file each, listed by [`builtin`]) are the explorer's targets:
//! each exercises one corner of the group contract and asserts its own outcomes, so a broken
//! runtime fails them even before the oracle reads the trace.

mod cluster_login;
mod disconnect_during_start;
mod gate_kit;
mod groupmain;
mod kit;
mod lazy_query;
mod login_race;
mod mixed_address;
mod pending_flush;
mod shortcut_order;
mod startup_race;

pub use cluster_login::ClusterLogin;
pub use disconnect_during_start::DisconnectDuringStart;
pub use groupmain::GroupMain;
pub use lazy_query::LazyQuery;
pub use login_race::LoginRace;
pub use mixed_address::MixedAddress;
pub use pending_flush::PendingFlush;
pub use shortcut_order::ShortcutOrder;
pub use startup_race::StartupRace;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use skygroup::Runtime;

use crate::chooser::Chooser;
use crate::oracle::{self, Violation};
use crate::record::Record;
use crate::{RunStats, STEPS_MAX, Sim};

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

    /// The program when faults are injected: the same program, with only the assertions that
    /// faults cannot break (nothing hangs, answers stay consistent). Defaults to [`run`](Self::run).
    fn run_with_faults(&self, rt: &Runtime, marks: &mut Marks) -> Result<(), String> {
        self.run(rt, marks)
    }

    /// Runs the program on `sim` (whose runtime `rt` is), with faults or not. Scenarios that
    /// need more of the simulator than the runtime (the virtual network's clients) override
    /// this; the default runs [`run`](Self::run) or [`run_with_faults`](Self::run_with_faults).
    fn run_in(&self, sim: &Sim, rt: &Runtime, marks: &mut Marks, faults: bool) -> Result<(), String> {
        let _ = sim;
        if faults { self.run_with_faults(rt, marks) } else { self.run(rt, marks) }
    }

    /// Steps after which a run is stopped as runaway: a livelock shows as a failure this soon.
    fn steps_max(&self) -> u64 {
        STEPS_MAX
    }
}

/// The built-in scenarios, in the order `list` prints them.
pub fn builtin() -> Vec<Box<dyn Scenario>> {
    vec![Box::new(LazyQuery::default()), Box::new(StartupRace), Box::new(PendingFlush::default()), Box::new(GroupMain)]
}

/// Scenarios the explorer and the mutation table run by name, outside [`builtin`]: the
/// schedule fuzzer's inputs pick a built-in by index and its committed corpus covers every
/// built-in, so a scenario joins `builtin` together with corpus inputs for it. Checked on
/// their own in `sim/tests/more_scenarios.rs`.
pub fn more() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(MixedAddress::default()),
        Box::new(ShortcutOrder::default()),
        Box::new(LoginRace),
        Box::new(DisconnectDuringStart),
        Box::new(ClusterLogin),
    ]
}

/// The built-in scenario (or one of [`more`]) called `name`.
pub fn by_name(name: &str) -> Option<Box<dyn Scenario>> {
    builtin().into_iter().chain(more()).find(|s| s.name() == name)
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
    /// The seed (the chooser's, unless replaced, and faults' and data's).
    pub seed: u64,
    /// Virtual workers.
    pub workers: usize,
    /// Whether faults are injected.
    pub faults: bool,
    /// Replaces the seeded chooser (strategies, replay, fuzzing).
    pub chooser: Option<Box<dyn Chooser>>,
    /// Whether to keep the text trace (the records are always kept). Exploration runs
    /// without it and re-runs a failing run with it.
    pub text: bool,
}

impl RunConfig {
    /// The seed's own choices, default workers, no faults, text trace on.
    pub fn seed(seed: u64) -> RunConfig {
        RunConfig { seed, workers: crate::WORKERS_DEFAULT, faults: false, chooser: None, text: true }
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
    /// The seed run.
    pub seed: u64,
    /// The text trace (empty unless `RunConfig::text`).
    pub trace: Vec<String>,
    /// Text trace lines written before the runtime shut down (the rest is the shutdown).
    pub program_end: usize,
    /// What happened, as the oracle reads it.
    pub records: Vec<Record>,
    /// (options, chosen) for each choice with more than one option.
    pub decisions: Vec<(u32, u32)>,
    /// The scenario's marks (which cases the run reached).
    pub marks: Marks,
    /// Counters of the run.
    pub stats: RunStats,
    /// Fingerprint of the order messages entered each mailbox (see [`Sim::interleaving`]).
    pub interleaving: u64,
    /// Whether the run passed.
    pub outcome: Result<(), Failure>,
}

/// Runs `scenario` once and checks its trace with the oracle.
pub fn run_once(scenario: &dyn Scenario, config: RunConfig) -> RunReport {
    let mut builder = Sim::builder(config.seed)
        .workers(config.workers)
        .faults(config.faults)
        .net_faults(config.faults)
        .text(config.text)
        .steps_max(scenario.steps_max());
    if let Some(chooser) = config.chooser {
        builder = builder.chooser_boxed(chooser);
    }
    let sim = builder.build();
    let mut marks = Marks::default();
    let rt = sim.runtime();
    let ran = catch_unwind(AssertUnwindSafe(|| scenario.run_in(&sim, &rt, &mut marks, config.faults)));
    let program_end = sim.trace_len();
    let shutdown = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    let (trace, records) = sim.take_trace();
    let outcome = match (ran, shutdown) {
        (Err(panic), _) => Err(Failure::Panic(skygroup_panic_message(&*panic))),
        (Ok(Err(message)), _) => Err(Failure::Assertion(message)),
        (Ok(Ok(())), Err(panic)) => Err(Failure::Panic(format!("shutdown: {}", skygroup_panic_message(&*panic)))),
        (Ok(Ok(())), Ok(())) => check(&sim, &records),
    };
    RunReport {
        seed: config.seed,
        trace,
        program_end,
        records,
        decisions: sim.decisions(),
        marks,
        stats: sim.stats(),
        interleaving: sim.interleaving(),
        outcome,
    }
}

/// The oracle's verdict, plus services the executor itself saw run twice at once (G12) if the
/// oracle did not flag those already.
fn check(sim: &Sim, records: &[Record]) -> Result<(), Failure> {
    let mut violations = oracle::check(records);
    if !violations.iter().any(|v| v.rule == "G12") {
        violations.extend(sim.overlaps());
    }
    if violations.is_empty() { Ok(()) } else { Err(Failure::Violations(violations)) }
}

fn skygroup_panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "non-string panic payload".to_owned(),
    }
}
