//! [`SimTransport`]: one simulated node's [`Transport`] and [`Store`], over the run's hub
//! (`super::hub`). Store answers are futures that complete when the simulator fires their
//! arrival; the operation is issued when the method is called (like a request already on the
//! wire), not when the future is first polled.
//!
//! The NATS transport's thread may run the turns a frame starts itself (`Executor::help`, while
//! the node's workers are idle); which thread runs a turn is not observable, and the simulator
//! already lets a turn run at the first step after its message arrives, so it models that too.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use skygroup::cluster::{Bucket, Entry, Inbox, NodeId, Store, StoreError, StoreFuture, Transport, TransportError};

use super::hub::Slot;
use super::store::{Answer, Op};
use crate::executor::SimExecutor;

/// A simulated node's transport: frames and store operations through the run's hub, with every
/// delay and loss from the seed. Made by [`SimCluster::transport`](super::SimCluster::transport).
pub struct SimTransport {
    executor: Arc<SimExecutor>,
    endpoint: usize,
    cluster: String,
}

impl SimTransport {
    pub(crate) fn new(executor: Arc<SimExecutor>, cluster: &str, node_name: &str) -> SimTransport {
        let endpoint = executor.cluster_endpoint(node_name);
        SimTransport { executor, endpoint, cluster: cluster.to_owned() }
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        &self.cluster
    }

    fn issue<T: Send + 'static>(&self, bucket: Bucket, op: Op, convert: fn(Answer) -> Option<T>) -> StoreFuture<T> {
        let slot = self.executor.store_issue(self.endpoint, bucket, op);
        Box::pin(StoreReply { slot, convert })
    }
}

impl std::fmt::Debug for SimTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimTransport({}#{})", self.cluster, self.endpoint)
    }
}

impl Transport for SimTransport {
    fn attach(&self, node: NodeId, inbox: Arc<dyn Inbox>) -> Result<(), TransportError> {
        self.executor.cluster_attach(self.endpoint, node, inbox)
    }

    fn publish(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        self.executor.cluster_publish(self.endpoint, to, frame)
    }

    fn store(&self) -> &dyn Store {
        self
    }

    fn detach(&self) {
        self.executor.cluster_detach(self.endpoint);
    }
}

impl Store for SimTransport {
    fn get(&self, bucket: Bucket, key: &str) -> StoreFuture<Option<Entry>> {
        self.issue(bucket, Op::Get { key: key.to_owned() }, |a| match a {
            Answer::Entry(e) => Some(e),
            _ => None,
        })
    }

    fn create(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        self.issue(bucket, Op::Create { key: key.to_owned(), value }, revision)
    }

    fn update(&self, bucket: Bucket, key: &str, value: Bytes, revision_expected: u64) -> StoreFuture<u64> {
        self.issue(bucket, Op::Update { key: key.to_owned(), value, revision: revision_expected }, revision)
    }

    fn put(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        self.issue(bucket, Op::Put { key: key.to_owned(), value }, revision)
    }

    fn delete(&self, bucket: Bucket, key: &str, revision: Option<u64>) -> StoreFuture<()> {
        self.issue(bucket, Op::Delete { key: key.to_owned(), revision }, |a| match a {
            Answer::Done => Some(()),
            _ => None,
        })
    }

    fn keys(&self, bucket: Bucket) -> StoreFuture<Vec<String>> {
        self.issue(bucket, Op::Keys, |a| match a {
            Answer::Keys(keys) => Some(keys),
            _ => None,
        })
    }

    fn liveness_ttl(&self) -> Duration {
        self.executor.state().cluster.store.ttl
    }
}

fn revision(answer: Answer) -> Option<u64> {
    match answer {
        Answer::Revision(r) => Some(r),
        _ => None,
    }
}

/// A store answer on its way.
struct StoreReply<T> {
    slot: Arc<Mutex<Slot>>,
    /// The answer's shape for this operation (`None`: the store answered another shape, a bug).
    convert: fn(Answer) -> Option<T>,
}

impl<T> Future for StoreReply<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.answer.take() {
            Some(answer) => {
                let convert = self.convert;
                Poll::Ready(answer.map(|a| convert(a).expect("the store answers each operation in its shape")))
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
