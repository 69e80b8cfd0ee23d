//! Mutation score: with each known bug class of `skygroup::mutants` switched on, each
//! strategy explores the scenario that exercises it until a run fails (at most 1,000 runs),
//! and at least one strategy must catch each mutant. Also counts how many of the first
//! [`RATE_RUNS`] runs fail, a finer measure than the first catch. Prints the table for
//! BENCHMARKS.md.
//!
//! Needs the mutants compiled in: `make mutants`, i.e.
//! `RUSTFLAGS="--cfg skygroup_mutants" CARGO_TARGET_DIR=target/mutants
//! cargo test -p skygroup-sim --test mutants -- --nocapture`.
#![cfg(skygroup_mutants)]

use std::sync::Mutex;

use skygroup::mutants::{self, Mutant};
use skygroup_sim::cli::{STATUS_VIOLATION, run_from};
use skygroup_sim::explore::{ExploreConfig, explore};
use skygroup_sim::scenario::by_name;
use skygroup_sim::strategy::StrategyKind;

const RUNS_MAX: u64 = 1_000;
/// Runs over which the failure rate is counted.
const RATE_RUNS: u64 = 200;

/// The mutant switch is process-wide: tests here take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// The built-in scenario whose own assertions (or a hang) expose `mutant`.
fn scenario_for(mutant: Mutant) -> &'static str {
    match mutant {
        Mutant::CallOvertakesQueuedSend => "pending-flush",
        Mutant::DoubleStart | Mutant::StaleBinding => "lazy-query",
        Mutant::HangingWaiter => "startup-race",
        Mutant::OverlappingHandlers => "groupmain",
        Mutant::AddressOvertakesName => "mixed-address",
        Mutant::AnswerInPlaceOvertakes | Mutant::DirectPastLeftovers => "shortcut-order",
        Mutant::GateReusesConnId | Mutant::GateFrameAfterClose => "disconnect-during-start",
    }
}

/// Runs `strategy` on `scenario` until a run fails: the failing run's number and its failure.
fn runs_to_catch(scenario: &str, strategy: StrategyKind) -> Option<(u64, String)> {
    let scenario = by_name(scenario).expect("a built-in scenario");
    let config = ExploreConfig { stop_at_first: true, ..ExploreConfig::new(strategy, RUNS_MAX) };
    let summary = explore(&*scenario, &config, &mut |_, _| {});
    summary.first_failure.map(|(run, report)| (run, how_it_shows(&report.failure.to_string())))
}

/// A failure's first line, or under a count of violations the first violation.
fn how_it_shows(failure: &str) -> String {
    let mut lines = failure.lines().map(str::trim);
    let first = lines.next().unwrap_or("");
    let line = if first.ends_with("contract violation(s)") { lines.next().unwrap_or(first) } else { first };
    line.to_owned()
}

/// How many of the first [`RATE_RUNS`] runs of `strategy` fail.
fn failing_runs(scenario: &str, strategy: StrategyKind) -> u64 {
    let scenario = by_name(scenario).expect("a built-in scenario");
    explore(&*scenario, &ExploreConfig::new(strategy, RATE_RUNS), &mut |_, _| {}).failed_runs
}

/// One table cell: runs to the first catch, and failing runs of the first [`RATE_RUNS`].
fn cell(caught: &Option<(u64, String)>, failing: u64) -> String {
    match caught {
        Some((run, _)) => format!("{run} ({failing}/{RATE_RUNS})"),
        None => format!("not in {RUNS_MAX}"),
    }
}

// checks G2, G3, G6, G9, G12 (each mutant breaks one)
#[test]
fn every_mutant_is_caught_within_1000_runs() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    std::panic::set_hook(Box::new(|_| {})); // failing runs panic on purpose
    let mut table = String::from("| mutant | rule | scenario | random | pct | exhaustive | how it shows |\n");
    table.push_str("|---|---|---|---:|---:|---:|---|\n");
    let mut missed = Vec::new();
    for mutant in Mutant::ALL {
        mutants::set(Some(mutant));
        let scenario = scenario_for(mutant);
        let results: Vec<Option<(u64, String)>> =
            StrategyKind::all().into_iter().map(|s| runs_to_catch(scenario, s)).collect();
        let rates: Vec<u64> = StrategyKind::all().into_iter().map(|s| failing_runs(scenario, s)).collect();
        mutants::set(None);
        let cells: Vec<String> = results.iter().zip(rates).map(|(r, f)| cell(r, f)).collect();
        let how = results.iter().flatten().next().map_or("-".to_owned(), |(_, f)| f.replace('|', "/"));
        table.push_str(&format!("| {mutant:?} | {} | {scenario} | {} | {how} |\n", mutant.rule(), cells.join(" | ")));
        if results.iter().all(Option::is_none) {
            missed.push(mutant);
        }
    }
    let _ = std::panic::take_hook();
    println!("{table}");
    assert!(missed.is_empty(), "no strategy caught {missed:?} within {RUNS_MAX} runs\n{table}");
}

fn cli(args: &[&str]) -> (i32, String) {
    let mut out = Vec::new();
    let args = std::iter::once("skygroup-sim").chain(args.iter().copied()).map(str::to_owned);
    let status = run_from(args, &mut out);
    (status, String::from_utf8(out).unwrap())
}

// checks S2: a caught failure replays and shrinks from its printed log
#[test]
fn a_caught_mutant_replays_and_shrinks_from_the_command_line() {
    replays_and_shrinks(Mutant::CallOvertakesQueuedSend, "G6: sender");
}

// checks S2, S3: a failure that needs shortcut decisions (a direct send taken) replays from
// its log too: the shortcuts are decisions in it like any other
#[test]
fn a_caught_shortcut_mutant_replays_and_shrinks_from_the_command_line() {
    replays_and_shrinks(Mutant::DirectPastLeftovers, "G6: client");
}

/// Catches `mutant` in its scenario, then replays and shrinks the failing run's log through
/// the command line; the replay must fail with `expect` in its report.
fn replays_and_shrinks(mutant: Mutant, expect: &str) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = scenario_for(mutant);
    mutants::set(Some(mutant));
    let scenario = by_name(name).unwrap();
    let config = ExploreConfig { stop_at_first: true, first_seed: 7, ..ExploreConfig::new(StrategyKind::Random, 50) };
    let (_, failure) = explore(&*scenario, &config, &mut |_, _| {}).first_failure.expect("caught");
    let log = failure.log.to_string();
    let (status, replayed) = cli(&["replay", "--scenario", name, "--log", &log]);
    let (shrink_status, shrunk) = cli(&["shrink", "--scenario", name, "--log", &log]);
    mutants::set(None);
    assert_eq!(status, STATUS_VIOLATION, "{replayed}");
    assert!(replayed.contains(expect), "{replayed}");
    assert!(replayed.trim_end().ends_with(&format!("replay --scenario {name} --log {log}")));
    assert_eq!(shrink_status, STATUS_VIOLATION, "{shrunk}");
    assert!(shrunk.starts_with("shrunk in ") && shrunk.contains("shrunk trace ("), "{shrunk}");
    let last = shrunk.lines().last().unwrap();
    assert!(last.starts_with(&format!("replay: cargo run -p skygroup-sim -- replay --scenario {name} --log v2:")));
}
