//! Text traces of fixed runs, one line per event with virtual time in the first column: the
//! test programs of `support` and every built-in scenario, each for fixed seeds. A change in
//! what the runtime does, or in the order the simulator picks, shows here as a diff.
//!
//! `INSTA_UPDATE=always cargo test -p skygroup-sim --test snapshots` rewrites them after an
//! intended change (review the diff before committing).

mod support;

use skygroup_sim::log::{DecisionLog, Tail};
use skygroup_sim::report::replay_command;
use skygroup_sim::scenario::{RunConfig, builtin, run_once};
use support::{PROGRAMS, Setup, failure_report, named, run_checked};

/// Seeds each run is snapshotted for.
const SEEDS: [u64; 2] = [1, 2];

#[test]
fn program_traces() {
    for (name, _) in PROGRAMS {
        let program = named(name);
        for seed in SEEDS {
            let setup = Setup { seed, workers: 2, faults: false };
            let run = run_checked(&program, setup, None);
            assert!(run.ok(), "{}", failure_report(&program, setup, &run));
            let header = format!("program {program}\nseed {seed}, 2 workers\n");
            snapshot(&format!("program-{name}-seed{seed}"), header + &run.trace.join("\n"));
        }
    }
}

#[test]
fn builtin_scenario_traces() {
    for scenario in builtin() {
        for seed in SEEDS {
            let report = run_once(&*scenario, RunConfig::seed(seed));
            if let Err(failure) = &report.outcome {
                let (seed, workers) = (seed, skygroup_sim::WORKERS_DEFAULT);
                let log = DecisionLog { seed, workers, faults: false, tail: Tail::Seed, decisions: report.decisions };
                panic!("{} seed {seed}: {failure}\nreplay: {}", scenario.name(), replay_command(scenario.name(), &log));
            }
            let header =
                format!("scenario {}\nseed {seed}, {} workers\n", scenario.name(), skygroup_sim::WORKERS_DEFAULT);
            snapshot(&format!("scenario-{}-seed{seed}", scenario.name()), header + &report.trace.join("\n"));
        }
    }
}

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}
