//! The ordered publish queue: why frames to one node keep their order and `publish` never
//! blocks.
//!
//! Every frame a node publishes goes to its one NATS connection through the async-nats client's
//! command channel, in publish order. NATS core keeps a publisher's order per subject, so frames
//! from this node to any one node arrive in the order they were published (or are lost across a
//! reconnect, never reordered).
//!
//! The fast path hands the frame to the client on the publishing thread: one poll of the
//! client's `publish`, which completes at once while its channel has room (nothing is sent when
//! it does not). It is taken only while nothing waits in the queue, so a frame never overtakes an
//! earlier one; the cluster layer publishes under its per-node lock, so "earlier" is well
//! defined. Otherwise the frame goes into one bounded queue that a task of the transport's
//! runtime drains onto the client. While the server is gone the client's channel fills, the
//! task waits, the queue fills, and [`Queue::push`] fails at once instead of blocking the node's
//! service.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
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

/// The sending side, kept by the transport.
pub(crate) struct Queue {
    client: Client,
    cluster: String,
    /// Each node's subject, made once.
    subjects: Mutex<HashMap<NodeId, Subject>>,
    sender: mpsc::Sender<Outgoing>,
    capacity: usize,
    closed: AtomicBool,
    /// Whether the connection is up (kept by the connection-event callback), for error messages.
    pub(crate) connected: Arc<AtomicBool>,
    counters: Arc<Drained>,
}

/// What went out (diagnostics: the cluster layer counts its own losses by sequence gaps), and
/// how many frames wait in the queue (the fast path is closed while any do).
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) published: AtomicU64,
    pub(crate) failed: AtomicU64,
    backlog: AtomicUsize,
}

impl Queue {
    /// A queue of `capacity` frames onto `client`, and its receiving side, for [`drain`].
    pub(crate) fn new(
        client: Client,
        cluster: &str,
        capacity: usize,
        connected: Arc<AtomicBool>,
        counters: Arc<Drained>,
    ) -> (Queue, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let subjects = Mutex::new(HashMap::new());
        let closed = AtomicBool::new(false);
        let queue =
            Queue { client, cluster: cluster.to_owned(), subjects, sender, capacity, closed, connected, counters };
        (queue, receiver)
    }

    /// Hands a frame for `to` to the client at once (the fast path, while nothing is queued),
    /// or queues it, or fails at once.
    pub(crate) fn push(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        if self.counters.backlog.load(Ordering::Acquire) == 0 {
            let publish = self.client.publish(self.subject(to), frame.clone());
            match std::pin::pin!(publish).poll(&mut Context::from_waker(futures::task::noop_waker_ref())) {
                Poll::Ready(Ok(())) => {
                    self.counters.published.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Poll::Ready(Err(err)) => {
                    return Err(TransportError::Unreachable(format!(
                        "cluster `{}`: the frame for {to} cannot be published: {err}",
                        self.cluster
                    )));
                }
                // The client's channel is full: nothing was sent; the frame waits in the queue.
                Poll::Pending => {}
            }
        }
        self.counters.backlog.fetch_add(1, Ordering::AcqRel);
        self.sender.try_send(Outgoing::Frame(to, frame)).map_err(|err| {
            self.counters.backlog.fetch_sub(1, Ordering::AcqRel);
            match err {
                mpsc::error::TrySendError::Full(_) => TransportError::Unreachable(format!(
                    "the publish queue of {} frames is full (NATS connection {}); frame for {to} not sent",
                    self.capacity,
                    if self.connected.load(Ordering::Acquire) { "up but slow" } else { "down" },
                )),
                mpsc::error::TrySendError::Closed(_) => TransportError::Closed,
            }
        })
    }

    fn subject(&self, to: NodeId) -> Subject {
        let mut subjects = self.subjects.lock().unwrap_or_else(PoisonError::into_inner);
        subjects.entry(to).or_insert_with(|| Subject::from(node_subject(&self.cluster, to))).clone()
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
                    counters.backlog.fetch_sub(1, Ordering::AcqRel);
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
