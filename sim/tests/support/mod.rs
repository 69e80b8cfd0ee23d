//! Shared code of the simulator's property, snapshot, corpus and determinism tests: the
//! named programs of group operations (the model and its checked runner are
//! `skygroup_sim::program`), failure reports and the corpus format.
#![allow(dead_code)]

pub mod replay;

#[allow(unused_imports)]
pub use replay::Entry;
// The program model and its runner live in the library (`skygroup_sim::program`), shared with
// the `group_ops` fuzzer; tests keep reaching them through `support`.
#[allow(unused_imports)]
pub use skygroup_sim::program::{Op, Program, Run, Setup, kinds, program, run_checked};

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
