//! The ordered publish queue: why frames to one node keep their order and `publish` never
//! blocks.
//!
//! Every frame a node publishes goes into one bounded queue; one task drains it onto the node's
//! one NATS connection. NATS core keeps a publisher's order per subject, so frames from this node
//! to any one node arrive in the order they were queued (or are lost across a reconnect, never
//! reordered). The queue is bounded: while the server is gone the client's own buffer fills, the
//! draining task waits, the queue fills, and [`Queue::push`] fails at once instead of blocking
//! the node's service.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::{Client, Subject};
use bytes::Bytes;
use skygroup::cluster::{NodeId, TransportError};
use tokio::sync::mpsc;

/// What goes through the queue: frames, and the marker a flush waits for.
pub(crate) enum Outgoing {
    /// A frame for node `.0`.
    Frame(NodeId, Bytes),
    /// Everything queued before this marker has been handed to the server (or failed): answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The sending side of the queue, kept by the transport.
pub(crate) struct Queue {
    sender: mpsc::Sender<Outgoing>,
    capacity: usize,
    closed: AtomicBool,
    /// Whether the connection is up (kept by the connection-event callback), for error messages.
    pub(crate) connected: Arc<AtomicBool>,
}

/// Counters of the draining task (diagnostics only: the cluster layer counts its own losses by
/// sequence gaps).
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) published: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Queue {
    /// A queue of `capacity` frames and its receiving side, for [`drain`].
    pub(crate) fn new(capacity: usize, connected: Arc<AtomicBool>) -> (Queue, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let queue = Queue { sender, capacity, closed: AtomicBool::new(false), connected };
        (queue, receiver)
    }

    /// Queues a frame for `to`, or fails at once.
    pub(crate) fn push(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        self.sender.try_send(Outgoing::Frame(to, frame)).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => TransportError::Unreachable(format!(
                "the publish queue of {} frames is full (NATS connection {}); frame for {to} not sent",
                self.capacity,
                if self.connected.load(Ordering::Acquire) { "up but slow" } else { "down" },
            )),
            mpsc::error::TrySendError::Closed(_) => TransportError::Closed,
        })
    }

    /// Refuses every later [`Queue::push`].
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Puts a flush marker behind what is queued, waiting (at most `timeout`) for room; the
    /// returned receiver answers once the drainer reached it.
    pub(crate) fn flush_marker(&self, timeout: Duration) -> Option<std::sync::mpsc::Receiver<()>> {
        let (done, wait) = std::sync::mpsc::channel();
        let mut marker = Outgoing::Flush(done);
        let step = Duration::from_millis(5);
        let mut waited = Duration::ZERO;
        loop {
            match self.sender.try_send(marker) {
                Ok(()) => return Some(wait),
                Err(mpsc::error::TrySendError::Full(back)) if waited < timeout => {
                    marker = back;
                    std::thread::sleep(step);
                    waited += step;
                }
                Err(_) => return None,
            }
        }
    }
}

/// The draining task: publishes what the queue holds, in order, on `client`.
pub(crate) async fn drain(
    client: Client,
    cluster: String,
    mut receiver: mpsc::Receiver<Outgoing>,
    counters: Arc<Drained>,
) {
    let mut subjects: HashMap<NodeId, Subject> = HashMap::new();
    let mut batch = Vec::with_capacity(64);
    while receiver.recv_many(&mut batch, 64).await > 0 {
        for outgoing in batch.drain(..) {
            match outgoing {
                Outgoing::Frame(to, frame) => {
                    let subject =
                        subjects.entry(to).or_insert_with(|| Subject::from(node_subject(&cluster, to))).clone();
                    match client.publish(subject, frame).await {
                        Ok(()) => counters.published.fetch_add(1, Ordering::Relaxed),
                        Err(err) => {
                            tracing::warn!(cluster = %cluster, to = %to, error = %err, "NATS publish failed: frame lost");
                            counters.failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
                Outgoing::Flush(done) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
                    let _ = done.send(());
                }
            }
        }
    }
}

/// The subject node `node` of `cluster` receives its frames on.
pub(crate) fn node_subject(cluster: &str, node: NodeId) -> String {
    format!("skygroup.{cluster}.node.{}", node.0)
}
