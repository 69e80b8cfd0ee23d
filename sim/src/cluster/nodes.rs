//! Simulated nodes: runtimes on the run's one executor, each joined to the cluster through its
//! own [`SimTransport`](super::SimTransport), and what a test does to them as a whole (crash,
//! restart).
//!
//! A crash is the process dying: the node's transport is cut for good (frames in flight from
//! it are lost, nothing reaches it, its liveness key stops being refreshed and expires), then
//! every service of its runtime is killed. A restart is a new process with the same name: a new
//! runtime that joins again and gets a new node number (incarnations are never reused).

use std::ops::Deref;
use std::sync::{Arc, MutexGuard};

use skygroup::Runtime;
use skygroup::cluster::{ClusterConfig, Node, NodeId};

use super::SimCluster;

/// One simulated node: its runtime (a `SimNode` derefs to it) and its cluster membership.
/// Cheap to clone; the runtime shuts down when the last clone and its cluster are gone.
#[derive(Clone)]
pub struct SimNode {
    runtime: Arc<Runtime>,
    node: Node,
    name: String,
}

impl SimNode {
    /// The node's membership (its id, name, stats).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Its node number.
    pub fn id(&self) -> NodeId {
        self.node.id()
    }

    /// The name it joined with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

impl Deref for SimNode {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}

impl std::fmt::Debug for SimNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimNode({} `{}`)", self.node.id(), self.name)
    }
}

impl SimCluster {
    /// A new node called `name` with the default configuration (call timeout 5 s). Panics if it
    /// cannot join (the store unreachable): a test's set-up.
    pub fn node(&self, name: &str) -> SimNode {
        self.node_with(ClusterConfig::new(name))
    }

    /// A new node with `config` (its `node_name` is the name faults address it by).
    pub fn node_with(&self, config: ClusterConfig) -> SimNode {
        let name = config.node_name.clone();
        let runtime = Arc::new(Runtime::with_executor(self.executor.clone()));
        self.executor.add_runtime();
        let node = runtime
            .join_cluster(config, self.transport(&name))
            .unwrap_or_else(|e| panic!("node `{name}` could not join cluster `{}`: {e}", self.name));
        let member = SimNode { runtime, node, name };
        self.members().push(member.clone());
        member
    }

    /// The current incarnation of node `name`.
    pub fn get(&self, name: &str) -> Option<SimNode> {
        self.members().iter().rev().find(|m| m.name == name).cloned()
    }

    /// Crashes node `name`'s current incarnation (see the module docs). False if there is none.
    pub fn crash(&self, name: &str) -> bool {
        let Some(member) = self.get(name) else { return false };
        self.cut_forever(name);
        for service in member.runtime.services() {
            member.runtime.kill(service.address);
        }
        true
    }

    /// A new incarnation of node `name` (after a crash): a new runtime, joined again under a new
    /// node number, with `config`'s call timeout. Define its kinds again before use.
    pub fn restart(&self, config: ClusterConfig) -> SimNode {
        self.node_with(config)
    }

    fn members(&self) -> MutexGuard<'_, Vec<SimNode>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}
