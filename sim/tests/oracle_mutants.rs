//! The oracle catches every known bug class: with each mutant of `skygroup::mutants` switched
//! on, some run of a program that exercises it is flagged with the mutant's rule. No mutant is
//! left to the scenarios' own assertions (those are checked in `mutants.rs`): an answer
//! completed in place ahead of its callee's earlier send (`AnswerInPlaceOvertakes`) is seen
//! too, by the oracle's check of answers.
//!
//! Needs the mutants compiled in:
//! `RUSTFLAGS="--cfg skygroup_mutants" CARGO_TARGET_DIR=/work/target-oracle-mutants
//! cargo test -p skygroup-sim --test oracle_mutants -- --nocapture` (prints the catch counts).
#![cfg(skygroup_mutants)]

mod support;

use std::sync::Mutex;

use skygroup::mutants::{self, Mutant};
use skygroup_sim::oracle;
use skygroup_sim::scenario::{RunConfig, by_name, run_once};
use support::{Setup, program, run_checked};

/// Seeds tried per mutant and program.
const SEEDS: u64 = 100;

/// The mutant switch is process-wide: tests here take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// A program that gives `mutant` its chance; `None`: the programs have no op for it, a
/// built-in scenario exercises it instead (see [`scenario_run`]).
fn exercise(mutant: Mutant) -> Option<&'static str> {
    Some(match mutant {
        Mutant::CallOvertakesQueuedSend => "f0 counter 3, f1 slow 2",
        // Two members ask for `slow` while its start is pending (the driver, then the
        // `needs_slow` instance resolving its dependency): one member's racing queries share
        // its name table's one resolution, so the registry would see a single query.
        Mutant::DoubleStart => "q0 slow, q0 needs_slow",
        // Queries only: a by-name call would bounce off the stale address forever (a runaway).
        Mutant::StaleBinding => "n0 counter, q0 counter; x0 counter; q0 counter, r0 counter 2",
        Mutant::HangingWaiter => "r0 flaky 3, r1 bad 2",
        Mutant::OverlappingHandlers => "f0 counter 3, r0 slow 3, s0 counter, s0 counter",
        // Messages by name and by address to one service: no program op mixes them.
        Mutant::AddressOvertakesName | Mutant::GateReusesConnId | Mutant::GateFrameAfterClose => return None,
        // Direct calls and in-place answers need synchronous commands: no program kind has one.
        Mutant::AnswerInPlaceOvertakes | Mutant::DirectPastLeftovers => return None,
    })
}

/// The scenario that exercises `mutant` when no program does.
fn scenario_for(mutant: Mutant) -> &'static str {
    match mutant {
        Mutant::AnswerInPlaceOvertakes | Mutant::DirectPastLeftovers => "shortcut-order",
        Mutant::GateReusesConnId | Mutant::GateFrameAfterClose => "disconnect-during-start",
        _ => "mixed-address",
    }
}

/// The oracle's verdict on one run of the scenario that exercises `mutant`, whatever the
/// scenario's own assertions said (the oracle must see the reordering by itself).
fn scenario_run(mutant: Mutant, seed: u64) -> Vec<oracle::Violation> {
    let scenario = by_name(scenario_for(mutant)).expect("a built-in scenario");
    let report = run_once(&*scenario, RunConfig { text: false, ..RunConfig::seed(seed) });
    oracle::check(&report.records)
}

// checks G2, G3, G6, G9, G12: the oracle flags each mutant's rule in some runs.
#[test]
fn oracle_flags_every_mutant() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut report = Vec::new();
    let only = std::env::var("MUTANT").ok();
    let seen = |m: &Mutant| only.as_ref().is_none_or(|o| *o == format!("{m:?}"));
    for mutant in Mutant::ALL.into_iter().filter(seen) {
        mutants::set(Some(mutant));
        let program = exercise(mutant).map(program);
        let mut caught = 0;
        let mut first = None;
        for seed in 0..SEEDS {
            let violations = match &program {
                Some(program) => run_checked(program, Setup { seed, workers: 2, faults: false }, None).violations,
                None => scenario_run(mutant, seed),
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
