//! Shrinking finds a failing log with fewer deviations that still fails the same way.

mod toys;

use skygroup_sim::explore::{ExploreConfig, explore, replay_run};
use skygroup_sim::scenario::Failure;
use skygroup_sim::shrink::{ShrinkError, failure_class, shrink};
use skygroup_sim::strategy::StrategyKind;

#[test]
fn shrinking_keeps_the_failure_and_does_not_grow_the_log() {
    let config = ExploreConfig { stop_at_first: true, ..ExploreConfig::new(StrategyKind::Random, 200) };
    let summary = explore(&toys::FirstWins, &config, &mut |_, _| {});
    let (_, failure) = summary.first_failure.expect("the race fails in some run");
    let shrunk = shrink(&toys::FirstWins, &failure.log, 500).unwrap();
    assert!(shrunk.deviations_after <= shrunk.deviations_before);
    assert!(shrunk.log.encode().len() <= failure.log.encode().len());
    assert!(shrunk.log.decisions.len() <= failure.log.decisions.len());
    assert_eq!(failure_class(&shrunk.failure), failure_class(&failure.failure));
    let (replayed, _) = replay_run(&toys::FirstWins, &shrunk.log);
    assert!(matches!(replayed.outcome, Err(Failure::Assertion(_))), "the shrunk log still fails");
}

#[test]
fn shrinking_reaches_few_deviations() {
    for first_seed in [0, 100, 200] {
        let config = ExploreConfig { first_seed, stop_at_first: true, ..ExploreConfig::new(StrategyKind::Random, 200) };
        let (_, failure) = explore(&toys::FirstWins, &config, &mut |_, _| {}).first_failure.unwrap();
        let shrunk = shrink(&toys::FirstWins, &failure.log, 500).unwrap();
        // b's mark overtaking a's needs at most a couple of reorderings.
        assert!(shrunk.deviations_after <= 3, "{} deviations left", shrunk.deviations_after);
    }
}

#[test]
fn a_passing_log_is_not_shrunk() {
    let summary = explore(&toys::Tiny, &ExploreConfig::new(StrategyKind::Random, 1), &mut |_, _| {});
    assert_eq!(summary.failed_runs, 0);
    let log = skygroup_sim::log::DecisionLog {
        seed: 0,
        workers: 2,
        faults: false,
        tail: skygroup_sim::log::Tail::Seed,
        decisions: vec![],
    };
    assert_eq!(shrink(&toys::Tiny, &log, 10).unwrap_err(), ShrinkError::Passes("tiny".to_owned()));
}
