//! The transport's promises (`skygroup::cluster::Transport`'s module docs) on the simulated hub,
//! each over many seeds and each deterministic per seed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use skygroup::Runtime;
use skygroup::cluster::{Bucket, Inbox, NodeId, Store, StoreError, Transport, TransportError};

use super::{SimCluster, SimTransport};
use crate::Sim;

/// An inbox that keeps what it hears.
#[derive(Default)]
struct Heard {
    frames: Mutex<Vec<Bytes>>,
    connection: Mutex<Vec<bool>>,
}

impl Inbox for Heard {
    fn frame(&self, frame: Bytes) {
        self.frames.lock().unwrap().push(frame);
    }
    fn connection(&self, up: bool) {
        self.connection.lock().unwrap().push(up);
    }
}

impl Heard {
    fn frames(&self) -> Vec<String> {
        self.frames.lock().unwrap().iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
    }
}

/// A run with nodes `names` attached as node#1.. .
struct World {
    sim: Sim,
    rt: Runtime,
    cluster: SimCluster,
    nodes: Vec<(Arc<SimTransport>, Arc<Heard>)>,
}

fn world(seed: u64, names: &[&str]) -> World {
    let sim = Sim::new(seed);
    let rt = sim.runtime();
    let cluster = sim.cluster("test");
    let nodes = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let transport = Arc::new(cluster.transport(name));
            let heard = Arc::new(Heard::default());
            transport.attach(NodeId(i as u16 + 1), heard.clone()).unwrap();
            (transport, heard)
        })
        .collect();
    World { sim, rt, cluster, nodes }
}

impl World {
    fn publish(&self, from: usize, to: u16, text: &str) -> Result<(), TransportError> {
        self.nodes[from].0.publish(NodeId(to), Bytes::from(text.to_owned()))
    }

    /// Lets virtual time pass (every frame and store answer in flight lands).
    fn settle(&self) {
        self.rt.block_on(|ctx| async move { ctx.sleep(Duration::from_millis(10)).await });
    }

    fn store<T: Send + 'static>(
        &self,
        node: usize,
        op: impl FnOnce(&dyn Store) -> skygroup::cluster::StoreFuture<T>,
    ) -> Result<T, StoreError> {
        let future = op(self.nodes[node].0.store());
        self.rt.block_on(move |_| future)
    }
}

const SEEDS: std::ops::Range<u64> = 0..40;

#[test]
fn frames_of_one_pair_arrive_in_publish_order_and_pairs_interleave_by_seed() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in SEEDS {
        let w = world(seed, &["a", "b", "c"]);
        for i in 0..10 {
            w.publish(0, 2, &format!("a{i}")).unwrap();
            w.publish(2, 2, &format!("c{i}")).unwrap();
        }
        w.settle();
        let got = w.nodes[1].1.frames();
        for sender in ["a", "c"] {
            let mine: Vec<&String> = got.iter().filter(|f| f.starts_with(sender)).collect();
            let expected: Vec<String> = (0..10).map(|i| format!("{sender}{i}")).collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "seed {seed}: {sender}'s frames out of order");
        }
        assert_eq!(w.cluster.stats().delivered, 20);
        orders.insert(got);
    }
    assert!(orders.len() > 10, "the seed should interleave the two pairs: {} orders", orders.len());
}

#[test]
fn a_seed_replays_the_same_arrivals_and_trace() {
    let run = |seed| {
        let w = world(seed, &["a", "b"]);
        for i in 0..5 {
            w.publish(0, 2, &format!("x{i}")).unwrap();
            w.publish(1, 1, &format!("y{i}")).unwrap();
        }
        // Issued at the call (its answer is not awaited).
        drop(w.nodes[0].0.store().create(Bucket::Bindings, "k", Bytes::new()));
        w.settle();
        (w.sim.trace(), w.sim.decisions())
    };
    for seed in 0..5 {
        assert_eq!(run(seed), run(seed));
    }
}

#[test]
fn a_partition_loses_frames_of_that_pair_only_until_healed() {
    for seed in SEEDS {
        let w = world(seed, &["a", "b", "c"]);
        w.cluster.partition("b", "a");
        w.publish(0, 2, "lost").unwrap();
        w.publish(0, 3, "to-c").unwrap();
        w.publish(1, 1, "lost-too").unwrap();
        w.settle();
        w.cluster.heal();
        w.publish(0, 2, "after").unwrap();
        w.settle();
        assert_eq!(w.nodes[1].1.frames(), ["after"], "seed {seed}");
        assert_eq!(w.nodes[2].1.frames(), ["to-c"], "seed {seed}");
        assert!(w.nodes[0].1.frames().is_empty(), "seed {seed}");
        assert_eq!(w.cluster.stats().lost, 2, "seed {seed}");
    }
}

#[test]
fn a_disconnected_node_cannot_publish_and_misses_frames_until_it_reconnects() {
    for seed in 0..8 {
        let w = world(seed, &["a", "b"]);
        assert!(w.cluster.disconnect("b"));
        assert!(matches!(w.publish(1, 1, "x"), Err(TransportError::Unreachable(_))));
        w.publish(0, 2, "missed").unwrap();
        w.settle();
        assert!(w.cluster.reconnect("b"));
        w.publish(0, 2, "got").unwrap();
        w.publish(1, 1, "back").unwrap();
        w.settle();
        assert_eq!(w.nodes[1].1.frames(), ["got"]);
        assert_eq!(w.nodes[0].1.frames(), ["back"]);
        assert_eq!(*w.nodes[1].1.connection.lock().unwrap(), [false, true]);
        assert_eq!(w.cluster.stats().refused, 1);
    }
}

#[test]
fn a_crashed_node_loses_its_frames_in_flight_and_is_closed_for_good() {
    for seed in 0..8 {
        let w = world(seed, &["a", "b"]);
        w.publish(0, 2, "in-flight").unwrap();
        assert!(w.cluster.cut_forever("a"));
        assert_eq!(w.publish(0, 2, "after"), Err(TransportError::Closed));
        assert!(w.cluster.reconnect("a"), "a crashed node stays crashed");
        w.settle();
        assert!(w.nodes[1].1.frames().is_empty());
        assert_eq!(w.cluster.stats().lost, 1);
    }
}

#[test]
fn frames_to_a_detached_or_unknown_node_are_lost_and_a_detached_one_cannot_publish() {
    let w = world(3, &["a", "b"]);
    w.nodes[1].0.detach();
    w.publish(0, 2, "gone").unwrap();
    w.publish(0, 9, "nobody").unwrap();
    w.settle();
    assert_eq!(w.cluster.stats().lost, 2);
    assert_eq!(w.publish(1, 1, "x"), Err(TransportError::Closed));
}

#[test]
fn exactly_one_of_two_racing_creators_wins_and_either_can() {
    let mut winners = std::collections::BTreeSet::new();
    for seed in SEEDS {
        let w = world(seed, &["a", "b"]);
        let a = w.nodes[0].0.store().create(Bucket::Bindings, "login-center", Bytes::from_static(b"a"));
        let b = w.nodes[1].0.store().create(Bucket::Bindings, "login-center", Bytes::from_static(b"b"));
        let (a, b) = w.rt.block_on(move |_| async move { (a.await, b.await) });
        assert!(a.is_ok() != b.is_ok(), "seed {seed}: exactly one creator wins: {a:?} {b:?}");
        let loser = if a.is_ok() { &b } else { &a };
        assert!(matches!(loser, Err(StoreError::Exists { .. })), "seed {seed}: {loser:?}");
        let value = w.cluster.peek(Bucket::Bindings, "login-center").unwrap().value;
        assert_eq!(value, if a.is_ok() { "a" } else { "b" });
        winners.insert(value);
    }
    assert_eq!(winners.len(), 2, "either node can win the race");
}

#[test]
fn one_nodes_store_operations_apply_in_issue_order() {
    for seed in SEEDS {
        let w = world(seed, &["a"]);
        let store = w.nodes[0].0.store();
        let first = store.put(Bucket::Directory, "k", Bytes::from_static(b"1"));
        let second = store.put(Bucket::Directory, "k", Bytes::from_static(b"2"));
        let (r1, r2) = w.rt.block_on(move |_| async move { (first.await.unwrap(), second.await.unwrap()) });
        assert!(r1 < r2, "seed {seed}");
        assert_eq!(w.cluster.peek(Bucket::Directory, "k").unwrap().value, "2");
    }
}

#[test]
fn a_node_cut_off_from_the_store_gets_unreachable() {
    for seed in 0..8 {
        let w = world(seed, &["a"]);
        w.cluster.disconnect("a");
        let got = w.store(0, |s| s.get(Bucket::Bindings, "x"));
        assert!(matches!(got, Err(StoreError::Unreachable(_))), "{got:?}");
        let created = w.store(0, |s| s.create(Bucket::Bindings, "x", Bytes::new()));
        assert!(matches!(created, Err(StoreError::Unreachable(_))));
        assert!(w.cluster.peek(Bucket::Bindings, "x").is_none(), "issued while cut off: never reached the store");
        w.cluster.reconnect("a");
        assert_eq!(w.store(0, |s| s.get(Bucket::Bindings, "x")), Ok(None));
    }
}

#[test]
fn a_write_issued_just_before_a_cut_may_or_may_not_have_reached_the_store() {
    let mut outcomes = std::collections::BTreeSet::new();
    for seed in SEEDS {
        let w = world(seed, &["a"]);
        let created = w.nodes[0].0.store().create(Bucket::Bindings, "x", Bytes::new());
        w.cluster.disconnect("a");
        let answer = w.rt.block_on(move |_| created);
        assert!(matches!(answer, Err(StoreError::Unreachable(_))));
        outcomes.insert(w.cluster.peek(Bucket::Bindings, "x").is_some());
    }
    assert_eq!(outcomes.len(), 2, "both outcomes are reachable from some seed");
}

#[test]
fn liveness_keys_expire_by_virtual_time_unless_refreshed() {
    let w = world(1, &["a"]);
    w.cluster.set_liveness_ttl(Duration::from_millis(300));
    assert_eq!(w.nodes[0].0.store().liveness_ttl(), Duration::from_millis(300));
    w.store(0, |s| s.put(Bucket::Liveness, "node.1", Bytes::new())).unwrap();
    w.store(0, |s| s.put(Bucket::Bindings, "name", Bytes::new())).unwrap();
    w.rt.block_on(|ctx| async move { ctx.sleep(Duration::from_millis(200)).await });
    assert!(w.store(0, |s| s.get(Bucket::Liveness, "node.1")).unwrap().is_some());
    w.rt.block_on(|ctx| async move { ctx.sleep(Duration::from_millis(200)).await });
    assert_eq!(w.store(0, |s| s.get(Bucket::Liveness, "node.1")), Ok(None));
    assert_eq!(w.store(0, |s| s.keys(Bucket::Bindings)), Ok(vec!["name".to_owned()]));
    assert!(w.sim.trace().iter().any(|l| l.contains("store liveness node.1 expired")));
}
