//! The node's own system service, `_cluster`: always the first service of a clustered node
//! (local counter 1, so any node reaches it as [`Address::cluster_agent`] without a lookup).
//!
//! It keeps the node's facts in the store fresh and the node's promises kept, all on executor
//! time (virtual in the simulator):
//! - keeps the node's liveness lease (`lease.rs`, K9): rewrites its liveness key every third of
//!   its time to live, fences the node when it cannot, and at each rewrite asks which nodes are
//!   alive: a node some pending call waits on that is not is down, and its calls fail with
//!   `NodeDown` (K5);
//! - fails each pending remote call whose call timeout has passed, in deadline order
//!   (`RemoteTimeout`, K5);
//! - answers other nodes' questions about this node's groups (`directory.rs`) and keeps the
//!   bindings of the cluster-wide names this node started (`names.rs`).
//!
//! Its exit (the runtime shutting down) tells the nodes this one talked with, and detaches the
//! node from its transport.

use std::sync::Arc;

use super::link::Link;
use super::transport::{Bucket, NodeId};
use crate::core::{Ctx, ServiceKind};

/// The agent's kind name.
pub(crate) const AGENT: &str = "_cluster";

/// The agent's state: the link it keeps. Dropped when the agent exits (the runtime shuts
/// down), which tells the nodes this one talked with that it is gone (their calls to it fail
/// with `NodeDown` at once, K8) and closes the link.
pub(crate) struct Agent {
    pub(crate) link: Arc<Link>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.link.say_leaving(&self.link.peers());
        self.link.close();
    }
}

pub(crate) fn agent_kind() -> ServiceKind<Agent> {
    let kind = ServiceKind::new(AGENT, |ctx: Ctx<Agent>, link: Arc<Link>| async move {
        ctx.fork(super::lease::keep_alive(ctx.clone(), link.clone()));
        ctx.fork(super::lease::watch(ctx.clone(), link.clone()));
        ctx.fork(expire_calls(ctx.clone(), link.clone()));
        Ok(Agent { link })
    });
    super::directory::agent_commands(super::names::agent_commands(kind))
}

/// The key of `node` in the liveness bucket (and of its claim in the directory bucket).
pub(crate) fn node_key(node: NodeId) -> String {
    format!("node.{}", node.0)
}

/// The nodes alive, as the liveness bucket says (`None` if the store did not answer).
pub(crate) async fn live_nodes(link: &Link) -> Option<Vec<NodeId>> {
    let keys = link.transport.store().keys(Bucket::Liveness).await.ok()?;
    Some(keys.iter().filter_map(|k| k.strip_prefix("node.")?.parse().ok()).map(NodeId).collect())
}

/// The agent's periodic work after each liveness refresh (`lease.rs`): lists this node's groups
/// in the directory, and fails the calls waiting on nodes no longer alive.
pub(crate) async fn after_refresh(link: &Arc<Link>) {
    if let Err(e) = super::directory::sync_own(link).await {
        tracing::warn!(event = "directory_failed", node = %link.node, "{} could not list its groups: {e}", link.node);
    }
    let awaited = link.awaited_nodes();
    if awaited.is_empty() {
        return;
    }
    let Some(alive) = live_nodes(link).await else { return };
    let Some(runtime) = link.runtime() else { return };
    for node in awaited.into_iter().filter(|n| !alive.contains(n)) {
        link.node_down(&runtime, node);
    }
}

/// Fails the pending calls whose deadline has passed, sleeping until the next one (or until a
/// call is added to an empty queue).
async fn expire_calls(ctx: Ctx<Agent>, link: Arc<Link>) {
    loop {
        let Some(runtime) = link.runtime() else { return };
        let now = ctx.now();
        match link.expire(&runtime, now) {
            Some(deadline) => ctx.sleep(deadline.saturating_sub(now)).await,
            None => {
                drop(runtime);
                futures::future::poll_fn(|cx| {
                    link.deadline_added.register(cx.waker());
                    if link.has_deadlines() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
                })
                .await
            }
        }
    }
}
