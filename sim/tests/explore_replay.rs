//! Replay: a run's decision log reproduces its trace exactly (S1, S2); a log that no longer
//! matches says where it diverged and the run goes on.

mod toys;

use skygroup_sim::explore::{log_of, replay_run};
use skygroup_sim::log::{DecisionLog, Tail};
use skygroup_sim::scenario::{RunConfig, builtin, by_name, run_once};

#[test]
fn same_seed_same_trace() {
    for scenario in builtin() {
        let first = run_once(&*scenario, RunConfig::seed(11));
        let second = run_once(&*scenario, RunConfig::seed(11));
        assert!(!first.trace.is_empty());
        assert_eq!(first.trace, second.trace, "{}", scenario.name());
        assert_eq!(first.interleaving, second.interleaving);
    }
}

#[test]
fn replaying_a_log_reproduces_the_exact_trace() {
    for scenario in builtin() {
        for seed in [3, 4] {
            let original = run_once(&*scenario, RunConfig { workers: 3, ..RunConfig::seed(seed) });
            let log = log_of(&original, 3, false, Tail::Seed);
            let decoded = DecisionLog::decode(&log.encode()).unwrap();
            let (replayed, replayer) = replay_run(&*scenario, &decoded);
            assert_eq!(replayer.divergence(), None);
            assert_eq!(replayed.trace, original.trace, "{} seed {seed}", scenario.name());
        }
    }
}

#[test]
fn a_failing_run_fails_the_same_way_when_replayed() {
    let failing = (0..100).map(|s| run_once(&toys::FirstWins, RunConfig::seed(s))).find(|r| r.outcome.is_err());
    let failing = failing.expect("some seed lets b mark first");
    let log = log_of(&failing, 2, false, Tail::Seed);
    let (replayed, _) = replay_run(&toys::FirstWins, &log);
    assert_eq!(replayed.outcome, failing.outcome);
    assert_eq!(replayed.trace, failing.trace);
}

#[test]
fn a_truncated_log_reports_where_it_ended_and_runs_on() {
    let scenario = by_name("pending-flush").unwrap();
    let original = run_once(&*scenario, RunConfig::seed(5));
    let mut log = log_of(&original, 2, false, Tail::Seed);
    log.decisions.truncate(40);
    let (replayed, replayer) = replay_run(&*scenario, &log);
    let divergence = replayer.divergence().expect("the log ended early");
    assert_eq!((divergence.step, divergence.logged), (40, None));
    assert!(divergence.to_string().contains("the log ended at step 40"), "{divergence}");
    assert!(replayed.outcome.is_ok(), "{:?}", replayed.outcome);
    assert_eq!(replayed.decisions[..40], original.decisions[..40]);
}

#[test]
fn a_mismatched_log_reports_the_step_and_continues_with_the_seed() {
    let scenario = by_name("groupmain").unwrap();
    let original = run_once(&*scenario, RunConfig::seed(8));
    let mut log = log_of(&original, 2, false, Tail::Seed);
    log.decisions[25].0 += 3;
    let (replayed, replayer) = replay_run(&*scenario, &log);
    let divergence = replayer.divergence().expect("step 25 no longer matches");
    assert_eq!(divergence.step, 25);
    assert_eq!(divergence.logged, Some(original.decisions[25].0 + 3));
    assert_eq!(divergence.found, original.decisions[25].0);
    assert!(divergence.to_string().starts_with("diverged at step 25"), "{divergence}");
    assert!(replayed.outcome.is_ok());
    // From the divergence on, the seed's own choices: here, the very same run.
    assert_eq!(replayed.trace, original.trace);
}
