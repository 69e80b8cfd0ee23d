//! `payload`: message values built from the input; conversions never panic and round-trip.
//! The logic is `skygroup_sim::fuzz::payload`, so `sim/tests/fuzz_corpus.rs` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| skygroup_sim::fuzz::payload(data));
