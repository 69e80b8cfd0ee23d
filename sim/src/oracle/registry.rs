//! Registry rules, checked by replaying each registry's decisions on the reference model
//! (`model.rs`) and comparing every decision with what the contract allows at that moment:
//! - G1: a started instance, a binding and every answered address belong to the group;
//! - G2: one start per name at a time; while it is pending nobody gets an address for the
//!   name; all its waiters get the same answer, its instance's address on success;
//! - G3: a failed start answers every waiter with an error; every query the registry handles is
//!   answered, or begins a start, or is parked behind the pending one (never dropped); a start
//!   that ends answers all its waiters in that same step;
//! - G4: a name is bound only while unbound with no start pending; an answer from the
//!   bindings is the binding; an unbinding drops the binding the model holds;
//! - G9: no answer names an exited service, and a binding to an exited service is dropped
//!   before the name is answered again;
//! - G13: a refused cycle is a real ring of pending starts waiting on each other, and no such
//!   ring ever forms unrefused (it would hang).
//!
//! Which query a decision answers comes from the step it happens in: a registry handles one
//! `_query` per step, and decides about it before the step ends.

use std::collections::BTreeMap;

use skygroup::Address;
use skygroup::executor::Registry as Decision;

use super::Violation;
use super::facts::{Facts, ends_step, nesting};
use super::model::{Finishing, GroupModel, Start, ring};
use crate::record::{Happening, Msg};

/// The `_query` a registry is handling in the current step.
struct Query {
    registry: Address,
    asker: Address,
    name: String,
    /// Answered, or began a start, in this step.
    settled: bool,
    at: usize,
}

/// How the oracle words the G9 case of a start answering its waiters with an instance that
/// exited between its init's end and the start's end (tests name this known runtime bug).
pub const DEAD_INSTANCE: &str = "it exited after its init returned, before the start ended";

struct Walk<'f, 'a> {
    facts: &'f Facts<'a>,
    groups: BTreeMap<u64, GroupModel>,
    query: Option<Query>,
    finishing: Vec<Finishing>,
    out: Vec<Violation>,
}

/// Every registry-rule violation in the run.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut walk = Walk { facts, groups: BTreeMap::new(), query: None, finishing: Vec::new(), out: Vec::new() };
    let mut interrupted = Vec::new();
    for (i, record) in facts.records.iter().enumerate() {
        match nesting(&record.event) {
            // A query being handled waits out the nested run, then its step goes on.
            Some(false) => interrupted.push(walk.query.take()),
            Some(true) => {
                walk.end_step();
                walk.query = interrupted.pop().flatten();
            }
            None => {}
        }
        if ends_step(&record.event) {
            walk.end_step();
        }
        walk.record(i, &record.event);
    }
    walk.end_step();
    walk.out
}

impl Walk<'_, '_> {
    fn flag(&mut self, rule: &'static str, at: usize, message: String) {
        self.out.push(Violation { rule, at, message });
    }

    fn record(&mut self, i: usize, event: &Happening) {
        match event {
            Happening::Handle { at, message: Msg::Request { from, command, args, .. } }
                if command == "_query" && self.facts.is_registry(*at) =>
            {
                let name = super::facts::query_name(args).unwrap_or_default();
                self.query = Some(Query { registry: *at, asker: *from, name, settled: false, at: i });
            }
            Happening::Registry { group, name, what } => self.decision(i, *group, name, *what),
            Happening::Exit { address, .. } => {
                if let Some(group) = self.facts.registries.get(address) {
                    self.groups.remove(group);
                }
            }
            _ => {}
        }
    }

    /// The step ended: a query not settled is parked; a start that ended has answered all.
    fn end_step(&mut self) {
        if let Some(query) = self.query.take().filter(|q| !q.settled) {
            self.park(query);
        }
        for finished in std::mem::take(&mut self.finishing) {
            for waiter in &finished.waiters {
                let (name, ok) = (&finished.name, if finished.ok { "succeeded" } else { "failed" });
                let message = format!(
                    "the start of `{name}` ({}) {ok} at event {} but waiter {} got no answer (it would hang)",
                    self.facts.who(finished.instance),
                    finished.at,
                    self.facts.who(*waiter)
                );
                self.flag("G3", finished.at, message);
            }
        }
    }

    /// A query neither answered nor starting: it must be parked behind the pending start.
    fn park(&mut self, query: Query) {
        let group = self.facts.registries.get(&query.registry).copied();
        let model = group.and_then(|g| self.groups.get_mut(&g));
        let Some(start) = model.and_then(|m| m.pending.get_mut(&query.name)) else {
            let message = format!(
                "registry {} handled a query for `{}` from {} but neither answered it, nor started the name, \
                 nor had a start of it pending to park it on (it would hang)",
                query.registry,
                query.name,
                self.facts.who(query.asker)
            );
            return self.flag("G3", query.at, message);
        };
        start.waiters.push(query.asker);
        self.check_no_ring(group.expect("a model implies a group"), &query);
    }

    /// G13: parking `query` must not close a ring of starts waiting on each other.
    fn check_no_ring(&mut self, group: u64, query: &Query) {
        let model = &self.groups[&group];
        let Some(asking_for) = model.starting_name(query.asker) else { return };
        if let Some(path) = model.wait_path(&query.name, asking_for) {
            let cycle = ring(&[&[asking_for.to_owned()], &path[..]].concat());
            let message = format!("starts in group#{group} wait on each other ({cycle}) and the cycle was not refused");
            self.flag("G13", query.at, message);
        }
    }

    fn decision(&mut self, i: usize, group: u64, name: &str, what: Decision) {
        match what {
            Decision::StartBegin { instance } => self.start_begin(i, group, name, instance),
            Decision::StartEnd { instance, ok } => self.start_end(i, group, name, instance, ok),
            Decision::Bind { address } => self.bind(i, group, name, address),
            Decision::Unbind { address } => self.unbind(i, group, name, address),
            Decision::Answer { asker, address } => self.answer(i, group, name, asker, address),
            Decision::Cycle { asker } => self.cycle(i, group, name, asker),
        }
    }

    /// The query being handled, if it is `asker`'s (or anyone's) query for `name`.
    fn settle(&mut self, name: &str, asker: Option<Address>) -> Option<Address> {
        let query = self.query.as_mut().filter(|q| q.name == name && asker.is_none_or(|a| a == q.asker))?;
        query.settled = true;
        Some(query.asker)
    }

    fn start_begin(&mut self, i: usize, group: u64, name: &str, instance: Address) {
        self.check_member(i, group, name, instance, "was started as");
        let first = self.settle(name, None);
        let model = self.groups.entry(group).or_default();
        let mut waiters: Vec<Address> = first.into_iter().collect();
        let bound = model.bindings.get(name).copied();
        let earlier = model.pending.remove(name);
        if let Some(earlier) = &earlier {
            waiters.extend(&earlier.waiters);
        }
        model.pending.insert(name.to_owned(), Start { instance, waiters, begun: i });
        if let Some(earlier) = earlier {
            let message = format!(
                "a second start of `{name}` in group#{group} ({}) while the start of {} (event {}) is pending",
                self.facts.who(instance),
                earlier.instance,
                earlier.begun
            );
            self.flag("G2", i, message);
        }
        if let Some(bound) = bound.filter(|b| !self.facts.dead_before(*b, i)) {
            let message = format!("`{name}` in group#{group} was started again while bound to live {bound}");
            self.flag("G4", i, message);
        }
    }

    fn start_end(&mut self, i: usize, group: u64, name: &str, instance: Address, ok: bool) {
        let model = self.groups.entry(group).or_default();
        let start = match model.pending.remove(name) {
            Some(start) if start.instance == instance => start,
            other => {
                let known = other.map(|s| {
                    let instance = s.instance;
                    model.pending.insert(name.to_owned(), s);
                    instance
                });
                let pending = known.map_or("none".to_owned(), |a| a.to_string());
                let message = format!(
                    "the start of `{name}` in group#{group} by {instance} ended, but the pending start is {pending}"
                );
                return self.flag("G2", i, message);
            }
        };
        let (name, waiters) = (name.to_owned(), start.waiters);
        self.finishing.push(Finishing { group, name, instance, ok, waiters, first: None, at: i });
    }

    fn bind(&mut self, i: usize, group: u64, name: &str, address: Address) {
        self.check_member(i, group, name, address, "was bound as");
        let model = self.groups.entry(group).or_default();
        let previous = model.bindings.insert(name.to_owned(), address);
        let pending = model.pending.get(name).map(|s| s.instance);
        if let Some(previous) = previous {
            let message = format!("`{name}` in group#{group} was bound to {address} while bound to {previous}");
            self.flag("G4", i, message);
        }
        if let Some(pending) = pending {
            let message =
                format!("`{name}` in group#{group} was bound to {address} while a start of it ({pending}) is pending");
            self.flag("G4", i, message);
        }
    }

    fn unbind(&mut self, i: usize, group: u64, name: &str, address: Address) {
        let model = self.groups.entry(group).or_default();
        match model.bindings.remove(name) {
            Some(bound) if bound == address => {}
            other => {
                let bound = other.map_or("nothing".to_owned(), |a| a.to_string());
                let message = format!("`{name}` in group#{group} was unbound from {address} but was bound to {bound}");
                self.flag("G4", i, message);
            }
        }
    }

    fn answer(&mut self, i: usize, group: u64, name: &str, asker: Address, address: Option<Address>) {
        if let Some(address) = address {
            self.check_member(i, group, name, address, "was answered for");
        }
        let finishing = self.finishing.iter().position(|f| f.group == group && f.name == name);
        if let Some(f) = finishing
            && GroupModel::take_waiter(&mut self.finishing[f].waiters, asker)
        {
            let why = format!("the instance its start just bound ({DEAD_INSTANCE})");
            self.check_alive_answer(i, name, asker, address, &why);
            return self.waiter_answer(i, f, asker, address);
        }
        self.check_alive_answer(i, name, asker, address, "a binding to the dead was kept");
        self.settle(name, Some(asker));
        self.immediate_answer(i, group, name, asker, address);
    }

    /// G9: an answer never names the dead.
    fn check_alive_answer(&mut self, i: usize, name: &str, asker: Address, address: Option<Address>, why: &str) {
        let Some(address) = address.filter(|a| self.facts.dead_before(*a, i)) else { return };
        let exit = self.facts.exit_of(address).unwrap_or_default();
        let message = format!(
            "{} was answered `{name}` -> {}, which exited at event {exit}: {why}",
            self.facts.who(asker),
            self.facts.who(address)
        );
        self.flag("G9", i, message);
    }

    /// G2, G3: every waiter of one start gets the same answer; an error if the start failed.
    fn waiter_answer(&mut self, i: usize, f: usize, asker: Address, address: Option<Address>) {
        let finished = &mut self.finishing[f];
        let (name, instance, ok) = (finished.name.clone(), finished.instance, finished.ok);
        let first = *finished.first.get_or_insert(address);
        let who = self.facts.who(asker);
        if !ok && address.is_some() {
            let message = format!("the start of `{name}` failed but waiter {who} was answered with an address");
            self.flag("G3", i, message);
        } else if address.is_some_and(|a| a != instance) {
            let message =
                format!("waiter {who} of the start of `{name}` ({instance}) was answered with another address");
            self.flag("G2", i, message);
        } else if first != address {
            let message = format!("waiters of one start of `{name}` got different answers ({first:?}, {address:?})");
            self.flag("G2", i, message);
        }
    }

    /// G2, G4, G9: an answer at once comes from the binding, which is alive.
    fn immediate_answer(&mut self, i: usize, group: u64, name: &str, asker: Address, address: Option<Address>) {
        let Some(address) = address else { return };
        let model = self.groups.entry(group).or_default();
        let (bound, pending) = (model.bindings.get(name).copied(), model.pending.get(name).map(|s| s.instance));
        let who = || self.facts.who(asker);
        if let Some(pending) = pending {
            let who = who();
            let message =
                format!("{who} was answered `{name}` -> {address} while a start of it ({pending}) is pending");
            self.flag("G2", i, message);
        } else if bound != Some(address) {
            let (bound, who) = (bound.map_or("nothing".to_owned(), |a| a.to_string()), who());
            let message = format!("{who} was answered `{name}` -> {address} but `{name}` is bound to {bound}");
            self.flag("G4", i, message);
        }
    }

    /// G13: a refused query really closes a ring of pending starts.
    fn cycle(&mut self, i: usize, group: u64, name: &str, asker: Address) {
        let model = self.groups.entry(group).or_default();
        let Some(asking_for) = model.starting_name(asker).map(str::to_owned) else {
            let message =
                format!("a query for `{name}` by {asker} was refused as a cycle, but {asker} is not starting");
            return self.flag("G13", i, message);
        };
        if model.wait_path(name, &asking_for).is_none() {
            let message =
                format!("a query for `{name}` by the instance of `{asking_for}` was refused as a cycle, but no ring");
            self.flag("G13", i, message);
        }
    }

    /// G1: `address` belongs to `group`.
    fn check_member(&mut self, i: usize, group: u64, name: &str, address: Address, what: &str) {
        let actual = self.facts.group(address);
        if actual != Some(group) {
            let actual = actual.map_or("no group".to_owned(), |g| format!("group#{g}"));
            let message = format!("{} of {actual} {what} `{name}` of group#{group}", self.facts.who(address));
            self.flag("G1", i, message);
        }
    }
}
