//! Measuring the fuzzer against the mutation table (BENCHMARKS.md, "Mutation score"). Built
//! only with `--cfg skygroup_mutants`: `SKYGROUP_FUZZ_MUTANT=DoubleStart` switches that mutant
//! on for the whole fuzzing process and pins the `schedule` target to the scenario the table
//! runs it in, so libFuzzer's executions until the first crash compare with the strategies'
//! runs until the first failure.

use std::sync::OnceLock;

use skygroup::mutants::{self, Mutant};

use crate::scenario::{Scenario, by_name};

/// The environment variable naming the mutant to switch on (its `Debug` name).
pub const MUTANT_ENV: &str = "SKYGROUP_FUZZ_MUTANT";

/// The mutant named by [`MUTANT_ENV`], switched on at the first call.
pub(crate) fn pinned() -> Option<Mutant> {
    static PINNED: OnceLock<Option<Mutant>> = OnceLock::new();
    *PINNED.get_or_init(|| {
        let name = std::env::var(MUTANT_ENV).ok()?;
        let mutant = Mutant::ALL.into_iter().find(|m| format!("{m:?}") == name);
        let mutant = mutant.unwrap_or_else(|| panic!("{MUTANT_ENV}={name:?} names no mutant"));
        mutants::set(Some(mutant));
        Some(mutant)
    })
}

/// The built-in scenario the mutation table runs `mutant` in (as `sim/tests/mutants.rs`).
pub(crate) fn scenario_for(mutant: Mutant) -> &'static str {
    match mutant {
        Mutant::CallOvertakesQueuedSend => "pending-flush",
        Mutant::DoubleStart | Mutant::StaleBinding => "lazy-query",
        Mutant::HangingWaiter => "startup-race",
        Mutant::OverlappingHandlers => "groupmain",
        Mutant::AddressOvertakesName => "mixed-address",
        Mutant::AnswerInPlaceOvertakes | Mutant::DirectPastLeftovers => "shortcut-order",
        Mutant::GateReusesConnId | Mutant::GateFrameAfterClose => "disconnect-during-start",
    }
}

/// The scenario `mutant` is measured in, built once: a built-in or one of `scenario::more`
/// (the `schedule` target's own list holds only the built-ins its inputs index).
pub(crate) fn scenario_of(mutant: Mutant) -> &'static dyn Scenario {
    static SCENARIO: OnceLock<Box<dyn Scenario>> = OnceLock::new();
    let name = scenario_for(mutant);
    &**SCENARIO.get_or_init(|| by_name(name).unwrap_or_else(|| panic!("no scenario `{name}`")))
}
