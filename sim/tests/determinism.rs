//! S1: one program and one seed give the same trace, byte for byte, every time. Each test
//! program and each built-in scenario runs twice on many seeds (`check_determinism` stops at
//! the first differing line and names the seed).

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use skygroup_sim::scenario::{Marks, builtin};
use skygroup_sim::{check_determinism, replay_line};
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

/// Runs `f`; if it fails, says which program and seed, and how to rerun just that seed.
fn telling(name: &str, seed: u64, test: &str, f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        eprintln!("{name}, seed {seed}, is not deterministic; replay: {}", replay_line(test, seed));
        resume_unwind(panic);
    }
}
