//! `group_ops`: a program of group operations, simulator options and a schedule; the oracle judges the run.
//! The logic is `skygroup_sim::fuzz::group_ops`, so `sim/tests/fuzz_corpus.rs` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| skygroup_sim::fuzz::group_ops(data));
