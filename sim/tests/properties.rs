//! Proptest picks the program, the simulator picks the interleaving, the oracle judges the
//! trace: every run of every program of group operations must keep the contract (checks G1–G9,
//! G12, G13 through `skygroup_sim::oracle`). On failure proptest shrinks the program; the
//! report prints the seed, the program and the decision log as a corpus entry that replays it.
//!
//! `PROPTEST_CASES=2000 cargo test -p skygroup-sim --test properties` for a longer search.

mod support;

use proptest::prelude::*;
use support::kinds::{COMMANDS, NAMES, NEW_KINDS};
use support::{Op, Program, Setup, failure_report, run_checked};

fn name() -> impl Strategy<Value = String> {
    proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned)
}

fn op() -> impl Strategy<Value = Op> {
    let g = 0..2usize;
    let command = proptest::sample::select(COMMANDS.to_vec()).prop_map(str::to_owned);
    prop_oneof![
        3 => (g.clone(), name()).prop_map(|(g, n)| Op::Query(g, n)),
        2 => (g.clone(), name(), 2..5u8).prop_map(|(g, n, k)| Op::Race(g, n, k)),
        3 => (g.clone(), name(), command).prop_map(|(g, n, c)| Op::Call(g, n, c)),
        3 => (g.clone(), name()).prop_map(|(g, n)| Op::Send(g, n)),
        2 => (g.clone(), name(), 1..4u8).prop_map(|(g, n, k)| Op::Flush(g, n, k)),
        2 => (g.clone(), proptest::sample::select(NEW_KINDS.to_vec())).prop_map(|(g, k)| Op::NewService(g, k.into())),
        2 => (g.clone(), name()).prop_map(|(g, n)| Op::Exit(g, n)),
        1 => g.prop_map(Op::Shutdown),
        1 => any::<bool>().prop_map(Op::NewGroup),
    ]
}

/// Up to ~12 ops in up to 4 steps, over groups 0 and 1.
fn program() -> impl Strategy<Value = Program> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..5).prop_map(|steps| Program { steps })
}

fn setup() -> impl Strategy<Value = Setup> {
    (any::<u64>(), 1..=3usize, any::<bool>()).prop_map(|(seed, workers, faults)| Setup { seed, workers, faults })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // checks G1-G9, G12, G13 (through the oracle) on generated programs and schedules.
    #[test]
    fn oracle_accepts_every_run(program in program(), setup in setup()) {
        let run = run_checked(&program, setup, None);
        prop_assert!(run.ok(), "{}", failure_report(&program, setup, &run));
    }
}

/// The false-alarm sweep: every test program and every built-in scenario, seeds
/// `0..SWEEP_SEEDS` (default 4, so `cargo test` stays fast; the long sweep uses 300), 1 to 3
/// workers, faults on and off; prints each rule the oracle flagged with how often, and fails on
/// any violation.
/// `SWEEP_SEEDS=300 cargo test --release -p skygroup-sim --test properties false_alarm_sweep -- --nocapture`
#[test]
fn false_alarm_sweep() {
    use skygroup_sim::scenario::{Failure, RunConfig, builtin, run_once};
    use support::{PROGRAMS, named};
    let seeds: u64 = std::env::var("SWEEP_SEEDS").map_or(4, |s| s.parse().expect("SWEEP_SEEDS is a number"));
    let mut tally: std::collections::BTreeMap<String, (usize, String)> = Default::default();
    let mut note = |what: String, run: String| tally.entry(what).or_insert((0, run)).0 += 1;
    let mut runs = 0;
    for seed in 0..seeds {
        for (workers, faults) in [1, 2, 3].into_iter().flat_map(|w| [(w, false), (w, true)]) {
            let setup = Setup { seed, workers, faults };
            for scenario in builtin() {
                runs += 1;
                let report = run_once(&*scenario, RunConfig { workers, faults, ..RunConfig::seed(seed) });
                let found = match report.outcome {
                    Ok(()) => Vec::new(),
                    Err(Failure::Violations(v)) => v.iter().map(|v| v.rule.to_owned()).collect(),
                    Err(other) => vec![format!("other: {other}")],
                };
                for what in found {
                    note(what, format!("{} {setup:?}", scenario.name()));
                }
            }
            for (name, _) in PROGRAMS {
                runs += 1;
                let run = run_checked(&named(name), setup, None);
                for v in &run.violations {
                    note(v.rule.to_owned(), format!("{name} {setup:?}"));
                }
                if let Some(panic) = run.panic {
                    note(format!("panic: {panic}"), format!("{name} {setup:?}"));
                }
            }
        }
    }
    println!("{runs} runs");
    for (what, (n, first)) in &tally {
        println!("{n:6} {what}   first: {first}");
    }
    assert!(tally.is_empty(), "violations: {:?}", tally.keys().collect::<Vec<_>>());
}

/// Regression (G9): a kind whose init forks a task that stops the service. In some schedules
/// (seed 0 with one worker used to be one; the schedule of a seed changed when shortcuts and due
/// timers became decisions) the instance exits before the registry handles its init's reply.
/// The registry used to bind it anyway and answer the query with its dead address; now the
/// start fails.
#[test]
fn start_of_an_instance_that_exits_at_once_fails() {
    use skygroup::ServiceKind;
    use skygroup_sim::{Sim, oracle};
    let mut failed_starts = 0;
    for seed in 0..200 {
        let sim = Sim::builder(seed).workers(1).build();
        let rt = sim.runtime();
        rt.define(ServiceKind::stateless("boot")).unwrap();
        rt.define(ServiceKind::new("shortlived", |ctx, (): ()| async move {
            let me = ctx.clone();
            ctx.fork(async move { me.exit() });
            Ok(())
        }))
        .unwrap();
        let group = rt.newgroup("A", "boot", ()).unwrap();
        let answer = rt.block_on(move |ctx| async move { group.query(&ctx, "shortlived").await });
        drop(rt);
        let violations = oracle::check(&sim.records());
        assert!(violations.is_empty(), "seed {seed}, 1 worker: {violations:?}");
        if let Err(error) = answer {
            let error = error.to_string();
            assert!(error.contains("service `shortlived` in group A failed to start"), "{error}");
            failed_starts += 1;
        }
    }
    assert!(failed_starts > 0, "no seed had the instance exit before its start ended");
}
