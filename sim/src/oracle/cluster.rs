//! Cluster-wide names across the nodes of a simulated cluster: the store's `Bindings` history,
//! replayed from the run's `StoreWrite` records, against the services' spawns and exits and the
//! nodes' liveness keys (addresses carry their node, so a service's node shows in its address).
//!
//! - G2 across nodes: at no moment do two instances ever bound to one name both live on nodes
//!   whose liveness keys are present (one instance cluster-wide). That count can grow at two
//!   kinds of moments only, so they are where it is checked: when a name is bound to an
//!   instance, and when a node's liveness key comes back after it expired (a node declared
//!   dead that rewrites its key and still runs an instance, K9). And the binding goes to an
//!   instance of the name's kind, outside any group, on the node that claimed the start.
//! - G3 across nodes: a start whose instance exited before the node issued its binding has
//!   failed; the binding must not name it. (An exit after the issue, while the write is on its
//!   way to the store, cannot be helped: the owner's agent then releases it, see G9.)
//! - G4/G9 across nodes: a binding is released (deleted) only once its instance exited, or once
//!   its node's liveness key is gone (the node counts as dead, and the next use starts a fresh
//!   instance on a live node): both as of when the release was issued and when it took effect.
//!
//! The bindings' values are decoded here on their own (a map of `node` and, once bound,
//! `address`, in the layer's MessagePack); a value that does not decode is skipped, not
//! flagged. Liveness keys are `node.<n>` (the layer's convention, `cluster/agent.rs`). The
//! store expires liveness keys lazily, on the next look at the bucket, and the records show the
//! expiry then: a node counts as alive until that record, so these checks can only be late to
//! call a node dead, never early.

use std::collections::{BTreeMap, BTreeSet};

use skygroup::cluster::Bucket;
use skygroup::{Address, Value};

use super::Violation;
use super::facts::Facts;
use crate::record::Happening;

/// A binding as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Starting { node: u16 },
    Bound { node: u16, address: Address },
}

fn decode(bytes: &[u8]) -> Option<Binding> {
    let Value::Map(map) = Value::from_bytes(bytes).ok()? else { return None };
    let node = u16::try_from(map.get("node")?.as_int()?).ok()?;
    match map.get("address") {
        Some(Value::Address(address)) => Some(Binding::Bound { node, address: *address }),
        _ => Some(Binding::Starting { node }),
    }
}

/// The node number behind a liveness key `node.<n>`.
fn live_node(key: &str) -> Option<u16> {
    key.strip_prefix("node.")?.parse().ok()
}

struct Walk<'f, 'a> {
    facts: &'f Facts<'a>,
    bindings: BTreeMap<String, Binding>,
    live: BTreeSet<u16>,
    /// Per node, where its liveness key came and went: (record index, present).
    live_changes: BTreeMap<u16, Vec<(usize, bool)>>,
    /// Every instance bound to each name so far.
    instances: BTreeMap<String, BTreeSet<Address>>,
    out: Vec<Violation>,
}

/// Every violation of the cluster-name rules in the run.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut walk = Walk {
        facts,
        bindings: BTreeMap::new(),
        live: BTreeSet::new(),
        live_changes: BTreeMap::new(),
        instances: BTreeMap::new(),
        out: Vec::new(),
    };
    for (i, record) in facts.records.iter().enumerate() {
        if let Happening::StoreWrite { bucket, key, value, issued, .. } = &record.event {
            walk.write((i, *issued), *bucket, key, value.as_deref());
        }
    }
    walk.out
}

impl Walk<'_, '_> {
    /// A write that took effect at record `i`, issued when the trace had `issued` records.
    fn write(&mut self, (i, issued): (usize, usize), bucket: Bucket, key: &str, value: Option<&[u8]>) {
        match (bucket, value) {
            (Bucket::Liveness, value) => {
                let Some(node) = live_node(key) else { return };
                let present = value.is_some();
                if present {
                    let back = self.live_changes.get(&node).and_then(|c| c.last()).is_some_and(|(_, was)| !was);
                    self.live.insert(node);
                    if back {
                        self.node_back(i, node);
                    }
                } else {
                    self.live.remove(&node);
                }
                self.live_changes.entry(node).or_default().push((i, present));
            }
            (Bucket::Bindings, Some(bytes)) => match decode(bytes) {
                Some(binding) => self.bind((i, issued), key, binding),
                None => {
                    self.bindings.remove(key);
                }
            },
            (Bucket::Bindings, None) => self.release((i, issued), key),
            (Bucket::Directory, _) => {}
        }
    }

    /// Whether `address` had not exited before record `i`.
    fn alive(&self, address: Address, i: usize) -> bool {
        self.facts.exit_of(address).is_none_or(|exit| exit >= i)
    }

    /// Whether `node`'s liveness key was present before record `i`.
    fn live_at(&self, node: u16, i: usize) -> bool {
        let changes = self.live_changes.get(&node).map_or(&[][..], Vec::as_slice);
        changes.iter().rev().find(|(at, _)| *at < i).is_some_and(|(_, present)| *present)
    }

    fn bind(&mut self, (i, issued): (usize, usize), name: &str, binding: Binding) {
        let before = self.bindings.insert(name.to_owned(), binding);
        let Binding::Bound { node, address } = binding else { return };
        if let Some(Binding::Starting { node: claimed }) = before
            && claimed != node
        {
            self.flag("G2", i, format!("`{name}` was claimed by node#{claimed} but bound by node#{node} to {address}"));
        }
        let spawned = self.facts.services.get(&address);
        let fits = spawned.is_some_and(|s| s.kind == name && s.group.is_none()) && address.node().0 == node;
        let who = self.facts.who(address);
        if !fits {
            self.flag(
                "G2",
                i,
                format!("`{name}` was bound on node#{node} to {who}, not an instance of `{name}` there"),
            );
        } else if !self.alive(address, issued) {
            let exit = self.facts.exit_of(address).unwrap_or_default();
            let message = format!(
                "`{name}` was bound on node#{node} to {who}, which had exited (event {exit}) before the binding was \
                 issued: that start had failed"
            );
            self.flag("G3", i, message);
        }
        let others: Vec<Address> = self.instances.get(name).into_iter().flatten().copied().collect();
        for other in others {
            if other != address && self.alive(other, i) && self.live.contains(&other.node().0) {
                let (this, that) = (self.facts.who(address), self.facts.who(other));
                let message = format!(
                    "`{name}` was bound to {this} while {that}, bound to it before, still lives on live node#{}",
                    other.node().0
                );
                self.flag("G2", i, message);
            }
        }
        self.instances.entry(name.to_owned()).or_default().insert(address);
    }

    /// `node`'s liveness key came back at record `i` after it had gone: none of its instances
    /// bound to a name may still live while another instance bound to that name lives on a
    /// live node.
    fn node_back(&mut self, i: usize, node: u16) {
        let mut found = Vec::new();
        for (name, instances) in &self.instances {
            let live = |a: &&Address| self.alive(**a, i) && self.live.contains(&a.node().0);
            let (here, elsewhere): (Vec<&Address>, Vec<&Address>) =
                instances.iter().filter(live).partition(|a| a.node().0 == node);
            if let (Some(here), Some(other)) = (here.first(), elsewhere.first()) {
                let (this, that) = (self.facts.who(**here), self.facts.who(**other));
                found.push(format!(
                    "node#{node}'s liveness key came back after it expired while {this}, bound to `{name}` before,                      still lives there, and so does {that}, bound to it too, on live node#{}",
                    other.node().0
                ));
            }
        }
        for message in found {
            self.flag("G2", i, message);
        }
    }

    fn release(&mut self, (i, issued): (usize, usize), name: &str) {
        let Some(Binding::Bound { address, .. }) = self.bindings.remove(name) else { return };
        let node = address.node().0;
        if self.alive(address, i) && self.live.contains(&node) && self.live_at(node, issued) {
            let who = self.facts.who(address);
            let message = format!(
                "the binding of `{name}` to {who} was released while it lives on node#{}, whose liveness key is present",
                address.node().0
            );
            self.flag("G9", i, message);
        }
    }

    fn flag(&mut self, rule: &'static str, at: usize, message: String) {
        self.out.push(Violation { rule, at, message });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use skygroup::ServiceKind;

    use super::*;
    use crate::Sim;
    use crate::record::Record;

    /// Two instances of `login`, one on node 1 and one on node 2 (real addresses).
    fn instances() -> (Address, Address) {
        let sim = Sim::new(0);
        let cluster = sim.cluster("oracle");
        let spawn = |name| {
            let node = cluster.node(name);
            node.define(ServiceKind::stateless("login")).unwrap();
            node.spawn("login", ()).unwrap()
        };
        (spawn("a"), spawn("b"))
    }

    struct Story(Vec<Record>);

    impl Story {
        fn add(&mut self, event: Happening) -> &mut Self {
            self.0.push(Record { time: Duration::ZERO, event });
            self
        }
        fn spawn(&mut self, address: Address) -> &mut Self {
            self.add(Happening::Spawn { address, kind: "login".into(), parent: None, group: None })
        }
        fn exit(&mut self, address: Address) -> &mut Self {
            self.add(Happening::Exit { address, kind: "login".into(), reason: "killed".into() })
        }
        fn write(&mut self, bucket: Bucket, key: &str, value: Option<Value>) -> &mut Self {
            let value = value.map(|v| Bytes::from(v.to_bytes().unwrap()));
            let issued = self.0.len();
            self.add(Happening::StoreWrite { node: 0, bucket, key: key.into(), value, issued })
        }
        fn live(&mut self, node: u16) -> &mut Self {
            self.write(Bucket::Liveness, &format!("node.{node}"), Some(Value::from("x")))
        }
        fn expire(&mut self, node: u16) -> &mut Self {
            self.write(Bucket::Liveness, &format!("node.{node}"), None)
        }
        fn starting(&mut self, node: u16) -> &mut Self {
            self.write(Bucket::Bindings, "login", Some(Value::map([("node", Value::Int(node.into()))])))
        }
        fn bound(&mut self, address: Address) -> &mut Self {
            let node = Value::Int(address.node().0.into());
            self.write(
                Bucket::Bindings,
                "login",
                Some(Value::map([("node", node), ("address", Value::Address(address))])),
            )
        }
        fn release(&mut self) -> &mut Self {
            self.write(Bucket::Bindings, "login", None)
        }
        fn rules(&self) -> Vec<&'static str> {
            check(&Facts::new(&self.0)).into_iter().map(|v| v.rule).collect()
        }
    }

    #[test]
    fn a_fresh_instance_after_the_owner_node_died_is_accepted() {
        let (one, two) = instances();
        let mut story = Story(Vec::new());
        story.live(1).live(2).starting(1).spawn(one).bound(one);
        story.expire(1).release().starting(2).spawn(two).bound(two);
        assert_eq!(story.rules(), Vec::<&str>::new());
        let mut after_exit = Story(Vec::new());
        after_exit
            .live(1)
            .live(2)
            .starting(1)
            .spawn(one)
            .bound(one)
            .exit(one)
            .release()
            .starting(2)
            .spawn(two)
            .bound(two);
        assert_eq!(after_exit.rules(), Vec::<&str>::new());
    }

    #[test]
    fn g2_a_node_back_after_its_key_expired_with_its_instance_alive_is_flagged() {
        let (one, two) = instances();
        let mut story = Story(Vec::new());
        story.live(1).live(2).starting(1).spawn(one).bound(one);
        story.expire(1).release().starting(2).spawn(two).bound(two);
        assert_eq!(story.rules(), Vec::<&str>::new(), "node 1 counts as dead until its key is back");
        story.live(1);
        assert_eq!(story.rules(), ["G2"]);
        let mut fenced = Story(Vec::new());
        fenced.live(1).live(2).starting(1).spawn(one).bound(one).exit(one);
        fenced.expire(1).release().starting(2).spawn(two).bound(two).live(1);
        assert_eq!(fenced.rules(), Vec::<&str>::new(), "its instance stopped before: one owner");
    }

    #[test]
    fn g9_releasing_a_live_instance_on_a_live_node_is_flagged() {
        let (one, _) = instances();
        let mut story = Story(Vec::new());
        story.live(1).starting(1).spawn(one).bound(one).release();
        assert_eq!(story.rules(), ["G9"]);
    }

    #[test]
    fn g2_a_second_instance_while_the_first_lives_on_a_live_node_is_flagged() {
        let (one, two) = instances();
        let mut story = Story(Vec::new());
        story.live(1).live(2).starting(1).spawn(one).bound(one).spawn(two).bound(two);
        assert_eq!(story.rules(), ["G2"]);
    }

    #[test]
    fn g3_binding_an_instance_that_exited_before_the_binding_was_issued_is_flagged() {
        let (one, _) = instances();
        let mut story = Story(Vec::new());
        story.live(1).starting(1).spawn(one).exit(one).bound(one);
        assert_eq!(story.rules(), ["G3"]);
    }

    #[test]
    fn an_exit_while_the_binding_is_on_its_way_is_not_flagged() {
        let (one, _) = instances();
        let mut story = Story(Vec::new());
        story.live(1).starting(1).spawn(one).bound(one);
        let bound = story.0.pop().unwrap();
        story.exit(one).add(bound.event).release();
        assert_eq!(story.rules(), Vec::<&str>::new());
    }

    #[test]
    fn g2_binding_an_instance_of_another_node_than_the_claimant_is_flagged() {
        let (one, _) = instances();
        let mut story = Story(Vec::new());
        story.live(1).live(2).starting(2).spawn(one).bound(one);
        assert_eq!(story.rules(), ["G2"]);
    }
}
