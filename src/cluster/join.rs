//! Joining a cluster: [`Runtime::join_cluster`] claims a node number, attaches the transport and
//! starts the node's agent.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::agent::{AGENT, agent_kind, node_key};
use super::lease::Lease;
use super::link::{Link, LinkInbox};
use super::transport::{Bucket, NodeId, StoreError, Transport};
use super::{ClusterConfig, Node};
use crate::core::{Address, Args, Runtime, SpawnOptions};
use crate::error::ClusterError;

impl Runtime {
    /// Makes this runtime a node of the cluster `transport` reaches (K1). Blocks until the node
    /// has claimed the smallest free node number (never one used before in the cluster's
    /// life), written its liveness key, attached its transport and started its agent
    /// (`_cluster`, at [`Address::cluster_agent`]). Works in the simulator too (it waits with
    /// [`block_on`](Runtime::block_on)).
    ///
    /// Must come before the runtime starts anything: every address a node hands out carries
    /// its node number, so a runtime that already handed out addresses gets
    /// [`ClusterError::AlreadyStarted`].
    ///
    /// ```
    /// use skygroup::cluster::{ClusterConfig, Loopback};
    /// use skygroup::{Runtime, ServiceKind, Value};
    ///
    /// let net = Loopback::new("docs");
    /// let (a, b) = (Runtime::threaded(1), Runtime::threaded(1));
    /// let node_a = a.join_cluster(ClusterConfig::new("a"), net.transport()).unwrap();
    /// let node_b = b.join_cluster(ClusterConfig::new("b"), net.transport()).unwrap();
    /// b.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) }))
    ///     .unwrap();
    /// let echo = b.spawn("echo", ()).unwrap();
    /// assert_eq!(echo.node(), node_b.id());
    /// let answer = a.block_on(move |ctx| async move { ctx.call(echo, "echo", "hi").await });
    /// assert_eq!(answer.unwrap(), Value::from("hi"));
    /// # drop(node_a);
    /// ```
    pub fn join_cluster(&self, config: ClusterConfig, transport: impl Transport) -> Result<Node, ClusterError> {
        let shared = self.shared();
        let name = config.node_name.clone();
        if shared.remote.get().is_some() {
            return Err(ClusterError::AlreadyJoined { node_name: name, node: shared.node() });
        }
        if shared.addresses_handed_out() != 0 {
            return Err(ClusterError::AlreadyStarted { node_name: name });
        }
        let transport: Arc<dyn Transport> = Arc::new(transport);
        let claiming = (transport.clone(), name.clone());
        let claimed = self
            .try_block_on(move |ctx| async move { claim_node(&*claiming.0, &claiming.1, ctx.now()).await })
            .map_err(|_| ClusterError::Shutdown { node_name: name.clone() })?;
        let (node, lease) = claimed.map_err(|error| match error {
            ClaimError::Store(error) => ClusterError::Store { node_name: name.clone(), error },
            ClaimError::NoneFree => ClusterError::NoFreeNode { node_name: name.clone() },
        })?;
        let link = Arc::new(Link::new(node, name.clone(), transport.clone(), config.call_timeout, lease));
        // The claim itself ran in a main service: those are the addresses handed out so far.
        let handed_out = shared.addresses_handed_out();
        if handed_out.checked_shr(48) != Some(0) || !shared.join_node(node, link.clone(), handed_out) {
            return Err(ClusterError::AlreadyStarted { node_name: name });
        }
        link.set_runtime(shared);
        self.install(agent_kind().into_def());
        let inbox = Arc::new(LinkInbox(link.clone()));
        transport.attach(node, inbox).map_err(|error| ClusterError::Transport { node_name: name.clone(), error })?;
        let agent = shared
            .spawn(AGENT, Args::new(link.clone()), SpawnOptions::default())
            .map_err(|_| ClusterError::Shutdown { node_name: name })?;
        debug_assert_eq!(agent, Address::cluster_agent(node));
        Ok(Node { link })
    }
}

/// Claims the smallest node number no incarnation ever had (`Directory`, `node.<n>`) and writes
/// its liveness key (issued at `now`: the lease starts there).
async fn claim_node(transport: &dyn Transport, name: &str, now: Duration) -> Result<(NodeId, Lease), ClaimError> {
    let store = transport.store();
    let taken = store.keys(Bucket::Directory).await?;
    let taken: std::collections::BTreeSet<u16> =
        taken.iter().filter_map(|k| k.strip_prefix("node.")?.parse().ok()).collect();
    for n in (1..=u16::MAX).filter(|n| !taken.contains(n)) {
        let node = NodeId(n);
        match store.create(Bucket::Directory, &node_key(node), Bytes::from(name.to_owned())).await {
            Ok(_) => {
                let revision = store.put(Bucket::Liveness, &node_key(node), Bytes::from(name.to_owned())).await?;
                return Ok((node, Lease::new(revision, now)));
            }
            Err(StoreError::Exists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ClaimError::NoneFree)
}

/// Why no node number could be claimed.
enum ClaimError {
    Store(StoreError),
    NoneFree,
}

impl From<StoreError> for ClaimError {
    fn from(e: StoreError) -> Self {
        ClaimError::Store(e)
    }
}
