//! `schedule`: the input is the decision stream of a built-in scenario's run.
//! The logic is `skygroup_sim::fuzz::schedule`, so `sim/tests/fuzz_corpus.rs` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| skygroup_sim::fuzz::schedule(data));
