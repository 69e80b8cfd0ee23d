//! The oracle: reads a run's records and checks the contract against a small reference model
//! of the group registry. Separate from the runtime's code on purpose: it shares no logic with
//! what it checks, only the trace.
//!
//! It checks G1–G9, G12 and G13 (see `SEMANTICS.md`), each in one file:
//! - `registry.rs`: the registry's decisions replayed on the reference model (`model.rs`): one
//!   start per name (G2), failed starts and waiters (G3), stable bindings (G4), answers never
//!   naming the dead (G9), start-up cycles (G13), and group membership of everything a
//!   registry hands out (G1);
//! - `service.rs`: per service: by-name requests stay in the group (G1), init first (G5),
//!   reserved commands (G8), no delivery to the dead (G9), one run per round (G12);
//! - `order.rs`: per-sender order among requests (G6);
//! - `answers.rs`: per-sender order of an answer behind the requests its callee sent the
//!   caller before answering (G6);
//! - `delivery.rs`: no send lost silently (G7);
//! - `gate.rs`: what a `gate` service tells its receivers (N2–N4);
//! - `cluster.rs`: cluster-wide names across the nodes of a simulated cluster (G2 and G9
//!   across nodes), from the store's history; `delivery.rs` also excuses sends lost with a
//!   frame between two nodes.
//!
//! Precision comes first: a check that cannot tell a loss or a reordering for sure from the
//! trace stays silent (each file says where), so a flagged run always broke the contract. The
//! checks accept a trace cut at any step boundary (a run stopped early), not only a finished
//! run. `facts.rs` indexes what they share: services, exits, registries, steps.

mod answers;
mod cluster;
mod delivery;
mod facts;
mod gate;
mod model;
mod order;
mod registry;
mod service;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_real;

use std::fmt;

pub use registry::DEAD_INSTANCE;

use crate::record::Record;

/// One broken rule, with where in the trace it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The contract rule, e.g. `"G6"`.
    pub rule: &'static str,
    /// Index of the record where the violation shows.
    pub at: usize,
    /// What is wrong, naming services and names.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at event {}: {}", self.rule, self.at, self.message)
    }
}

/// Every violation in `records` (empty: the run kept the contract), in trace order.
pub fn check(records: &[Record]) -> Vec<Violation> {
    let facts = facts::Facts::new(records);
    let mut violations = registry::check(&facts);
    violations.extend(service::check(&facts));
    violations.extend(order::check(&facts));
    violations.extend(answers::check(&facts));
    violations.extend(delivery::check(&facts));
    violations.extend(gate::check(records));
    violations.extend(cluster::check(&facts));
    violations.sort_by_key(|v| v.at);
    violations
}

/// The rules [`check`] checks.
pub const RULES: [&str; 14] = ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G12", "G13", "N2", "N3", "N4"];
