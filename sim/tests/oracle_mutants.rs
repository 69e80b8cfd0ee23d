//! The oracle catches every known bug class: with each mutant of `skygroup::mutants` switched
//! on, some run of a program that exercises it is flagged with the mutant's rule.
//!
//! Needs the mutants compiled in:
//! `RUSTFLAGS="--cfg skygroup_mutants" CARGO_TARGET_DIR=/work/target-oracle-mutants
//! cargo test -p skygroup-sim --test oracle_mutants -- --nocapture` (prints the catch counts).
#![cfg(skygroup_mutants)]

mod support;

use skygroup::mutants::{self, Mutant};
use skygroup_sim::oracle;
use skygroup_sim::scenario::{RunConfig, by_name, run_once};
use support::{Setup, program, run_checked};

/// Seeds tried per mutant and program.
const SEEDS: u64 = 100;

/// A program that gives `mutant` its chance; `None`: the programs have no op for it, a
/// built-in scenario exercises it instead (see [`scenario_run`]).
fn exercise(mutant: Mutant) -> Option<&'static str> {
    Some(match mutant {
        Mutant::CallOvertakesQueuedSend => "f0 counter 3, f1 slow 2",
        Mutant::DoubleStart => "r0 slow 3, q1 slow, q0 slow",
        // Queries only: a by-name call would bounce off the stale address forever (a runaway).
        Mutant::StaleBinding => "n0 counter, q0 counter; x0 counter; q0 counter, r0 counter 2",
        Mutant::HangingWaiter => "r0 flaky 3, r1 bad 2",
        Mutant::OverlappingHandlers => "f0 counter 3, r0 slow 3, s0 counter, s0 counter",
        // Messages by name and by address to one service: no program op mixes them.
        Mutant::AddressOvertakesName | Mutant::GateReusesConnId | Mutant::GateFrameAfterClose => return None,
    })
}

/// The oracle's verdict on one run of the built-in scenario `mixed-address`, whatever the
/// scenario's own assertions said (the oracle must see the reordering by itself).
fn scenario_run(name: &str, seed: u64) -> Vec<oracle::Violation> {
    let scenario = by_name(name).expect("a built-in scenario");
    let report = run_once(&*scenario, RunConfig { text: false, ..RunConfig::seed(seed) });
    oracle::check(&report.records)
}

// checks G2, G3, G6, G9, G12: the oracle flags each mutant's rule in some runs.
#[test]
fn oracle_flags_every_mutant() {
    let mut report = Vec::new();
    let only = std::env::var("MUTANT").ok();
    for mutant in Mutant::ALL.into_iter().filter(|m| only.as_ref().is_none_or(|o| *o == format!("{m:?}"))) {
        mutants::set(Some(mutant));
        let program = exercise(mutant).map(program);
        let mut caught = 0;
        let mut first = None;
        for seed in 0..SEEDS {
            let violations = match &program {
                Some(program) => run_checked(program, Setup { seed, workers: 2, faults: false }, None).violations,
                None if mutant.rule().starts_with('N') => scenario_run("disconnect-during-start", seed),
                None => scenario_run("mixed-address", seed),
            };
            if violations.iter().any(|v| v.rule == mutant.rule()) {
                caught += 1;
                first.get_or_insert_with(|| (seed, violations[0].to_string()));
            }
        }
        mutants::set(None);
        println!("{mutant:?} ({}): caught in {caught}/{SEEDS} runs; first: {first:?}", mutant.rule());
        report.push((mutant, caught));
    }
    let missed: Vec<_> = report.iter().filter(|(_, caught)| *caught == 0).collect();
    assert!(missed.is_empty(), "mutants the oracle never caught: {missed:?}");
}
