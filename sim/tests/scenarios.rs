//! Every built-in scenario passes on 200 seeds: no false alarms from the explorer's targets.

use skygroup_sim::scenario::{RunConfig, builtin, run_once};

#[test]
fn builtin_scenarios_pass_on_200_seeds() {
    for scenario in builtin() {
        for seed in 0..200 {
            let report = run_once(&*scenario, RunConfig { text: false, ..RunConfig::seed(seed) });
            if let Err(failure) = report.outcome {
                panic!("{} failed on seed {seed}: {failure}", scenario.name());
            }
        }
    }
}
