//! A deadlock is reported as the cycle of waiting calls.

mod toys;

use skygroup_sim::report::waiting_cycles;
use skygroup_sim::scenario::{Failure, RunConfig, run_once};

#[test]
fn an_init_deadlock_reads_as_a_cycle_of_calls() {
    let report = run_once(&toys::InitDeadlock, RunConfig::seed(0));
    let Err(failure @ Failure::Panic(_)) = report.outcome else {
        panic!("expected a deadlock, got {:?}", report.outcome)
    };
    assert_eq!(waiting_cycles(&failure), ["db.call(login) -> login.call(db)"]);
}

#[test]
fn the_failure_printout_names_the_cycle_and_ends_with_the_replay_command() {
    use skygroup_sim::explore::{ExploreConfig, explore};
    use skygroup_sim::strategy::StrategyKind;
    let config = ExploreConfig { stop_at_first: true, ..ExploreConfig::new(StrategyKind::Random, 5) };
    let (run, report) = explore(&toys::InitDeadlock, &config, &mut |_, _| {}).first_failure.expect("it deadlocks");
    assert_eq!(run, 1);
    let text = report.to_string();
    assert!(text.contains("waiting: db.call(login) -> login.call(db)"), "{text}");
    assert!(text.contains("trace lines before shutdown"), "{text}");
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        format!("replay: cargo run -p skygroup-sim -- replay --scenario init-deadlock --log {}", report.log)
    );
}
