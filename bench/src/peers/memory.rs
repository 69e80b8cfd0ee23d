//! Memory per idle service: the growth of the process's resident set (VmRSS) while one
//! implementation starts `n` idle services, divided by `n`.
//!
//! Every implementation's services are kept alive until all have been measured, so each
//! measurement grows the heap into fresh pages instead of reusing memory another one freed.
//! The runtime (its threads and their stacks) is built before the first reading: only the
//! services count.

use std::any::Any;

use super::compare::Peer;
use crate::report::thousands;

/// The resident set size of this process, in bytes (`VmRSS` of /proc/self/status).
pub fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok());
    kib.unwrap_or(0) * 1024
}

/// What one implementation's idle services cost: RSS growth over `services` services.
pub struct Idle {
    pub peer: Peer,
    /// What was started, e.g. "`newservice` in a group".
    pub what: &'static str,
    pub services: u64,
    pub growth: u64,
    /// The runtime and services, kept alive until every implementation has been measured.
    pub _held: Box<dyn Any>,
}

impl Idle {
    pub fn per_service(&self) -> f64 {
        self.growth as f64 / self.services as f64
    }
}

/// Measures RSS around `start`, which starts the idle services once their runtime is up and
/// returns what keeps them alive.
pub fn grow<H: Any>(peer: Peer, what: &'static str, services: u64, start: impl FnOnce() -> H) -> Idle {
    let before = rss();
    let held = start();
    let growth = rss().saturating_sub(before);
    Idle { peer, what, services, growth, _held: Box::new(held) }
}

/// The memory table.
pub fn table(measured: &[Idle]) -> String {
    let mut out = String::from("| implementation | idle services | RSS growth | bytes per idle service |\n");
    out.push_str("|---|---:|---:|---:|\n");
    for idle in measured {
        let growth = thousands(idle.growth as f64);
        out.push_str(&format!(
            "| {} ({}) | {} | {growth} B | {} |\n",
            idle.peer.name(),
            idle.what,
            thousands(idle.services as f64),
            thousands(idle.per_service())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_resident_set() {
        assert!(rss() > 0, "VmRSS not found in /proc/self/status");
    }

    #[test]
    fn growth_counts_what_start_keeps() {
        let idle = grow(Peer::Tokio, "test", 1, || vec![1u8; 64 << 20]);
        assert!(idle.growth >= 60 << 20, "growth {} for 64 MiB touched", idle.growth);
    }
}
