//! The node's liveness lease (K9): how a node keeps its liveness key, and what it does when it
//! can no longer be sure the key is there.
//!
//! The others treat a node as dead once its liveness key has expired, and then start its
//! cluster names afresh elsewhere (G9). A node cut off from the store cannot see that moment
//! come, so it keeps its own clock: the key of a write issued at `t` lives until `t + ttl` at
//! the earliest, and a node whose last *successful* refresh was issued more than
//! [`FENCE_FRACTION`] of the time to live ago **fences itself**: it kills the instances it owns
//! under cluster names and starts none until a refresh succeeds again (ZooKeeper/Curator's
//! "suspended": stop acting as the owner before the lease can have run out). The margin (a third
//! of the time to live) covers late timers and a store answer on its way.
//!
//! Refreshes are compare-and-set on the key's last revision, so a node notices when its key
//! expired (the write conflicts with an absent key) instead of silently writing it back. A node
//! whose key expired has been declared dead: it does not come back under the same node number
//! (every address it handed out carries that number, and the others hold it down for good, K1);
//! it leaves the cluster for good as [`Node::leave`](super::Node::leave) would (Curator's
//! "lost", Akka's downed member), and its runtime runs on alone. A process that wants back in
//! restarts and joins as a new node.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::agent::{Agent, live_nodes, node_key};
use super::link::Link;
use super::transport::{Bucket, StoreError};
use crate::core::{Ctx, lock};

/// The share of the liveness time to live after which a node that could not refresh its key
/// fences itself: the key may live as little as the whole time to live after the last
/// successful refresh was issued.
pub(crate) const FENCE_FRACTION: f64 = 2.0 / 3.0;

/// What a node knows of its own liveness key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    /// The revision of its last successful write (the next refresh expects it).
    pub(crate) revision: u64,
    /// When that write was issued (executor time): the key lives at least `ttl` after.
    pub(crate) refreshed_at: Duration,
    /// The node has fenced itself: it owns no instance under a cluster name and starts none.
    pub(crate) fenced: bool,
    /// Its key expired under it: the node is out of the cluster for good.
    pub(crate) lost: bool,
}

impl Lease {
    pub(crate) fn new(revision: u64, refreshed_at: Duration) -> Lease {
        Lease { revision, refreshed_at, fenced: false, lost: false }
    }
}

/// How long after its last successful refresh a node fences itself.
pub(crate) fn fence_after(ttl: Duration) -> Duration {
    ttl.mul_f64(FENCE_FRACTION)
}

/// Refreshes the liveness key (compare-and-set) every third of its time to live, sooner again
/// after a failed try; after each, the agent's other periodic work (`after_refresh`). Ends when
/// the key is found expired (the node leaves for good).
pub(crate) async fn keep_alive(ctx: Ctx<Agent>, link: Arc<Link>) {
    let store = link.transport.store();
    let period = (store.liveness_ttl() / 3).max(Duration::from_millis(1));
    let key = node_key(link.node);
    let mut wait = period;
    loop {
        ctx.sleep(wait).await;
        let (revision, issued) = (lock(&link.lease).revision, ctx.now());
        match store.update(Bucket::Liveness, &key, Bytes::from(link.name.clone()), revision).await {
            Ok(revision) => {
                refreshed(&ctx, &link, revision, issued).await;
                wait = period;
            }
            Err(StoreError::Conflict { .. }) => return lost(&ctx, &link).await,
            Err(e) => {
                tracing::warn!(event = "liveness_failed", node = %link.node, "{} could not refresh its liveness: {e}", link.node);
                wait = (period / 4).max(Duration::from_millis(1));
            }
        }
        super::agent::after_refresh(&link).await;
    }
}

/// A refresh issued at `issued` succeeded: the lease runs from there; a fenced node whose lease
/// is still safe releases the bindings that name it (their instances are dead) and starts names
/// again.
async fn refreshed(ctx: &Ctx<Agent>, link: &Link, revision: u64, issued: Duration) {
    let fenced = {
        let mut lease = lock(&link.lease);
        lease.revision = revision;
        lease.refreshed_at = lease.refreshed_at.max(issued);
        lease.fenced
    };
    let safe = ctx.now() < issued + fence_after(link.transport.store().liveness_ttl());
    if fenced && safe && super::names::release_owned(link).await.is_ok() {
        lock(&link.lease).fenced = false;
        tracing::info!(event = "node_unfenced", node = %link.node, "{} reached the store again in time: it may own cluster names again", link.node);
    }
}

/// Fences the node each time its last successful refresh gets older than the fence limit.
pub(crate) async fn watch(ctx: Ctx<Agent>, link: Arc<Link>) {
    let limit = fence_after(link.transport.store().liveness_ttl());
    loop {
        let (refreshed_at, fenced, lost) = {
            let lease = lock(&link.lease);
            (lease.refreshed_at, lease.fenced, lease.lost)
        };
        if lost {
            return;
        }
        let now = ctx.now();
        let deadline = refreshed_at + limit;
        if now < deadline {
            ctx.sleep(deadline - now).await;
            continue;
        }
        if !fenced {
            fence(&ctx, &link, "its last liveness refresh is too old");
        }
        ctx.sleep(limit / 4).await;
    }
}

/// Kills the instances this node owns under cluster names and forgets the names it resolved
/// to itself; no name starts here until the lease is safe again.
pub(crate) fn fence(ctx: &Ctx<Agent>, link: &Link, why: &str) {
    lock(&link.lease).fenced = true;
    let owned = std::mem::take(&mut *lock(&link.names.owned));
    tracing::warn!(event = "node_fenced", node = %link.node, owned = owned.len(), "{} fences itself ({why}): it stops {} cluster name instance(s)", link.node, owned.len());
    lock(&link.names.resolved).retain(|_, address| address.node() != link.node);
    for instance in owned.into_values() {
        ctx.kill(instance);
    }
}

/// The key expired under the node: it was declared dead. It fences itself and leaves the
/// cluster for good (best effort with the store: the others release what it held anyway).
async fn lost(ctx: &Ctx<Agent>, link: &Link) {
    tracing::warn!(event = "node_lost", node = %link.node, "{}'s liveness key expired: it was taken for dead and leaves its cluster", link.node);
    fence(ctx, link, "its liveness key expired");
    lock(&link.lease).lost = true;
    let _ = super::names::release_owned(link).await;
    let _ = super::directory::remove_own(link).await;
    let alive = live_nodes(link).await.unwrap_or_else(|| link.peers());
    link.say_leaving(&alive);
    link.close();
    if let Some(runtime) = link.runtime() {
        link.fail_all_pending(&runtime, "this node's liveness key expired: it is out of its cluster");
    }
}
