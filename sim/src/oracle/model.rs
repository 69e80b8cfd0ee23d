//! The reference model of one group's registry, rebuilt from its decisions alone.
//!
//! It holds what the contract says a registry holds, and nothing of how the runtime does it:
//! - the bindings, name -> address (G4, G9);
//! - the pending lazy starts, name -> (instance, the askers parked on it) (G2, G3);
//! - the waits between starts: start M waits on name N while M's instance is parked on N's
//!   start. A ring of such waits can never end by itself, which is what G13 forbids.
//!
//! Askers are a list, not a set: one service may ask for the same name from several tasks, and
//! each ask is a waiter to answer.

use std::collections::BTreeMap;

use skygroup::Address;

/// One group's registry, as the oracle believes it is.
#[derive(Default)]
pub(crate) struct GroupModel {
    pub(crate) bindings: BTreeMap<String, Address>,
    pub(crate) pending: BTreeMap<String, Start>,
}

/// A lazy start between its `StartBegin` and its `StartEnd`.
pub(crate) struct Start {
    pub(crate) instance: Address,
    /// Every asker parked on the start, the one that began it first.
    pub(crate) waiters: Vec<Address>,
    /// The record of its `StartBegin`.
    pub(crate) begun: usize,
}

/// A start that has just ended: every waiter must be answered in the same step, all alike.
pub(crate) struct Finishing {
    pub(crate) group: u64,
    pub(crate) name: String,
    pub(crate) instance: Address,
    pub(crate) ok: bool,
    /// Waiters not answered yet.
    pub(crate) waiters: Vec<Address>,
    /// The first waiter's answer, which every other one must equal.
    pub(crate) first: Option<Option<Address>>,
    /// The record of its `StartEnd`.
    pub(crate) at: usize,
}

impl GroupModel {
    /// The name whose pending start `instance` is the instance of.
    pub(crate) fn starting_name(&self, instance: Address) -> Option<&str> {
        self.pending.iter().find(|(_, s)| s.instance == instance).map(|(n, _)| n.as_str())
    }

    /// The names the start of `name` waits on: those whose starts its instance is parked on.
    fn waits_on(&self, name: &str) -> Vec<&str> {
        let Some(start) = self.pending.get(name) else { return Vec::new() };
        let waits = self.pending.iter().filter(|(_, other)| other.waiters.contains(&start.instance));
        waits.map(|(n, _)| n.as_str()).collect()
    }

    /// A chain of waits `[from, .., to]` between pending starts, if there is one (`[to]` if
    /// `from == to`).
    pub(crate) fn wait_path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        let mut path = vec![from.to_owned()];
        self.extend_path(to, &mut path).then_some(path)
    }

    fn extend_path(&self, to: &str, path: &mut Vec<String>) -> bool {
        let last = path.last().expect("a path is never empty").clone();
        if last == to {
            return true;
        }
        for next in self.waits_on(&last) {
            if path.iter().any(|seen| seen == next) {
                continue;
            }
            path.push(next.to_owned());
            if self.extend_path(to, path) {
                return true;
            }
            path.pop();
        }
        false
    }

    /// Removes one parked ask of `asker` from `waiters`; false if it was not there.
    pub(crate) fn take_waiter(waiters: &mut Vec<Address>, asker: Address) -> bool {
        let Some(i) = waiters.iter().position(|w| *w == asker) else { return false };
        waiters.remove(i);
        true
    }
}

/// `a -> b -> a`, for messages.
pub(crate) fn ring(path: &[String]) -> String {
    path.join(" -> ")
}
