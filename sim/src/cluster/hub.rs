//! The hub every simulated node's transport goes through: frames in flight per (sender,
//! receiver) pair, store operations in flight per node, the links' state (up, disconnected,
//! crashed, partitioned pairs), and the store's data. It lives in the executor's state, so every
//! delay and every "lost or not" is a decision of the run ([`DecisionKind::Cluster`]) and every
//! arrival is a simulator timer: the run replays from its seed or its decision log.
//!
//! The promises of `skygroup::cluster::Transport` hold by construction:
//! - a frame is due no earlier than the previous frame of its pair, and each arrival delivers
//!   the front of the pair's queue, so one pair's frames arrive in publish order or not at all;
//! - a frame is lost only if, when it arrives, its pair is partitioned, or its sender crashed
//!   (its buffer never flushed), or its receiver is disconnected, crashed or gone; never
//!   duplicated;
//! - a node's store operations reach the store in issue order after a seeded delay; one from a
//!   node cut off from the engine fails with [`StoreError::Unreachable`] (a write the node
//!   issued before the cut may have reached the store anyway: a decision);
//! - liveness keys expire by virtual time (see `super::store`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use skygroup::cluster::{Bucket, Inbox, NodeId, StoreError, TransportError};

use super::store::{Answer, Op, StoreData};
use crate::chooser::DecisionKind;
use crate::executor::{SimExecutor, State};
use crate::record::Happening;

/// The shortest time a frame takes from node to node.
const FRAME_DELAY_MIN: Duration = Duration::from_micros(20);
/// A frame's delay is `FRAME_DELAY_MIN` plus one of this many steps (a decision).
const FRAME_DELAYS: usize = 8;
/// One step of a frame's extra delay.
const FRAME_DELAY_STEP: Duration = Duration::from_micros(10);
/// The shortest time a store operation takes to be answered.
const STORE_DELAY_MIN: Duration = Duration::from_micros(40);
/// A store answer's delay is `STORE_DELAY_MIN` plus one of this many steps (a decision).
const STORE_DELAYS: usize = 6;
/// One step of a store answer's extra delay.
const STORE_DELAY_STEP: Duration = Duration::from_micros(20);
/// How long liveness keys live by default (`SimCluster::set_liveness_ttl` changes it).
pub(crate) const LIVENESS_TTL_DEFAULT: Duration = Duration::from_secs(1);

/// A node's connection to the messaging engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Up,
    /// Cut off (a network fault); `reconnect` brings it back.
    Disconnected,
    /// The node's process is gone: it never comes back (a restart is a new endpoint).
    Crashed,
}

/// One transport: one incarnation of a named node.
pub(crate) struct Endpoint {
    pub(crate) name: String,
    /// Set by `attach`.
    pub(crate) node: Option<NodeId>,
    inbox: Option<Arc<dyn Inbox>>,
    pub(crate) link: Link,
    /// `detach` was called: no more frames in or out.
    detached: bool,
    /// When its last store operation is due (later ones are never due earlier).
    store_last_due: Duration,
    /// Its store operations in flight, oldest first.
    store_queue: VecDeque<PendingOp>,
}

struct PendingOp {
    bucket: Bucket,
    op: Op,
    slot: Arc<Mutex<Slot>>,
    /// The node was cut off when it issued the operation: it never reached the store.
    cut_at_issue: bool,
    /// The trace's length when it was issued (`Happening::StoreWrite::issued`).
    issued: usize,
}

/// Where a store answer waits for its future.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) answer: Option<Result<Answer, StoreError>>,
    pub(crate) waker: Option<Waker>,
}

#[derive(Default)]
struct Pair {
    /// Frames in flight with when each is due, in publish order (so in due order, unless the
    /// test knob `reorder` is on).
    frames: VecDeque<(Duration, Bytes)>,
    last_due: Duration,
}

impl Pair {
    /// The frame due first (the oldest of equals): the front, unless reordering.
    fn next(&mut self) -> Option<Bytes> {
        let first = (0..self.frames.len()).min_by_key(|&i| self.frames[i].0)?;
        self.frames.remove(first).map(|(_, frame)| frame)
    }
}

/// What the simulated cluster carried, for tests and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Frames accepted by `publish`.
    pub published: u64,
    /// Frames handed to their receiver's inbox.
    pub delivered: u64,
    /// Frames lost on the way (partition, crash, disconnect, no receiver).
    pub lost: u64,
    /// Publishes refused at once (the sender cut off or detached).
    pub refused: u64,
    /// Store operations answered (successfully or not).
    pub store_ops: u64,
    /// Store operations that failed as unreachable.
    pub store_unreachable: u64,
}

/// The hub's part of the executor state.
pub(crate) struct ClusterState {
    pub(crate) endpoints: Vec<Endpoint>,
    /// Partitioned node-name pairs, each sorted.
    partitions: BTreeSet<(String, String)>,
    pairs: BTreeMap<(NodeId, NodeId), Pair>,
    pub(crate) store: StoreData,
    pub(crate) stats: ClusterStats,
    /// A broken transport, for tests of the checks: frames of one pair may overtake each other.
    pub(crate) reorder: bool,
}

impl Default for ClusterState {
    fn default() -> ClusterState {
        ClusterState {
            endpoints: Vec::new(),
            partitions: BTreeSet::new(),
            pairs: BTreeMap::new(),
            store: StoreData::new(LIVENESS_TTL_DEFAULT),
            stats: ClusterStats::default(),
            reorder: false,
        }
    }
}

impl ClusterState {
    fn by_node(&self, node: NodeId) -> Option<&Endpoint> {
        self.endpoints.iter().rev().find(|e| e.node == Some(node))
    }

    /// The newest endpoint named `name` (the node's current incarnation).
    pub(crate) fn by_name(&self, name: &str) -> Option<usize> {
        self.endpoints.iter().rposition(|e| e.name == name)
    }

    fn partitioned(&self, a: &str, b: &str) -> bool {
        let pair = if a <= b { (a, b) } else { (b, a) };
        self.partitions.iter().any(|(x, y)| (x.as_str(), y.as_str()) == pair)
    }
}

/// A timer that delivers the front frame of one pair.
struct FrameTick {
    executor: Weak<SimExecutor>,
    pair: (NodeId, NodeId),
}

impl Wake for FrameTick {
    fn wake(self: Arc<Self>) {
        if let Some(executor) = self.executor.upgrade() {
            executor.frame_arrives(self.pair);
        }
    }
}

/// A timer that answers the oldest store operation of one endpoint.
struct StoreTick {
    executor: Weak<SimExecutor>,
    endpoint: usize,
}

impl Wake for StoreTick {
    fn wake(self: Arc<Self>) {
        if let Some(executor) = self.executor.upgrade() {
            executor.store_answers(self.endpoint);
        }
    }
}

impl SimExecutor {
    /// A new endpoint named `name` (a node's transport, before it attaches).
    pub(crate) fn cluster_endpoint(&self, name: &str) -> usize {
        let mut state = self.state();
        let endpoint = Endpoint {
            name: name.to_owned(),
            node: None,
            inbox: None,
            link: Link::Up,
            detached: false,
            store_last_due: Duration::ZERO,
            store_queue: VecDeque::new(),
        };
        state.cluster.endpoints.push(endpoint);
        state.cluster.endpoints.len() - 1
    }

    pub(crate) fn cluster_attach(
        &self,
        endpoint: usize,
        node: NodeId,
        inbox: Arc<dyn Inbox>,
    ) -> Result<(), TransportError> {
        let mut state = self.state();
        let taken = state.cluster.endpoints.iter().any(|e| e.node == Some(node) && !e.detached);
        let e = &mut state.cluster.endpoints[endpoint];
        if e.detached || e.link == Link::Crashed {
            return Err(TransportError::Closed);
        }
        if taken || e.node.is_some() {
            return Err(TransportError::Unreachable(format!("{node} is attached already")));
        }
        e.node = Some(node);
        e.inbox = Some(inbox);
        let name = e.name.clone();
        state.cluster_log(node, format!("{name} attached"));
        Ok(())
    }

    pub(crate) fn cluster_detach(&self, endpoint: usize) {
        let mut state = self.state();
        let e = &mut state.cluster.endpoints[endpoint];
        if std::mem::replace(&mut e.detached, true) {
            return;
        }
        let inbox = e.inbox.take();
        if let Some(node) = e.node {
            let name = e.name.clone();
            state.cluster_log(node, format!("{name} detached"));
        }
        drop(state);
        drop(inbox);
    }

    pub(crate) fn cluster_publish(&self, endpoint: usize, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        let mut state = self.state();
        let e = &state.cluster.endpoints[endpoint];
        let refused = match (e.detached, e.link, e.node) {
            (true, _, _) | (_, Link::Crashed, _) => Some(TransportError::Closed),
            (_, Link::Disconnected, _) => Some(TransportError::Unreachable(format!("{} is disconnected", e.name))),
            (_, _, None) => Some(TransportError::Unreachable(format!("{} is not attached", e.name))),
            (false, Link::Up, Some(_)) => None,
        };
        let from = e.node;
        if let Some(error) = refused {
            state.cluster.stats.refused += 1;
            if let Some(from) = from {
                state.cluster_log(from, format!("publish to {to} refused: {error}"));
            }
            return Err(error);
        }
        let from = from.expect("attached");
        state.cluster.stats.published += 1;
        let delay = FRAME_DELAY_MIN + FRAME_DELAY_STEP * state.choose(DecisionKind::Cluster, FRAME_DELAYS) as u32;
        let now = state.now;
        let reorder = state.cluster.reorder;
        let pair = state.cluster.pairs.entry((from, to)).or_default();
        let due = if reorder { now + delay } else { (now + delay).max(pair.last_due) };
        pair.last_due = due;
        let len = frame.len();
        pair.frames.push_back((due, frame));
        let tick = Waker::from(Arc::new(FrameTick { executor: self.me.clone(), pair: (from, to) }));
        state.add_timer(due, tick);
        state.cluster_log(from, format!("-> {to} frame of {len} bytes (due {}us)", due.as_micros()));
        Ok(())
    }

    /// The front frame of `pair` arrives: handed to the receiver's inbox, or lost.
    fn frame_arrives(&self, pair: (NodeId, NodeId)) {
        let (inbox, frame) = {
            let mut state = self.state();
            let Some(frame) = state.cluster.pairs.get_mut(&pair).and_then(Pair::next) else { return };
            let (from, to) = pair;
            let c = &state.cluster;
            let sender = c.by_node(from);
            let receiver = c.by_node(to).filter(|r| !r.detached && r.inbox.is_some());
            let lost = match (sender, receiver) {
                (_, None) => Some("no such node attached".to_owned()),
                (Some(s), _) if s.link == Link::Crashed => Some(format!("{} crashed", s.name)),
                (_, Some(r)) if r.link != Link::Up => Some(format!("{} is cut off", r.name)),
                (Some(s), Some(r)) if c.partitioned(&s.name, &r.name) => {
                    Some(format!("{} and {} are partitioned", s.name, r.name))
                }
                _ => None,
            };
            let inbox = receiver.and_then(|r| r.inbox.clone());
            match lost {
                Some(why) => {
                    state.cluster.stats.lost += 1;
                    if state.tracing {
                        let line = format!("cluster {to} <- {from} frame lost: {why}");
                        state.log(Happening::FrameLost { from: from.0, to: to.0, why }, || line);
                    }
                    return;
                }
                None => {
                    state.cluster.stats.delivered += 1;
                    state.cluster_log(to, format!("<- {from} frame of {} bytes", frame.len()));
                }
            }
            (inbox.expect("a receiver with an inbox"), frame)
        };
        inbox.frame(frame);
    }

    /// Issues a store operation for `endpoint`; its answer lands in the returned slot.
    pub(crate) fn store_issue(&self, endpoint: usize, bucket: Bucket, op: Op) -> Arc<Mutex<Slot>> {
        let mut state = self.state();
        let delay = STORE_DELAY_MIN + STORE_DELAY_STEP * state.choose(DecisionKind::Cluster, STORE_DELAYS) as u32;
        let now = state.now;
        let slot = Arc::new(Mutex::new(Slot::default()));
        let e = &mut state.cluster.endpoints[endpoint];
        let due = (now + delay).max(e.store_last_due);
        e.store_last_due = due;
        let cut_at_issue = e.link != Link::Up;
        let issued = state.records_len();
        let e = &mut state.cluster.endpoints[endpoint];
        e.store_queue.push_back(PendingOp { bucket, op, slot: slot.clone(), cut_at_issue, issued });
        let tick = Waker::from(Arc::new(StoreTick { executor: self.me.clone(), endpoint }));
        state.add_timer(due, tick);
        slot
    }

    /// The oldest store operation of `endpoint` is answered (applied first if it reached the
    /// store).
    fn store_answers(&self, endpoint: usize) {
        let waker = {
            let mut state = self.state();
            let Some(pending) = state.cluster.endpoints[endpoint].store_queue.pop_front() else { return };
            let e = &state.cluster.endpoints[endpoint];
            let (name, node, cut_now) = (e.name.clone(), e.node.unwrap_or(NodeId(0)), e.link != Link::Up);
            let what = format!("({name}) store {} {}", pending.bucket.name(), pending.op.describe());
            state.cluster.stats.store_ops += 1;
            let answer = if pending.cut_at_issue || cut_now {
                // A write issued before the cut may have reached the store; its answer is lost.
                let reached =
                    !pending.cut_at_issue && pending.op.writes() && state.choose(DecisionKind::Cluster, 2) == 1;
                if reached {
                    let _ = state.store_apply(node, &pending, &what);
                }
                state.cluster.stats.store_unreachable += 1;
                let why = format!("{name} is cut off from the store");
                state.cluster_log(node, format!("{what}: unreachable{}", if reached { " (applied)" } else { "" }));
                Err(StoreError::Unreachable(why))
            } else {
                state.store_apply(node, &pending, &what)
            };
            let mut slot = pending.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.answer = Some(answer);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Partitions nodes `a` and `b` (by name): frames between them are lost until healed.
    pub(crate) fn cluster_partition(&self, a: &str, b: &str) {
        let mut state = self.state();
        let pair = if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) };
        state.cluster_log(NodeId(0), format!("partition {} | {}", pair.0, pair.1));
        state.cluster.partitions.insert(pair);
    }

    pub(crate) fn cluster_heal(&self) {
        let mut state = self.state();
        state.cluster.partitions.clear();
        state.cluster_log(NodeId(0), "heal".to_owned());
    }

    /// Sets the link of `name`'s current incarnation; tells its inbox if that changes whether it
    /// is up. False if there is no such node.
    pub(crate) fn cluster_link(&self, name: &str, link: Link) -> bool {
        let (notify, dropped) = {
            let mut state = self.state();
            let Some(i) = state.cluster.by_name(name) else { return false };
            let e = &mut state.cluster.endpoints[i];
            let was = e.link;
            if was == Link::Crashed {
                return true;
            }
            e.link = link;
            let up_changed = (was == Link::Up) != (link == Link::Up);
            let notify = if link != Link::Crashed && up_changed { e.inbox.clone() } else { None };
            let dropped = if link == Link::Crashed { e.inbox.take() } else { None };
            let node = e.node.unwrap_or(NodeId(0));
            state.cluster_log(node, format!("{name} {link:?}").to_lowercase());
            (notify, dropped)
        };
        drop(dropped);
        if let Some(inbox) = notify {
            inbox.connection(link == Link::Up);
        }
        true
    }
}

impl State {
    /// Applies a store operation that reached the store, with its trace lines: a write that
    /// took effect is a `StoreWrite` record (the oracle replays those), anything else a
    /// `Cluster` line.
    fn store_apply(&mut self, node: NodeId, pending: &PendingOp, what: &str) -> Result<Answer, StoreError> {
        let (bucket, op, issued) = (pending.bucket, pending.op.clone(), pending.issued);
        let written = match &op {
            Op::Create { key, value } | Op::Update { key, value, .. } | Op::Put { key, value } => {
                Some((key.clone(), Some(value.clone())))
            }
            Op::Delete { key, .. } => Some((key.clone(), None)),
            Op::Get { .. } | Op::Keys => None,
        };
        let (answer, expired) = self.cluster.store.apply(bucket, op, self.now);
        for key in expired {
            let now = self.records_len();
            self.store_log(NodeId(0), (bucket, key.clone(), now), None, format!("store liveness {key} expired"));
        }
        let shown = match &answer {
            Ok(a) => a.describe(),
            Err(e) => e.to_string(),
        };
        let line = format!("{what}: {shown}");
        match written {
            Some((key, value)) if answer.is_ok() => self.store_log(node, (bucket, key, issued), value, line),
            _ => self.cluster_log(node, line),
        }
        answer
    }

    /// A `StoreWrite` record of `key` in `bucket`, issued when the trace had `issued` records.
    fn store_log(
        &mut self,
        node: NodeId,
        (bucket, key, issued): (Bucket, String, usize),
        value: Option<Bytes>,
        what: String,
    ) {
        if self.tracing {
            let line = format!("cluster {node} {what}");
            self.log(Happening::StoreWrite { node: node.0, bucket, key, value, issued }, || line);
        }
    }

    /// A `cluster` line of the trace, about `node` (0: the hub itself).
    pub(crate) fn cluster_log(&mut self, node: NodeId, what: String) {
        if self.tracing {
            let line = format!("cluster {node} {what}");
            self.log(Happening::Cluster { node: node.0, what }, || line);
        }
    }
}
