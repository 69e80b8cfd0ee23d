//! An in-process [`Transport`]: the nodes of one cluster as runtimes of one process, for threaded
//! tests and examples.
//!
//! Each attached node gets a channel and a thread that hands its frames to its inbox, so frames
//! from one node to another arrive in publish order, on the transport's own thread (as with
//! NATS). The store is a map under a lock with real time-to-live for liveness keys. A test can
//! break things the way a real network would: lose the next frames between two nodes, make a
//! node's publishes fail, or crash a node (its frames and store writes vanish, so its liveness
//! key expires).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::transport::{Bucket, Entry, Inbox, NodeId, Store, StoreError, StoreFuture, Transport, TransportError};
use crate::core::lock;

/// The liveness time to live unless [`Loopback::with_ttl`] says otherwise.
const DEFAULT_TTL: Duration = Duration::from_secs(3);

/// One in-process cluster: hands out a [`LoopbackTransport`] per node.
///
/// ```
/// use skygroup::cluster::{ClusterConfig, Loopback};
/// let net = Loopback::new("game");
/// let rt = skygroup::Runtime::threaded(1);
/// let node = rt.join_cluster(ClusterConfig::new("login"), net.transport()).unwrap();
/// assert_eq!(node.id().0, 1);
/// ```
#[derive(Clone)]
pub struct Loopback {
    hub: Arc<Hub>,
}

struct Hub {
    cluster: String,
    ttl: Duration,
    ports: Mutex<BTreeMap<NodeId, mpsc::Sender<Bytes>>>,
    store: Mutex<BTreeMap<(Bucket, String), Stored>>,
    revision: AtomicU64,
    faults: Mutex<Faults>,
}

struct Stored {
    value: Bytes,
    revision: u64,
    written: Instant,
}

#[derive(Default)]
struct Faults {
    /// Frames still to drop, per (sender, receiver).
    lose: BTreeMap<(NodeId, NodeId), u64>,
    /// Nodes whose publishes fail.
    unreachable: std::collections::BTreeSet<NodeId>,
    /// Crashed nodes: their frames and writes vanish.
    crashed: std::collections::BTreeSet<NodeId>,
}

impl Loopback {
    /// A cluster named `cluster` whose liveness keys live 3 s.
    pub fn new(cluster: &str) -> Loopback {
        Loopback::with_ttl(cluster, DEFAULT_TTL)
    }

    /// A cluster whose liveness keys live `ttl` after their last write.
    pub fn with_ttl(cluster: &str, ttl: Duration) -> Loopback {
        let hub = Hub {
            cluster: cluster.to_owned(),
            ttl,
            ports: Mutex::default(),
            store: Mutex::default(),
            revision: AtomicU64::new(0),
            faults: Mutex::default(),
        };
        Loopback { hub: Arc::new(hub) }
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.hub.cluster
    }

    /// A transport for one more node (give it to [`Runtime::join_cluster`](crate::Runtime::join_cluster)).
    pub fn transport(&self) -> LoopbackTransport {
        LoopbackTransport { hub: self.hub.clone(), node: OnceLock::new() }
    }

    /// Silently drops the next `frames` frames `from` publishes to `to` (as NATS core may across
    /// a reconnect).
    pub fn lose_next(&self, from: NodeId, to: NodeId, frames: u64) {
        *lock(&self.hub.faults).lose.entry((from, to)).or_default() += frames;
    }

    /// Makes `node`'s publishes fail (`unreachable`) or work again.
    pub fn set_unreachable(&self, node: NodeId, unreachable: bool) {
        let mut faults = lock(&self.hub.faults);
        if unreachable {
            faults.unreachable.insert(node);
        } else {
            faults.unreachable.remove(&node);
        }
    }

    /// Crashes `node`: frames to and from it vanish, its store writes are lost, so its liveness
    /// key expires; its runtime runs on, cut off.
    pub fn crash(&self, node: NodeId) {
        lock(&self.hub.faults).crashed.insert(node);
        lock(&self.hub.ports).remove(&node);
    }
}

/// One node's side of a [`Loopback`] cluster.
pub struct LoopbackTransport {
    hub: Arc<Hub>,
    node: OnceLock<NodeId>,
}

impl LoopbackTransport {
    fn crashed(&self) -> bool {
        self.node.get().is_some_and(|node| lock(&self.hub.faults).crashed.contains(node))
    }
}

impl Transport for LoopbackTransport {
    fn attach(&self, node: NodeId, inbox: Arc<dyn Inbox>) -> Result<(), TransportError> {
        let (tx, rx) = mpsc::channel::<Bytes>();
        self.node.set(node).map_err(|_| TransportError::Unreachable("attached twice".into()))?;
        lock(&self.hub.ports).insert(node, tx);
        std::thread::Builder::new()
            .name(format!("loopback-{node}"))
            .spawn(move || rx.into_iter().for_each(|frame| inbox.frame(frame)))
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        Ok(())
    }

    fn publish(&self, to: NodeId, frame: Bytes) -> Result<(), TransportError> {
        let Some(&from) = self.node.get() else { return Err(TransportError::Closed) };
        {
            let mut faults = lock(&self.hub.faults);
            if faults.unreachable.contains(&from) {
                return Err(TransportError::Unreachable(format!("{from} is cut off (loopback fault)")));
            }
            if faults.crashed.contains(&from) || faults.crashed.contains(&to) {
                return Ok(());
            }
            if let Some(left) = faults.lose.get_mut(&(from, to)).filter(|left| **left > 0) {
                *left -= 1;
                return Ok(());
            }
        }
        match lock(&self.hub.ports).get(&to) {
            Some(port) => {
                let _ = port.send(frame);
                Ok(())
            }
            None => Ok(()), // nobody listens: lost, as a NATS publish to an empty subject
        }
    }

    fn store(&self) -> &dyn Store {
        self
    }

    fn detach(&self) {
        if let Some(node) = self.node.get() {
            lock(&self.hub.ports).remove(node);
        }
    }
}

impl Hub {
    fn live(&self, bucket: Bucket, stored: &Stored) -> bool {
        bucket != Bucket::Liveness || stored.written.elapsed() < self.ttl
    }

    fn current(&self, bucket: Bucket, key: &str) -> Option<Entry> {
        let store = lock(&self.store);
        let stored = store.get(&(bucket, key.to_owned())).filter(|s| self.live(bucket, s))?;
        Some(Entry { value: stored.value.clone(), revision: stored.revision })
    }

    /// Writes `key` if `check` accepts its current entry.
    fn write(
        &self,
        bucket: Bucket,
        key: &str,
        value: Option<Bytes>,
        check: impl FnOnce(Option<&Entry>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut store = lock(&self.store);
        let slot = (bucket, key.to_owned());
        let current = store
            .get(&slot)
            .filter(|s| self.live(bucket, s))
            .map(|s| Entry { value: s.value.clone(), revision: s.revision });
        check(current.as_ref())?;
        let revision = self.revision.fetch_add(1, Ordering::SeqCst) + 1;
        match value {
            Some(value) => store.insert(slot, Stored { value, revision, written: Instant::now() }),
            None => store.remove(&slot),
        };
        Ok(revision)
    }
}

fn ready<T: Send + 'static>(result: Result<T, StoreError>) -> StoreFuture<T> {
    Box::pin(std::future::ready(result))
}

impl LoopbackTransport {
    /// A crashed node's writes fail (nobody hears them).
    fn writable(&self) -> Result<(), StoreError> {
        if self.crashed() { Err(StoreError::Unreachable("this node crashed (loopback fault)".into())) } else { Ok(()) }
    }
}

impl Store for LoopbackTransport {
    fn get(&self, bucket: Bucket, key: &str) -> StoreFuture<Option<Entry>> {
        ready(Ok(self.hub.current(bucket, key)))
    }

    fn create(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        let exists = |current: Option<&Entry>| match current {
            Some(_) => Err(StoreError::Exists { bucket: bucket.name(), key: key.to_owned() }),
            None => Ok(()),
        };
        ready(self.writable().and_then(|()| self.hub.write(bucket, key, Some(value), exists)))
    }

    fn update(&self, bucket: Bucket, key: &str, value: Bytes, revision: u64) -> StoreFuture<u64> {
        let check = conflict_unless(bucket, key, revision);
        ready(self.writable().and_then(|()| self.hub.write(bucket, key, Some(value), check)))
    }

    fn put(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        ready(self.writable().and_then(|()| self.hub.write(bucket, key, Some(value), |_| Ok(()))))
    }

    fn delete(&self, bucket: Bucket, key: &str, revision: Option<u64>) -> StoreFuture<()> {
        let result = self.writable().and_then(|()| match revision {
            Some(revision) => self.hub.write(bucket, key, None, conflict_unless(bucket, key, revision)),
            None => self.hub.write(bucket, key, None, |_| Ok(())),
        });
        ready(result.map(|_| ()))
    }

    fn keys(&self, bucket: Bucket) -> StoreFuture<Vec<String>> {
        let store = lock(&self.hub.store);
        let keys = store
            .iter()
            .filter(|((b, _), stored)| *b == bucket && self.hub.live(bucket, stored))
            .map(|((_, key), _)| key.clone())
            .collect();
        ready(Ok(keys))
    }

    fn liveness_ttl(&self) -> Duration {
        self.hub.ttl
    }
}

/// A check that the key still has `revision`.
fn conflict_unless(bucket: Bucket, key: &str, revision: u64) -> impl FnOnce(Option<&Entry>) -> Result<(), StoreError> {
    let key = key.to_owned();
    move |current| match current {
        Some(entry) if entry.revision == revision => Ok(()),
        _ => Err(StoreError::Conflict { bucket: bucket.name(), key, expected: revision }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(future: StoreFuture<T>) -> Result<T, StoreError> {
        futures::executor::block_on(future)
    }

    // checks the store's promises (module docs of `transport.rs`): create once, CAS by revision,
    // liveness keys expire.
    #[test]
    fn the_store_keeps_the_transport_contract() {
        let net = Loopback::with_ttl("store", Duration::from_millis(30));
        let (a, b) = (net.transport(), net.transport());
        let first = now(a.create(Bucket::Bindings, "x", Bytes::from_static(b"a"))).unwrap();
        assert!(matches!(
            now(b.create(Bucket::Bindings, "x", Bytes::from_static(b"b"))),
            Err(StoreError::Exists { .. })
        ));
        assert!(matches!(
            now(b.update(Bucket::Bindings, "x", Bytes::new(), first + 1)),
            Err(StoreError::Conflict { .. })
        ));
        let second = now(b.update(Bucket::Bindings, "x", Bytes::from_static(b"b"), first)).unwrap();
        assert!(second > first);
        assert!(matches!(now(a.delete(Bucket::Bindings, "x", Some(first))), Err(StoreError::Conflict { .. })));
        now(a.delete(Bucket::Bindings, "x", Some(second))).unwrap();
        assert_eq!(now(a.get(Bucket::Bindings, "x")).unwrap(), None);
        now(a.put(Bucket::Liveness, "node.1", Bytes::new())).unwrap();
        now(a.put(Bucket::Directory, "node.1", Bytes::new())).unwrap();
        assert_eq!(now(b.keys(Bucket::Liveness)).unwrap(), ["node.1"]);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(now(b.keys(Bucket::Liveness)).unwrap(), Vec::<String>::new());
        assert_eq!(now(b.keys(Bucket::Directory)).unwrap(), ["node.1"]);
    }
}
