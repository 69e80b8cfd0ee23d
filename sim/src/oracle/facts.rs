//! An index of a run's records that every check reads: who each service is (its kind and
//! group, from its `Spawn`), when it exited, which registry serves which group, and which
//! service step each record happened in.
//!
//! Steps: the simulator runs a service for one message at a time, and every such step that
//! handles something begins with a `Handle` record. Everything the service does in that step
//! (issues, spawns, registry decisions) follows it, up to the next `Handle`, `Round`, `Timers`,
//! `Deliver` (held-back deliveries come after the runs of a step) or `Exit`. Knowing the step
//! lets the checks tie a registry decision to the query the registry was handling, and the end
//! of a service's init to the reply its starter handled.
//!
//! Shortcuts nest steps: a service run at once inside another's step (`Shortcut` ... `Shortcut`
//! with `end`) has steps of its own, and the interrupted step goes on after the end. A delivery
//! made mid-step (after a shortcut released the step's held deliveries) does not end a step.

use std::collections::{BTreeMap, BTreeSet};

use skygroup::Address;

use crate::record::{Happening, Msg, Record};

/// The kind of the registry services the runtime starts, one per group.
pub(crate) const REGISTRY_KIND: &str = "_registry";
/// The kind of a cluster node's own system service (`skygroup::cluster`): like a registry, it
/// answers the reserved commands the cluster layer sends it on behalf of services (`_bound`,
/// `_query_group`).
pub(crate) const CLUSTER_AGENT_KIND: &str = "_cluster";
/// The kind of the embedding program's root service (`Runtime::block_on`).
pub(crate) const MAIN_KIND: &str = "_main";

/// One service, as its records describe it.
pub(crate) struct Service {
    pub(crate) kind: String,
    pub(crate) group: Option<u64>,
    pub(crate) exited: Option<usize>,
}

/// What the checks know about a run before walking it.
pub(crate) struct Facts<'a> {
    pub(crate) records: &'a [Record],
    pub(crate) services: BTreeMap<Address, Service>,
    /// For each record, the `Handle` record that began the step it belongs to.
    pub(crate) step_of: Vec<Option<usize>>,
    /// Registry address -> the group it decides for (learned from its decisions).
    pub(crate) registries: BTreeMap<Address, u64>,
    /// (sender node, receiver node) pairs of a simulated cluster that lost a frame somewhere
    /// in the run (see `cluster.rs`).
    pub(crate) lossy: BTreeSet<(u16, u16)>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(records: &'a [Record]) -> Facts<'a> {
        let mut facts = Facts {
            records,
            services: BTreeMap::new(),
            step_of: steps(records),
            registries: BTreeMap::new(),
            lossy: BTreeSet::new(),
        };
        for (i, record) in records.iter().enumerate() {
            facts.learn(i, &record.event);
        }
        facts
    }

    fn learn(&mut self, i: usize, event: &Happening) {
        match event {
            Happening::Spawn { address, kind, group, .. } => {
                self.services.insert(*address, Service { kind: kind.clone(), group: *group, exited: None });
            }
            Happening::Exit { address, .. } => {
                if let Some(service) = self.services.get_mut(address) {
                    service.exited.get_or_insert(i);
                }
            }
            Happening::Registry { group, .. } => {
                if let Some((registry, _)) = self.step_handle(i) {
                    self.registries.insert(registry, *group);
                }
            }
            Happening::FrameLost { from, to, .. } => {
                self.lossy.insert((*from, *to));
            }
            _ => {}
        }
    }

    /// The group of `address`, if it is a group member.
    pub(crate) fn group(&self, address: Address) -> Option<u64> {
        self.services.get(&address).and_then(|s| s.group)
    }

    /// The kind of `address` (`?` if it was never spawned in this trace).
    pub(crate) fn kind(&self, address: Address) -> &str {
        self.services.get(&address).map_or("?", |s| s.kind.as_str())
    }

    pub(crate) fn is_registry(&self, address: Address) -> bool {
        self.kind(address) == REGISTRY_KIND
    }

    /// Where `address` exited, if it did.
    pub(crate) fn exit_of(&self, address: Address) -> Option<usize> {
        self.services.get(&address).and_then(|s| s.exited)
    }

    /// Whether `address` had exited before record `at`.
    pub(crate) fn dead_before(&self, address: Address, at: usize) -> bool {
        self.exit_of(address).is_some_and(|e| e < at)
    }

    /// `address`, with its kind, for messages: `:00000007 (db)`.
    pub(crate) fn who(&self, address: Address) -> String {
        format!("{address} ({})", self.kind(address))
    }

    /// The service and message of the `Handle` that began the step of record `i`.
    pub(crate) fn step_handle(&self, i: usize) -> Option<(Address, &'a Msg)> {
        let h = self.step_of.get(i).copied().flatten()?;
        match &self.records[h].event {
            Happening::Handle { at, message } => Some((*at, message)),
            _ => None,
        }
    }

    /// The record that put the reply handled at `handle` into its service's mailbox: the last
    /// `Deliver` of that session's reply to that service before it.
    pub(crate) fn reply_delivered(&self, handle: usize) -> Option<usize> {
        let Happening::Handle { at, message: Msg::Response { session, .. } } = &self.records[handle].event else {
            return None;
        };
        (0..handle).rev().find(|&j| {
            matches!(&self.records[j].event, Happening::Deliver { to, message: Msg::Response { session: s, .. }, .. }
                if to == at && s == session)
        })
    }
}

/// Whether a record ends the step of the handler before it (see the module docs).
pub(crate) fn ends_step(event: &Happening) -> bool {
    matches!(
        event,
        Happening::Handle { .. }
            | Happening::Round { .. }
            | Happening::Timers { .. }
            | Happening::Deliver { mid_step: false, .. }
            | Happening::Exit { .. }
    )
}

/// Whether a record begins a nested run (`Some(false)`) or ends one (`Some(true)`).
pub(crate) fn nesting(event: &Happening) -> Option<bool> {
    match event {
        Happening::Shortcut { shortcut, end, .. } if crate::record::nests(*shortcut) => Some(*end),
        _ => None,
    }
}

fn steps(records: &[Record]) -> Vec<Option<usize>> {
    let mut current = None;
    let mut interrupted = Vec::new();
    let mut step_of = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        match nesting(&record.event) {
            Some(false) => interrupted.push(current.take()),
            Some(true) => current = interrupted.pop().flatten(),
            None => {}
        }
        if ends_step(&record.event) {
            current = None;
        }
        if let Happening::Handle { .. } = record.event {
            current = Some(i);
        }
        step_of.push(current);
    }
    step_of
}

/// The name a `_query` asks for, from its displayed argument (`"db"`).
pub(crate) fn query_name(args: &str) -> Option<String> {
    let inner = args.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}
