//! Simulated clusters: several nodes in one seeded run, their transport and key-value store
//! simulated by one hub (issue 15, design item 8).
//!
//! Every node is a runtime on the run's one executor, joined to the cluster through its own
//! [`SimTransport`]; all transports of a run share one hub (`hub.rs`) inside the executor's
//! state, so frame delays, store answer delays, losses and expiries are decisions and timers of
//! the run like any other (S1, S2). What a test controls, by node name: partitions between two
//! nodes and their heal, a node's disconnect and reconnect, a node's crash. What the seed
//! controls: every delay, and whether a write issued just before a cut reached the store.
//!
//! Loss happens only where NATS core could lose a frame: across a partition, to or from a node
//! cut off or crashed; the store answers every operation, or fails it as unreachable to a node
//! cut off from it.
//!
//! ```
//! use std::time::Duration;
//! use skygroup::cluster::ClusterConfig;
//! use skygroup::{CallErrorKind, ServiceKind, Value};
//! use skygroup_sim::Sim;
//!
//! let sim = Sim::new(7);
//! let cluster = sim.cluster("docs");
//! let timeout = Duration::from_millis(200);
//! let a = cluster.node_with(ClusterConfig::new("a").call_timeout(timeout));
//! let b = cluster.node_with(ClusterConfig::new("b").call_timeout(timeout));
//! b.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
//! let echo = b.spawn("echo", ()).unwrap();
//! cluster.partition("a", "b");
//! let lost = a.block_on(move |ctx| async move { ctx.call(echo, "echo", 1).await });
//! assert!(matches!(lost.unwrap_err().kind(), CallErrorKind::RemoteTimeout { .. }));
//! cluster.heal();
//! let answer = a.block_on(move |ctx| async move { ctx.call(echo, "echo", 2).await });
//! assert_eq!(answer.unwrap(), Value::from(2));
//! assert!(skygroup_sim::oracle::check(&sim.records()).is_empty());
//! ```

mod hub;
mod nodes;
mod store;
#[cfg(test)]
mod tests;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use skygroup::cluster::{Bucket, Entry};

pub(crate) use hub::ClusterState;
pub use hub::ClusterStats;
pub use nodes::SimNode;
pub use transport::SimTransport;

use crate::executor::SimExecutor;
use hub::Link;

/// One simulated cluster over a [`Sim`](crate::Sim)'s executor: makes node transports and
/// plays the network's faults. Get it from [`Sim::cluster`](crate::Sim::cluster).
pub struct SimCluster {
    executor: Arc<SimExecutor>,
    name: String,
    /// Every node made here, crashed ones included (their runtimes live until the cluster is
    /// dropped: a runtime's drop would shut the shared executor down under the others).
    members: std::sync::Mutex<Vec<SimNode>>,
}

impl SimCluster {
    pub(crate) fn new(executor: Arc<SimExecutor>, name: &str) -> SimCluster {
        SimCluster { executor, name: name.to_owned(), members: Default::default() }
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A transport for a new incarnation of the node called `node_name` (a restart makes another
    /// one with the same name; faults by name then hit the newest).
    pub fn transport(&self, node_name: &str) -> SimTransport {
        SimTransport::new(self.executor.clone(), &self.name, node_name)
    }

    /// How long a liveness key lives after its last write (1 s by default). Set it before
    /// nodes join.
    pub fn set_liveness_ttl(&self, ttl: Duration) {
        self.executor.state().cluster.store.ttl = ttl;
    }

    /// Cuts the link between nodes `a` and `b`: frames between them are lost until [`heal`](Self::heal).
    pub fn partition(&self, a: &str, b: &str) {
        self.executor.cluster_partition(a, b);
    }

    /// Ends every partition.
    pub fn heal(&self) {
        self.executor.cluster_heal();
    }

    /// Cuts node `name` off the messaging engine: its publishes and store operations fail, frames
    /// to it are lost; its inbox hears `connection(false)`. False if there is no such node.
    pub fn disconnect(&self, name: &str) -> bool {
        self.executor.cluster_link(name, Link::Disconnected)
    }

    /// Brings node `name` back after [`disconnect`](Self::disconnect) (`connection(true)`).
    pub fn reconnect(&self, name: &str) -> bool {
        self.executor.cluster_link(name, Link::Up)
    }

    /// The transport side of a crash of node `name`: it never sends, receives nor reaches the
    /// store again (its liveness key then expires). False if there is no such node.
    pub fn cut_forever(&self, name: &str) -> bool {
        self.executor.cluster_link(name, Link::Crashed)
    }

    /// Breaks the transport's order promise (frames of one pair may overtake each other): for
    /// tests that the checks catch a broken transport. Not part of the API.
    #[doc(hidden)]
    pub fn reorder_frames(&self, on: bool) {
        self.executor.state().cluster.reorder = on;
    }

    /// Breaks the store's create-if-absent promise (`create` overwrites): for tests that the
    /// checks catch a broken store. Not part of the API.
    #[doc(hidden)]
    pub fn break_create(&self, on: bool) {
        self.executor.state().cluster.store.create_overwrites = on;
    }

    /// What the hub carried so far.
    pub fn stats(&self) -> ClusterStats {
        self.executor.state().cluster.stats
    }

    /// The value of `key` in `bucket` now, as the store holds it (an expired liveness key is
    /// absent). For tests and checks: reading does not go through any node's link.
    pub fn peek(&self, bucket: Bucket, key: &str) -> Option<Entry> {
        let state = self.executor.state();
        state.cluster.store.peek(bucket, key, state.now)
    }
}
