//! Shared code of the simulator's property, snapshot, corpus and determinism tests: kinds,
//! programs of group operations, a runner that checks every run with the oracle, and replay.
#![allow(dead_code)]

pub mod kinds;
pub mod program;
pub mod replay;

use std::panic::{AssertUnwindSafe, catch_unwind};

use skygroup_sim::oracle::{self, Violation};
use skygroup_sim::{Chooser, Sim};

#[allow(unused_imports)]
pub use program::{Op, Program, program};
#[allow(unused_imports)]
pub use replay::Entry;

/// The test programs with a name: snapshots, determinism and corpus runs use them.
pub const PROGRAMS: [(&str, &str); 7] = [
    ("groupmain", "main"),
    ("lazy-query", "r0 slow 3, q0 slow, q1 slow; c0 slow echo, c1 slow echo"),
    ("pending-flush", "f0 counter 3, s0 counter, f1 slow 2; c0 counter seen"),
    ("failed-start", "r0 flaky 3, q0 needs_bad, s0 bad; q0 flaky, x0 flaky; f0 flaky 2"),
    ("exit-restart", "n0 counter, q0 counter; x0 counter, s0 counter, c0 counter seen; f0 counter 2"),
    ("cycle", "q0 cyc_a, r1 cyc_a 2, q0 needs_slow; q1 cyc_b"),
    ("shutdown", "q0 slow, q1 slow, s0 counter; k0, f1 counter 2, q0 counter; g+, g-, c1 counter seen"),
];

/// The named program `name`.
pub fn named(name: &str) -> Program {
    let (_, text) = PROGRAMS.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no program `{name}`"));
    program(text)
}

/// How to run a program once.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub seed: u64,
    pub workers: usize,
    pub faults: bool,
}

/// What one checked run produced.
pub struct Run {
    pub trace: Vec<String>,
    pub decisions: Vec<(u32, u32)>,
    /// The oracle's verdict on the trace cut when the program returned, then on the whole run.
    pub violations: Vec<Violation>,
    pub panic: Option<String>,
}

impl Run {
    /// No violation and no panic.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.panic.is_none()
    }
}

/// Runs `program` under `setup` (and `chooser`, if given) and checks it with the oracle twice:
/// on the trace as the program returned (a cut at a step boundary) and after shutdown.
pub fn run_checked(program: &Program, setup: Setup, chooser: Option<Box<dyn Chooser>>) -> Run {
    let mut builder = Sim::builder(setup.seed).workers(setup.workers).faults(setup.faults);
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

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "non-string panic payload".to_owned(),
    }
}

/// What to print when a run fails: the program, the setup, the violations, the decision log
/// as a corpus entry (save it under `sim/tests/corpus/` to replay it on every `cargo test`),
/// and the end of the trace.
pub fn failure_report(program: &Program, setup: Setup, run: &Run) -> String {
    let mut report =
        format!("simulator run failed: seed {} workers {} faults {}\n", setup.seed, setup.workers, setup.faults);
    for v in &run.violations {
        report.push_str(&format!("  {v}\n"));
    }
    if let Some(panic) = &run.panic {
        report.push_str(&format!("  panicked: {panic}\n"));
    }
    let entry = replay::Entry::new("failing run", program, setup, run.decisions.clone());
    report.push_str(
        "replay it: save this as sim/tests/corpus/<name>.log and run `cargo test -p skygroup-sim --test corpus`\n",
    );
    report.push_str(&entry.to_string());
    let tail = &run.trace[run.trace.len().saturating_sub(40)..];
    report.push_str(&format!("last {} of {} trace lines:\n", tail.len(), run.trace.len()));
    for line in tail {
        report.push_str(&format!("  {line}\n"));
    }
    report
}
