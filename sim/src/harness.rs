//! Running a test body over many seeds, and saying how to replay a failure (S2).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::Sim;

/// The environment variable that pins a simulator test to one seed: `SKYGROUP_SEED=42`.
pub const SEED_ENV: &str = "SKYGROUP_SEED";

/// The seeds to run: the one in `SKYGROUP_SEED` if set, else `default`.
pub fn seeds_from_env(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var(SEED_ENV) {
        Ok(s) => vec![s.trim().parse().unwrap_or_else(|_| panic!("{SEED_ENV}={s:?} is not a u64 seed"))],
        Err(_) => default.collect(),
    }
}

/// The line that reruns one test with `seed` alone. `test_path` is the test's full path as
/// `module_path!()` gives it plus the function name: `core_rules::echo::sim` for an
/// integration test `tests/core_rules.rs`.
pub fn replay_line(test_path: &str, seed: u64) -> String {
    match test_path.split_once("::") {
        Some((binary, test)) => format!("{SEED_ENV}={seed} cargo test --test {binary} -- --exact {test}"),
        None => format!("{SEED_ENV}={seed} cargo test -- --exact {test_path}"),
    }
}

/// Runs `body` in a fresh simulator for each seed (or only `SKYGROUP_SEED`). On the first
/// failure, prints the seed, the end of its trace and the replay line, then fails the test.
pub fn check(test_path: &str, seeds: std::ops::Range<u64>, body: impl Fn(&Sim)) {
    for seed in seeds_from_env(seeds) {
        let sim = Sim::new(seed);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&sim))) {
            let trace = sim.trace();
            let tail = &trace[trace.len().saturating_sub(30)..];
            eprintln!("---- simulator failure: seed {seed} ----");
            eprintln!("last {} of {} trace lines:", tail.len(), trace.len());
            for line in tail {
                eprintln!("  {line}");
            }
            eprintln!("replay: {}", replay_line(test_path, seed));
            resume_unwind(panic);
        }
    }
}

/// Runs `body` twice on `seed` and fails, naming the first differing trace line, unless both
/// traces are identical byte for byte (S1).
pub fn check_determinism(seed: u64, body: impl Fn(&Sim)) {
    let run = || {
        let sim = Sim::new(seed);
        body(&sim);
        sim.trace()
    };
    let (first, second) = (run(), run());
    if first != second {
        let at = first.iter().zip(&second).position(|(a, b)| a != b).unwrap_or(first.len().min(second.len()));
        panic!(
            "seed {seed} is not deterministic: traces differ at line {at}\n  first:  {}\n  second: {}",
            first.get(at).map_or("<end>", String::as_str),
            second.get(at).map_or("<end>", String::as_str)
        );
    }
}
