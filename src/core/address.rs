//! Identities handed out by a runtime: service addresses and call sessions.
//!
//! Both come from per-runtime (addresses) or per-service (sessions) counters, never from
//! globals, so two runtimes in one test process, or two simulator runs of one seed, number
//! their services identically (S1).

use std::fmt;

/// A service's address: unique for the runtime's life, never reused (a dead address stays dead).
///
/// Printed skynet-style as `:0000000a`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(u64);

impl Address {
    pub(crate) fn from_raw(raw: u64) -> Address {
        Address(raw)
    }

    /// The number behind the address (for logs and maps; the runtime never reuses one).
    pub fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{:08x}", self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Identifies one outstanding call of one service; `0` marks a send (no reply expected).
pub(crate) type Session = u64;
