//! S1: one program and one seed give the same trace, byte for byte, every time. Each test
//! program and each built-in scenario runs twice on many seeds (`check_determinism` stops at
//! the first differing line and names the seed).

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use skygroup_sim::scenario::{Marks, builtin};
use skygroup_sim::{Sim, check_determinism, replay_line};
use support::{PROGRAMS, kinds, named};

/// Seeds per program or scenario (`SKYGROUP_SEED=n` runs one).
const SEEDS: std::ops::Range<u64> = 0..40;

// checks S1
#[test]
fn test_programs_are_deterministic() {
    for (name, _) in PROGRAMS {
        let program = named(name);
        for seed in skygroup_sim::seeds_from_env(SEEDS) {
            telling(name, seed, "determinism::test_programs_are_deterministic", || {
                check_determinism(seed, |sim| {
                    let rt = sim.runtime();
                    kinds::define_kinds(&rt);
                    program.run(&rt);
                })
            });
        }
    }
}

// checks S1
#[test]
fn builtin_scenarios_are_deterministic() {
    for scenario in builtin() {
        for seed in skygroup_sim::seeds_from_env(SEEDS) {
            telling(scenario.name(), seed, "determinism::builtin_scenarios_are_deterministic", || {
                check_determinism(seed, |sim| {
                    let rt = sim.runtime();
                    let _ = scenario.run(&rt, &mut Marks::default());
                })
            });
        }
    }
}

// checks S1: a run with the trace off (no records: the fast path, where the executor drops
// every event but deliveries and shortcuts before taking its lock) is the same run as with it
// on: the same decisions, the same fingerprint, the same counts. With and without faults.
#[test]
fn runs_without_the_trace_are_the_traced_runs() {
    for scenario in builtin() {
        for seed in skygroup_sim::seeds_from_env(0..20) {
            let faults = seed % 2 == 1;
            let run = |trace: bool| {
                let sim =
                    Sim::builder(seed).trace(trace).faults(faults).net_faults(faults).steps_max(scenario.steps_max());
                let sim = sim.build();
                let rt = sim.runtime();
                let _ = catch_unwind(AssertUnwindSafe(|| scenario.run_in(&sim, &rt, &mut Marks::default(), faults)));
                let _ = catch_unwind(AssertUnwindSafe(move || drop(rt)));
                (sim.decisions(), sim.interleaving(), sim.stats())
            };
            let (traced, untraced) = (run(true), run(false));
            assert!(
                traced == untraced,
                "{}, seed {seed} (faults {faults}): the run differs with the trace off; replay: {}",
                scenario.name(),
                replay_line("determinism::runs_without_the_trace_are_the_traced_runs", seed)
            );
        }
    }
}

/// Runs `f`; if it fails, says which program and seed, and how to rerun just that seed.
fn telling(name: &str, seed: u64, test: &str, f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        eprintln!("{name}, seed {seed}, is not deterministic; replay: {}", replay_line(test, seed));
        resume_unwind(panic);
    }
}
