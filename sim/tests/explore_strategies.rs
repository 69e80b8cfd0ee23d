//! Strategies: bounded exhaustive search runs every schedule within its cap exactly once (and
//! counts them), PCT states its per-run bound, the random walk reaches the marks.

mod toys;

use std::collections::BTreeSet;

use skygroup_sim::Chooser;
use skygroup_sim::explore::{ExploreConfig, explore};
use skygroup_sim::scenario::{RunConfig, Scenario, by_name, run_once};
use skygroup_sim::strategy::exhaustive::Exhaustive;
use skygroup_sim::strategy::pct::Pct;
use skygroup_sim::strategy::{Calibration, Strategy, StrategyKind};

/// Every distinct schedule of `scenario`, found by brute force: every choice vector over
/// `0..width` of length `len`, keeping the decisions each run actually made.
fn brute_force(scenario: &dyn Scenario, width: u32, len: u32) -> BTreeSet<Vec<(u32, u32)>> {
    let mut schedules = BTreeSet::new();
    for code in 0..width.pow(len) {
        let choices: Vec<usize> = (0..len).map(|i| (code / width.pow(i) % width) as usize).collect();
        let chooser = Fixed { choices, step: 0 };
        let report = run_once(scenario, RunConfig { chooser: Some(Box::new(chooser)), ..RunConfig::seed(0) });
        schedules.insert(report.decisions);
    }
    schedules
}

struct Fixed {
    choices: Vec<usize>,
    step: usize,
}

impl Chooser for Fixed {
    fn choose(&mut self, n: usize) -> usize {
        let chosen = self.choices.get(self.step).copied().unwrap_or(0);
        self.step += 1;
        chosen.min(n - 1)
    }
}

fn exhaustive_runs(scenario: &dyn Scenario, cap: usize) -> (u64, String) {
    let config = ExploreConfig::new(StrategyKind::Exhaustive { cap }, 100_000);
    let summary = explore(scenario, &config, &mut |_, _| {});
    (summary.runs, summary.strategy_note)
}

#[test]
fn exhaustive_enumerates_exactly_the_schedules_within_the_cap() {
    // 7 decisions cover every run of the toy (its async echo's direct shortcuts included).
    let all = brute_force(&toys::Tiny, 3, 7);
    let deviations = |s: &Vec<(u32, u32)>| s.iter().filter(|(_, c)| *c != 0).count();
    let mut wants = Vec::new();
    for cap in [0, 1, 2, 10] {
        let want = all.iter().filter(|s| deviations(s) <= cap).count() as u64;
        let (runs, note) = exhaustive_runs(&toys::Tiny, cap);
        assert_eq!(runs, want, "cap {cap}");
        assert!(note.contains(&format!("{want} distinct schedules within {cap} deviation(s); ran all")), "{note}");
        wants.push(want);
    }
    // The space is not trivial: one default schedule, more with each deviation allowed.
    assert!(wants[0] == 1 && wants[1] > 1 && wants[3] > wants[1], "{wants:?}");
    println!("schedules of tiny within 0, 1, 2, 10 deviations: {wants:?}");
}

#[test]
fn exhaustive_counts_a_known_tree() {
    // A run with three decisions of 2, 3 and 2 options, whatever is chosen.
    let shape = [(2, 0), (3, 0), (2, 0)];
    let count = |cap| {
        let mut strategy = Exhaustive::new(0, cap);
        while let Some(mut plan) = strategy.next_plan() {
            let decisions: Vec<(u32, u32)> =
                shape.iter().map(|&(n, _)| (n, plan.chooser.choose(n as usize) as u32)).collect();
            strategy.finished(&decisions);
        }
        assert!(strategy.complete());
        strategy.runs()
    };
    assert_eq!(count(0), 1);
    assert_eq!(count(1), 1 + 1 + 2 + 1);
    assert_eq!(count(2), 1 + 4 + (2 + 1 + 2));
    assert_eq!(count(3), 2 * 3 * 2);
}

#[test]
fn exhaustive_on_a_budget_reports_a_lower_bound() {
    let scenario = by_name("groupmain").unwrap();
    let config = ExploreConfig::new(StrategyKind::Exhaustive { cap: 2 }, 50);
    let summary = explore(&*scenario, &config, &mut |_, _| {});
    assert_eq!(summary.runs, 50);
    assert!(summary.strategy_note.starts_with("exhaustive: at least "), "{}", summary.strategy_note);
    assert!(summary.strategy_note.ends_with("ran 50"), "{}", summary.strategy_note);
}

#[test]
fn pct_prints_its_bound() {
    let pct = Pct::new(0, 3, Calibration { services: 10, steps: 100 });
    assert_eq!(pct.bound(), 1.0 / (10.0 * 100.0 * 100.0));
    assert!(pct.describe().contains("1/(n*k^(d-1)) = 1.000e-5"), "{}", pct.describe());
    let scenario = by_name("groupmain").unwrap();
    let summary = explore(&*scenario, &ExploreConfig::new(StrategyKind::Pct { depth: 2 }, 20), &mut |_, _| {});
    assert!(summary.strategy_note.starts_with("PCT d=2: n="), "{}", summary.strategy_note);
    assert!(summary.strategy_note.contains("probability >= 1/(n*k^(d-1))"));
    assert_eq!(summary.failed_runs, 0);
}

#[test]
fn every_strategy_finds_the_race() {
    for kind in StrategyKind::all() {
        let config = ExploreConfig { stop_at_first: true, ..ExploreConfig::new(kind, 200) };
        let summary = explore(&toys::FirstWins, &config, &mut |_, _| {});
        let (run, report) = summary.first_failure.unwrap_or_else(|| panic!("{} missed the race", kind.name()));
        assert!(run <= 200);
        assert!(report.to_string().ends_with(&format!("--log {}", report.log)), "ends with the replay line");
    }
}

#[test]
fn interleavings_and_marks_are_counted() {
    let config = ExploreConfig::new(StrategyKind::Random, 100);
    let summary = explore(&toys::FirstWins, &config, &mut |_, _| {});
    assert!(summary.interleavings >= 2 && summary.interleavings <= 100);
    assert_eq!(summary.marks.never_reached(), Vec::<&str>::new());
    let tiny = explore(&toys::Tiny, &config, &mut |_, _| {});
    assert!(tiny.to_string().contains("sometimes marks:        0 of 0 reached"));
}
