//! A node's link to the rest of its cluster: the core's [`Remote`] (messages out) and the
//! transport's [`Inbox`] (frames in), with what both sides keep.
//!
//! Out: a request or answer for another node's address becomes a frame, numbered per receiving
//! node and published under one lock, so frames leave in the order their messages were issued
//! (G6 across nodes, K3). A call is remembered as pending (per caller and session) until its
//! answer comes, its node is found down, or the call timeout passes; the node's agent
//! (`agent.rs`) fails the last two. A call that cannot leave (its node is down, a value cannot
//! be serialized, the publish fails) is answered with an error at once; a send that cannot is a
//! dead letter on this node (G7, K5).
//!
//! In: a frame's sequence number is checked against the sender's last one; a gap means frames
//! were lost on the way (counted, logged with both nodes, K4). A request is delivered to its
//! local target as if sent from the remote address, so the target's answer comes back here
//! through the core's `Remote` seam; an answer completes its pending call, and one whose call is
//! no longer pending (timed out) is dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::task::AtomicWaker;

use super::frame::{Body, Frame, RemoteError};
use super::transport::{Inbox, NodeId, Transport};
use crate::core::{Address, CallError, CallErrorKind, CommandName, Envelope, Remote, RuntimeShared, lock};

/// A call waiting for its answer from another node.
pub(crate) struct PendingCall {
    pub(crate) target: Address,
    pub(crate) command: String,
    deadline: Duration,
}

/// Pending calls by (caller, session), and the same calls by deadline: a call leaves both when
/// it ends, so neither outgrows the calls actually waiting.
#[derive(Default)]
struct Pending {
    calls: BTreeMap<(Address, u64), PendingCall>,
    deadlines: BTreeSet<(Duration, Address, u64)>,
}

impl Pending {
    fn remove(&mut self, key: (Address, u64)) -> Option<PendingCall> {
        let call = self.calls.remove(&key)?;
        self.deadlines.remove(&(call.deadline, key.0, key.1));
        Some(call)
    }
}

/// What a node counts about its cluster traffic ([`Node::stats`](super::Node::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Frames published to other nodes.
    pub frames_sent: u64,
    /// Frames received from other nodes.
    pub frames_received: u64,
    /// Frames found missing by a gap in a sender's sequence numbers (K4).
    pub lost: u64,
    /// Calls failed for want of an answer within the call timeout.
    pub timeouts: u64,
    /// Calls failed because their node went down.
    pub node_down: u64,
    /// Sends from this node that could not leave it (dead letters, K5).
    pub dead_letters: u64,
}

#[derive(Default)]
struct Counters {
    frames_sent: AtomicU64,
    frames_received: AtomicU64,
    lost: AtomicU64,
    timeouts: AtomicU64,
    node_down: AtomicU64,
    dead_letters: AtomicU64,
}

/// One node's link: see the module docs.
pub(crate) struct Link {
    pub(crate) node: NodeId,
    pub(crate) name: String,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) call_timeout: Duration,
    /// Set once the runtime has taken the node (weak: the runtime holds this link).
    runtime: OnceLock<Weak<RuntimeShared>>,
    /// The next sequence number per receiving node; publishes happen under this lock.
    outgoing: Mutex<BTreeMap<NodeId, u64>>,
    /// The last sequence number seen per sending node.
    incoming: Mutex<BTreeMap<NodeId, u64>>,
    pending: Mutex<Pending>,
    /// Nodes found down: never up again (a node number is one incarnation).
    down: Mutex<BTreeSet<NodeId>>,
    /// Woken when a call is added to an empty deadline queue (the agent's timeout task).
    pub(crate) deadline_added: AtomicWaker,
    closed: AtomicBool,
    counters: Counters,
    /// The cluster names this node resolved, and sends waiting for one (`names.rs`).
    pub(crate) names: super::names::NameCache,
    /// The node's liveness lease (`lease.rs`).
    pub(crate) lease: Mutex<super::lease::Lease>,
}

impl Link {
    pub(crate) fn new(
        node: NodeId,
        name: String,
        transport: Arc<dyn Transport>,
        call_timeout: Duration,
        lease: super::lease::Lease,
    ) -> Link {
        Link {
            node,
            name,
            transport,
            call_timeout,
            runtime: OnceLock::new(),
            outgoing: Mutex::default(),
            incoming: Mutex::default(),
            pending: Mutex::default(),
            down: Mutex::default(),
            deadline_added: AtomicWaker::new(),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            names: super::names::NameCache::default(),
            lease: Mutex::new(lease),
        }
    }

    pub(crate) fn set_runtime(&self, runtime: &Arc<RuntimeShared>) {
        let _ = self.runtime.set(Arc::downgrade(runtime));
    }

    pub(crate) fn runtime(&self) -> Option<Arc<RuntimeShared>> {
        self.runtime.get()?.upgrade()
    }

    pub(crate) fn stats(&self) -> NodeStats {
        let c = &self.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        NodeStats {
            frames_sent: get(&c.frames_sent),
            frames_received: get(&c.frames_received),
            lost: get(&c.lost),
            timeouts: get(&c.timeouts),
            node_down: get(&c.node_down),
            dead_letters: get(&c.dead_letters),
        }
    }

    /// Whether this node has fenced itself (`lease.rs`): it may not own cluster names now.
    pub(crate) fn fenced(&self) -> bool {
        lock(&self.lease).fenced
    }

    pub(crate) fn is_down(&self, node: NodeId) -> bool {
        lock(&self.down).contains(&node)
    }

    /// Stops the link: the transport is detached, nothing more goes out or comes in.
    pub(crate) fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            self.transport.detach();
        }
    }

    /// Publishes `body` to `to` with the pair's next sequence number.
    fn publish(&self, to: NodeId, body: Body) -> Result<(), RemoteFailure> {
        if self.closed.load(Ordering::Acquire) {
            return Err(RemoteFailure::Unreachable("this node has left its cluster".into()));
        }
        let mut outgoing = lock(&self.outgoing);
        let sequence = outgoing.get(&to).copied().unwrap_or(1);
        let frame = Frame { from: self.node, sequence, body };
        let bytes = frame.encode().map_err(|e| RemoteFailure::NotSerializable(e.to_string()))?;
        self.transport.publish(to, bytes).map_err(|e| RemoteFailure::Unreachable(e.to_string()))?;
        outgoing.insert(to, sequence + 1);
        self.counters.frames_sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn forward_request(&self, runtime: &Arc<RuntimeShared>, to: Address, request: Envelope) {
        let Envelope::Request { from, session, command, args, .. } = request else { return };
        let node = to.node();
        let failure = if self.is_down(node) {
            Err(RemoteFailure::Down)
        } else {
            if session != 0 {
                self.add_pending(runtime, from, session, to, &command);
            }
            let body = Body::Request { from, to, session, command: command.to_string(), args };
            self.publish(node, body)
        };
        let Err(failure) = failure else { return };
        if session == 0 {
            self.counters.dead_letters.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = "cluster_dead_letter", node = %self.node, to = %to, command = %command, "send to {to} cannot leave {}: {failure:?}", self.node);
            runtime.dead_letter(from, to, &command);
            return;
        }
        lock(&self.pending).remove((from, session));
        let error = failure.into_error(to, command.to_string());
        runtime.deliver(from, Envelope::Response { session, result: Err(error) });
    }

    fn add_pending(&self, runtime: &RuntimeShared, from: Address, session: u64, to: Address, command: &str) {
        let deadline = runtime.executor.now().saturating_add(self.call_timeout);
        let was_empty = {
            let mut pending = lock(&self.pending);
            let call = PendingCall { target: to, command: command.to_owned(), deadline };
            pending.calls.insert((from, session), call);
            pending.deadlines.insert((deadline, from, session));
            pending.deadlines.len() == 1
        };
        if was_empty {
            self.deadline_added.wake();
        }
    }

    fn forward_answer(&self, to: Address, session: u64, result: Result<crate::core::Value, CallError>) {
        let result = result.map_err(RemoteError::Call);
        let failed = match self.publish(to.node(), Body::Answer { to, session, result }) {
            Err(RemoteFailure::NotSerializable(message)) => {
                let result = Err(RemoteError::NotSerializable(message));
                self.publish(to.node(), Body::Answer { to, session, result })
            }
            other => other,
        };
        if let Err(failure) = failed {
            tracing::warn!(event = "cluster_answer_lost", node = %self.node, to = %to, "an answer to {to} cannot leave {}: {failure:?}; its caller will time out", self.node);
        }
    }

    /// The earliest deadline still queued, after failing every call whose deadline is `now` or
    /// earlier with [`CallErrorKind::RemoteTimeout`].
    pub(crate) fn expire(&self, runtime: &Arc<RuntimeShared>, now: Duration) -> Option<Duration> {
        let mut expired = Vec::new();
        let next = {
            let mut pending = lock(&self.pending);
            while let Some(&(deadline, caller, session)) = pending.deadlines.first() {
                if deadline > now {
                    break;
                }
                if let Some(call) = pending.remove((caller, session)) {
                    expired.push(((caller, session), call));
                }
            }
            pending.deadlines.first().map(|(deadline, ..)| *deadline)
        };
        for ((caller, session), call) in expired {
            self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            let kind = CallErrorKind::RemoteTimeout {
                node: call.target.node(),
                address: call.target,
                command: call.command,
                after: self.call_timeout,
            };
            runtime.deliver(caller, Envelope::Response { session, result: Err(kind.into()) });
        }
        next
    }

    /// Tells `nodes` that this node is leaving (best effort: a lost frame leaves them to find
    /// out by its liveness key).
    pub(crate) fn say_leaving(&self, nodes: &[NodeId]) {
        for &node in nodes.iter().filter(|&&n| n != self.node) {
            let _ = self.publish(node, Body::Leaving);
        }
    }

    /// The nodes this node has exchanged frames with.
    pub(crate) fn peers(&self) -> Vec<NodeId> {
        let mut peers: BTreeSet<NodeId> = lock(&self.outgoing).keys().copied().collect();
        peers.extend(lock(&self.incoming).keys().copied());
        peers.into_iter().collect()
    }

    /// Fails every pending call with [`CallErrorKind::ClusterUnreachable`] (the node left).
    pub(crate) fn fail_all_pending(&self, runtime: &Arc<RuntimeShared>, reason: &str) {
        let calls = std::mem::take(&mut *lock(&self.pending)).calls;
        for ((caller, session), call) in calls {
            let (node, address, command) = (call.target.node(), call.target, call.command);
            let kind = CallErrorKind::ClusterUnreachable { node, address, command, reason: reason.to_owned() };
            runtime.deliver(caller, Envelope::Response { session, result: Err(kind.into()) });
        }
    }

    /// Whether some call's deadline is queued.
    pub(crate) fn has_deadlines(&self) -> bool {
        !lock(&self.pending).deadlines.is_empty()
    }

    /// Nodes some pending call waits on.
    pub(crate) fn awaited_nodes(&self) -> BTreeSet<NodeId> {
        lock(&self.pending).calls.values().map(|call| call.target.node()).collect()
    }

    /// `node` is gone: every call pending on it fails with [`CallErrorKind::NodeDown`], and
    /// every later message to it fails at once.
    pub(crate) fn node_down(&self, runtime: &Arc<RuntimeShared>, node: NodeId) {
        if !lock(&self.down).insert(node) {
            return;
        }
        tracing::warn!(event = "node_down", node = %self.node, down = %node, "{node} is down (seen from {})", self.node);
        let failed: Vec<_> = {
            let mut pending = lock(&self.pending);
            let keys: Vec<_> = pending.calls.iter().filter(|(_, c)| c.target.node() == node).map(|(k, _)| *k).collect();
            keys.into_iter().filter_map(|k| pending.remove(k).map(|c| (k, c))).collect()
        };
        for ((caller, session), call) in failed {
            self.counters.node_down.fetch_add(1, Ordering::Relaxed);
            let kind = CallErrorKind::NodeDown { node, address: call.target, command: call.command };
            runtime.deliver(caller, Envelope::Response { session, result: Err(kind.into()) });
        }
    }

    /// A frame came in (see the module docs).
    fn receive(&self, runtime: &Arc<RuntimeShared>, bytes: &[u8]) {
        let frame = match Frame::decode(bytes) {
            Ok(frame) => frame,
            Err(problem) => {
                tracing::warn!(event = "cluster_bad_frame", node = %self.node, "{} dropped a malformed frame: {problem}", self.node);
                return;
            }
        };
        self.counters.frames_received.fetch_add(1, Ordering::Relaxed);
        if !self.in_sequence(frame.from, frame.sequence) {
            return;
        }
        match frame.body {
            Body::Request { from, to, session, command, args } if to.node() == self.node => {
                let command = CommandName::Owned(command);
                runtime.deliver(to, Envelope::Request { from, session, command, args, via: None });
            }
            Body::Answer { to, session, result } if to.node() == self.node => {
                let Some(call) = lock(&self.pending).remove((to, session)) else { return };
                let result = result.map_err(|e| match e {
                    RemoteError::Call(e) => e,
                    RemoteError::NotSerializable(message) => {
                        let (node, address, command) = (call.target.node(), call.target, call.command);
                        CallErrorKind::NotSerializable { node, address, command, message }.into()
                    }
                });
                runtime.deliver(to, Envelope::Response { session, result });
            }
            Body::Leaving => self.node_down(runtime, frame.from),
            _ => {
                tracing::warn!(event = "cluster_misrouted", node = %self.node, from = %frame.from, "{} got a frame for another node", self.node)
            }
        }
    }

    /// Checks `sequence` against the sender's last: a gap is counted as loss; an old number
    /// (which a transport must never produce) drops the frame.
    fn in_sequence(&self, from: NodeId, sequence: u64) -> bool {
        let mut incoming = lock(&self.incoming);
        let last = incoming.get(&from).copied().unwrap_or(0);
        if sequence <= last {
            tracing::warn!(event = "cluster_replayed_frame", node = %self.node, from = %from, sequence, last, "{} dropped frame {sequence} from {from}: already past {last}", self.node);
            return false;
        }
        if sequence > last + 1 {
            let lost = sequence - last - 1;
            self.counters.lost.fetch_add(lost, Ordering::Relaxed);
            tracing::warn!(event = "cluster_frames_lost", node = %self.node, from = %from, lost, "{lost} frame(s) from {from} to {} were lost (sequence {} to {})", self.node, last + 1, sequence - 1);
        }
        incoming.insert(from, sequence);
        true
    }
}

/// Why a message could not leave this node.
#[derive(Debug)]
enum RemoteFailure {
    Down,
    NotSerializable(String),
    Unreachable(String),
}

impl RemoteFailure {
    fn into_error(self, to: Address, command: String) -> CallError {
        let (node, address) = (to.node(), to);
        match self {
            RemoteFailure::Down => CallErrorKind::NodeDown { node, address, command },
            RemoteFailure::NotSerializable(message) => {
                CallErrorKind::NotSerializable { node, address, command, message }
            }
            RemoteFailure::Unreachable(reason) => CallErrorKind::ClusterUnreachable { node, address, command, reason },
        }
        .into()
    }
}

impl Remote for Link {
    fn forward(&self, runtime: &Arc<RuntimeShared>, to: Address, envelope: Envelope) {
        match envelope {
            request @ Envelope::Request { .. } => self.forward_request(runtime, to, request),
            Envelope::Response { session, result } => self.forward_answer(to, session, result),
            // Wake-ups, forks and inits are addressed to this node's own services only.
            _ => {}
        }
    }
}

/// The transport's way in: frames go to the link.
pub(crate) struct LinkInbox(pub(crate) Arc<Link>);

impl Inbox for LinkInbox {
    fn frame(&self, frame: Bytes) {
        let Some(runtime) = self.0.runtime() else { return };
        // The transport's thread runs the turns this frame starts while no worker runs one.
        runtime.executor.help(&mut || self.0.receive(&runtime, &frame));
    }

    fn connection(&self, up: bool) {
        let node = self.0.node;
        tracing::warn!(event = "cluster_connection", %node, up, "{node}'s connection to its cluster is {}", if up { "back" } else { "lost" });
    }
}
