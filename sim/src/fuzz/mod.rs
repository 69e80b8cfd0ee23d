//! Coverage-guided fuzzing: the logic of the cargo-fuzz targets in `fuzz/` (each target is a
//! shim of a few lines that calls one function here), kept in the library so the same
//! function runs from a plain test: `sim/tests/fuzz_corpus.rs` replays every committed corpus
//! file and saved crash through them on each `cargo test`, so CI needs no fuzzer.
//!
//! - [`group_ops`]: bytes -> a program of group operations, simulator options and a
//!   schedule; the oracle must accept the run.
//! - [`schedule`]: the bytes are the decision stream of a built-in scenario's run: every
//!   choice the simulator makes reads the next bytes ([`ByteChooser`]), so libFuzzer's
//!   coverage feedback steers the scheduler itself, towards new interleavings.
//! - [`payload`]: message values built from bytes; their conversions never panic and
//!   round-trip (through their binary form and serde too), and the binary decoder survives
//!   the raw input.
//!
//! Each function panics on a broken rule, with a report that names the rule and says how to
//! replay the run; that panic is the crash libFuzzer saves. `make fuzz` runs every target.
//!
//! ```
//! // The empty input: lazy-query on 2 workers in the default order, a clean run.
//! skygroup_sim::fuzz::schedule(&[]);
//! skygroup_sim::fuzz::group_ops(&[0, 1, 2, 3]);
//! skygroup_sim::fuzz::payload(b"any bytes at all");
//! ```

mod bytes;
mod group_ops;
#[cfg(skygroup_mutants)]
mod mutant;
mod payload;
mod quiet;
mod schedule;
mod values;

pub use bytes::{ByteChooser, Bytes};
pub use group_ops::{GroupOpsInput, PROGRAM_STEPS_MAX, group_ops};
#[cfg(skygroup_mutants)]
pub use mutant::MUTANT_ENV;
pub use payload::payload;
pub use schedule::{ScheduleInput, WORKER_CHOICES, schedule};

/// A fuzz target's function: panics on a broken rule.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: [(&str, Target); 3] = [("group_ops", group_ops), ("schedule", schedule), ("payload", payload)];
