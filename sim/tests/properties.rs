//! Proptest picks the program, the simulator picks the interleaving, the oracle judges the
//! trace: every run of every program of group operations must keep the contract (checks G1–G9,
//! G12, G13 through `skygroup_sim::oracle`). On failure proptest shrinks the program; the
//! report prints the seed, the program and the decision log as a corpus entry that replays it.
//!
//! `PROPTEST_CASES=2000 cargo test -p skygroup-sim --test properties` for a longer search.

mod support;

use proptest::prelude::*;
use support::kinds::{NAMES, NEW_KINDS};
use support::{Op, Program, Setup, failure_report, run_checked};

fn name() -> impl Strategy<Value = String> {
    proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned)
}

fn op() -> impl Strategy<Value = Op> {
    let g = 0..2usize;
    let command = proptest::sample::select(vec!["echo", "seen", "bogus", "_link"]).prop_map(str::to_owned);
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
