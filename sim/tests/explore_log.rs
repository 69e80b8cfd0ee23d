//! The decision log round-trips: real runs' logs and odd ones decode to what was encoded, fit
//! on one line, and bad input is refused with a reason (S2).

use skygroup_sim::log::{DecisionLog, LogError, Tail};
use skygroup_sim::scenario::{RunConfig, builtin, run_once};

#[test]
fn logs_of_real_runs_round_trip() {
    for scenario in builtin() {
        for seed in 0..20 {
            let report = run_once(&*scenario, RunConfig { text: false, ..RunConfig::seed(seed) });
            let log =
                DecisionLog { seed, workers: 2, faults: seed % 2 == 0, tail: Tail::Seed, decisions: report.decisions };
            let text = log.encode();
            assert!(text.starts_with("v2:") && !text.contains(char::is_whitespace), "{text}");
            assert_eq!(DecisionLog::decode(&text), Ok(log), "{} seed {seed}", scenario.name());
        }
    }
}

#[test]
fn odd_logs_round_trip() {
    let long_run = vec![(2, 0); 1000];
    let wide = (2..300u32).map(|n| (n, n - 1)).collect();
    let mixed = vec![(3, 2), (3, 2), (3, 2), (2, 0), (7, 6), (7, 6), (2, 1), (2, 1), (2, 1), (2, 1)];
    for (seed, decisions) in [(0, vec![]), (u64::MAX, long_run), (1 << 40, wide), (42, mixed)] {
        let log = DecisionLog { seed, workers: 7, faults: true, tail: Tail::Default, decisions };
        assert_eq!(DecisionLog::decode(&log.encode()), Ok(log.clone()));
        assert_eq!(log.encode().parse::<DecisionLog>(), Ok(log));
    }
}

#[test]
fn runs_of_one_decision_are_compact() {
    let log = DecisionLog { seed: 1, workers: 2, faults: false, tail: Tail::Seed, decisions: vec![(2, 0); 5000] };
    assert!(log.encode().len() < 20, "{}", log.encode());
}

#[test]
fn bad_logs_are_refused_with_a_reason() {
    assert!(matches!(DecisionLog::decode("v0:AAAA"), Err(LogError::Version(_))));
    assert!(matches!(DecisionLog::decode("v2:AA*A"), Err(LogError::Base64('*'))));
    assert!(matches!(DecisionLog::decode("v2:"), Err(LogError::Truncated(_))));
    let text = DecisionLog { seed: 300, workers: 2, faults: false, tail: Tail::Seed, decisions: vec![] }.encode();
    assert!(matches!(DecisionLog::decode(&text[..4]), Err(LogError::Truncated(_))));
}

#[test]
fn deviations_count_non_default_choices() {
    let log =
        DecisionLog { seed: 0, workers: 2, faults: false, tail: Tail::Seed, decisions: vec![(2, 0), (3, 2), (2, 1)] };
    assert_eq!(log.deviations(), 2);
}
