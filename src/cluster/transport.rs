//! The seam between a node and its cluster's messaging engine.
//!
//! A node never opens a socket to another node itself (the determinism discipline): what crosses
//! nodes goes through a [`Transport`], which carries opaque frames from node to node, and its
//! [`Store`], a small key-value store with compare-and-set that holds what the whole cluster must
//! agree on (which node owns a cluster-wide name, which nodes are alive, which groups exist where).
//! Two implementations ship: one over NATS (crate `skygroup-nats`: core publish/subscribe for
//! frames, JetStream key-value buckets for the store) and the simulator's, whose every delay,
//! loss, partition and expiry comes from the seed. The cluster layer cannot tell which one it
//! runs on.
//!
//! What a transport promises (the cluster rules in `SEMANTICS.md` rest on it):
//! - frames from one node to one node arrive in the order they were published, or not at all: a
//!   frame may be lost (NATS core loses frames across a reconnect or to a slow consumer), never
//!   duplicated, never reordered. The cluster layer numbers its frames per (sender, receiver) pair
//!   and treats a gap as loss;
//! - [`Transport::publish`] never blocks on the network: it queues the frame or fails at once;
//! - the store is linearizable per key: [`Store::create`] succeeds for exactly one of several
//!   racing creators of an absent key, and [`Store::update`]/[`Store::delete`] with a revision
//!   succeed only if the key still has that revision;
//! - keys of [`Bucket::Liveness`] expire [`Store::liveness_ttl`] after their last write; the keys
//!   of the other buckets never expire.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

/// A node's number in its cluster (defined with [`Address`](crate::Address), which carries it).
pub use crate::core::NodeId;

/// Where a node's frames come in: the cluster layer's side of a [`Transport`].
pub trait Inbox: Send + Sync + 'static {
    /// A frame published to this node arrived. Frames from one sender come in publish order.
    /// Called from the transport's own thread (or the simulator's), never from a runtime's
    /// worker. The cluster layer may run the service turns the frame starts right there, while
    /// none of the node's workers runs one (`Executor::help`: no wake-up of a sleeping worker
    /// per frame), so this thread may run service code for a while (a few turns), and must not
    /// hold a lock that code could need.
    fn frame(&self, frame: Bytes);

    /// The connection to the messaging engine was lost (`up == false`) or is back (`up == true`).
    /// Frames published while it was down may have been lost.
    fn connection(&self, up: bool) {
        let _ = up;
    }
}

/// Carries frames between the nodes of one cluster (see the module docs for its promises).
///
/// One transport value serves one node; it knows its cluster's name (NATS: the subject prefix).
pub trait Transport: Send + Sync + 'static {
    /// Starts handing every frame published to `node` to `inbox`. Called once, when the node
    /// joins, after it has claimed `node` in the store.
    fn attach(&self, node: NodeId, inbox: Arc<dyn Inbox>) -> Result<(), TransportError>;

    /// Queues `frame` for node `to`. Fails at once, without blocking, if it cannot be queued (the
    /// engine is unreachable and its buffer is full, or the transport is closed).
    fn publish(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError>;

    /// The cluster's key-value store.
    fn store(&self) -> &dyn Store;

    /// Stops delivering frames to the attached inbox and flushes what was published. Called once,
    /// when the node leaves or its runtime shuts down.
    fn detach(&self);
}

/// The store's answer, as a future the cluster layer awaits inside its own service (it may
/// complete on the transport's thread; its waker is the service's).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// The store's buckets: one per kind of fact, because they differ in lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Cluster-wide names: key = the name, value = its owner (node and address) or "starting".
    /// Never expires.
    Bindings,
    /// One key per live node, rewritten periodically; expires [`Store::liveness_ttl`] after its
    /// last write, which is how a dead node's bindings are known to be released.
    Liveness,
    /// Node numbers claimed (so an incarnation number is never reused) and the directory of
    /// groups (label, id, node). Never expires.
    Directory,
}

impl Bucket {
    /// The bucket's name (NATS: the key-value bucket, suffixed with the cluster name).
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Bindings => "bindings",
            Bucket::Liveness => "liveness",
            Bucket::Directory => "directory",
        }
    }
}

/// A value in the store and the revision that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Bytes,
    /// The revision of the write that put it there (increases with every write to the bucket).
    pub revision: u64,
}

/// The cluster's key-value store (see the module docs for its promises). Keys are ASCII
/// letters, digits, `-`, `_`, `.` and `=` (NATS key-value's alphabet).
pub trait Store: Send + Sync + 'static {
    /// The value of `key`, if it has one.
    fn get(&self, bucket: Bucket, key: &str) -> StoreFuture<Option<Entry>>;

    /// Writes `key` only if it has no value; [`StoreError::Exists`] otherwise. Returns the new
    /// revision.
    fn create(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64>;

    /// Writes `key` only if its revision is still `revision`; [`StoreError::Conflict`] otherwise.
    fn update(&self, bucket: Bucket, key: &str, value: Bytes, revision: u64) -> StoreFuture<u64>;

    /// Writes `key` whatever it held.
    fn put(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64>;

    /// Removes `key`; with `Some(revision)` only if its revision is still that
    /// ([`StoreError::Conflict`] otherwise). Removing an absent key is not an error.
    fn delete(&self, bucket: Bucket, key: &str, revision: Option<u64>) -> StoreFuture<()>;

    /// Every key of `bucket` that has a value, sorted.
    fn keys(&self, bucket: Bucket) -> StoreFuture<Vec<String>>;

    /// How long a [`Bucket::Liveness`] key lives after its last write.
    fn liveness_ttl(&self) -> Duration;
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The messaging engine cannot be reached and the frame could not be buffered.
    #[error("the cluster's messaging engine is unreachable: {0}")]
    Unreachable(String),
    /// The transport was detached.
    #[error("the transport is closed")]
    Closed,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// [`Store::create`] of a key that has a value.
    #[error("key `{key}` already exists in bucket `{bucket}`")]
    Exists {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
    },
    /// A write or delete with a revision the key no longer has.
    #[error("key `{key}` in bucket `{bucket}` changed (expected revision {expected})")]
    Conflict {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: u64,
    },
    /// The store cannot be reached (or did not answer in time).
    #[error("the cluster's store is unreachable: {0}")]
    Unreachable(String),
}
