//! Many nodes, one cluster: what crosses nodes, and the seam to the messaging engine that
//! carries it.
//!
//! A node is one [`Runtime`](crate::Runtime) joined to a cluster
//! ([`Runtime::join_cluster`](crate::Runtime::join_cluster)). A group lives whole on one node,
//! so its traffic stays local; what crosses nodes is calls and sends to another node's
//! addresses (every address carries its node, [`Address::node`](crate::Address::node)), a
//! manager reaching groups on other nodes, and cluster-wide names. The cluster rules K1.. of
//! `SEMANTICS.md` say what holds across nodes. The engine is not home-made: frames and the
//! shared store go through a [`Transport`], implemented over NATS by the `skygroup-nats` crate,
//! by the simulator for seeded runs, and in process by [`Loopback`] for tests.
//!
//! Inside: `frame.rs` (the bytes), `link.rs` (messages out and frames in, pending calls, loss
//! counting), `agent.rs` (the node's `_cluster` service: liveness, timeouts, node deaths),
//! `lease.rs` (the liveness lease: refreshes, fencing),
//! `join.rs`, `names.rs` (cluster-wide names), `directory.rs` (the groups of the cluster).

mod agent;
mod directory;
mod frame;
mod join;
mod lease;
mod link;
mod loopback;
mod names;
mod transport;

use std::sync::Arc;
use std::time::Duration;

pub use crate::error::ClusterError;
pub use directory::ClusterGroup;
pub use link::NodeStats;
pub use loopback::{Loopback, LoopbackTransport};
pub use transport::{Bucket, Entry, Inbox, NodeId, Store, StoreError, StoreFuture, Transport, TransportError};

/// How a runtime joins a cluster; the cluster's name is its transport's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The node's name, for people: logs, the directory. Need not be unique.
    pub node_name: String,
    /// How long a call to another node waits for its answer before it fails with
    /// [`CallErrorKind::RemoteTimeout`](crate::CallErrorKind::RemoteTimeout) (default 5 s).
    pub call_timeout: Duration,
}

impl ClusterConfig {
    /// A node named `node_name` with the default call timeout.
    pub fn new(node_name: impl Into<String>) -> ClusterConfig {
        ClusterConfig { node_name: node_name.into(), call_timeout: Duration::from_secs(5) }
    }

    /// With `call_timeout` instead of the default.
    pub fn call_timeout(mut self, call_timeout: Duration) -> ClusterConfig {
        self.call_timeout = call_timeout;
        self
    }
}

/// A runtime's membership of its cluster, from [`Runtime::join_cluster`](crate::Runtime::join_cluster).
/// Cheap to clone.
#[derive(Clone)]
pub struct Node {
    link: Arc<link::Link>,
}

impl Node {
    /// This node's number (every address it hands out carries it).
    pub fn id(&self) -> NodeId {
        self.link.node
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// What this node counted of its cluster traffic.
    pub fn stats(&self) -> NodeStats {
        self.link.stats()
    }

    /// Leaves the cluster: tells the live nodes, removes this node's liveness key, the cluster names it owns and its
    /// groups from the directory (so other nodes see it gone at once instead of after its
    /// liveness time to live: their calls to it fail with `NodeDown`, its names start afresh
    /// elsewhere), fails this node's calls still waiting on other nodes, and detaches the
    /// transport. The runtime runs on, alone; its node number is never used again (K1).
    pub async fn leave(&self) -> Result<(), ClusterError> {
        let link = &self.link;
        let failed = |error| ClusterError::Store { node_name: link.name.clone(), error };
        let store = link.transport.store();
        store.delete(Bucket::Liveness, &agent::node_key(link.node), None).await.map_err(failed)?;
        names::release_owned(link).await.map_err(failed)?;
        directory::remove_own(link).await.map_err(failed)?;
        if let Some(alive) = agent::live_nodes(link).await {
            link.say_leaving(&alive);
        }
        link.close();
        if let Some(runtime) = link.runtime() {
            link.fail_all_pending(&runtime, "this node has left its cluster");
        }
        Ok(())
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({} `{}`)", self.link.node, self.link.name)
    }
}
