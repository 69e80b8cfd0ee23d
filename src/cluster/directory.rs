//! The cluster's directory of groups (K7): every node's groups, listed from any node, and a
//! name lookup inside a group on another node.
//!
//! Each node keeps its own groups in the store's `Directory` bucket, key `group.<node>.<id>` =
//! the group's label. The group module knows nothing of clusters (the layering), so the node's
//! agent brings the bucket in line with the node's groups at each liveness tick, and
//! [`Node::groups`] does so for its own node before listing: a listing shows this node's groups
//! as they are, and another node's as of its last tick (at most a third of the liveness time
//! to live old). Entries of nodes that are not alive are left out of listings, and removed.
//!
//! [`ClusterGroup::query`] asks the group's node's agent, which runs the local
//! [`Group::query`](crate::Group::query) there (starting the name if need be, G2) and answers
//! the address.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use super::agent::{Agent, live_nodes};
use super::link::Link;
use super::transport::{Bucket, NodeId, StoreError};
use super::{ClusterError, Node};
use crate::core::{Address, CallError, Ctx, Responder, ServiceKind, Value};
use crate::group::groups_of;

/// A group somewhere in the cluster, as [`Node::groups`] lists it (sorted by node, then id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterGroup {
    /// The node it lives on.
    pub node: NodeId,
    /// Its id on that node ([`Group::id`](crate::Group::id)).
    pub id: u64,
    /// Its label.
    pub label: String,
}

impl ClusterGroup {
    /// The address of `name` inside this group, starting it if need be (G2), asked by `ctx`'s
    /// service on any node: the group's node's agent runs the group's own query.
    pub fn query<S: 'static>(
        &self,
        ctx: &Ctx<S>,
        name: &str,
    ) -> impl Future<Output = Result<Address, CallError>> + Send + 'static + use<S> {
        let args = Value::List(vec![Value::Int(self.id as i64), name.into()]);
        let call = ctx.call(Address::cluster_agent(self.node), "_query_group", args);
        async move {
            let answer = call.await?;
            Ok(Address::try_from(answer).expect("the agent answers addresses"))
        }
    }
}

fn group_key(node: NodeId, id: u64) -> String {
    format!("group.{}.{id}", node.0)
}

fn parse_key(key: &str) -> Option<(NodeId, u64)> {
    let (node, id) = key.strip_prefix("group.")?.split_once('.')?;
    Some((NodeId(node.parse().ok()?), id.parse().ok()?))
}

/// Brings this node's entries of the directory in line with its groups.
pub(crate) async fn sync_own(link: &Link) -> Result<(), StoreError> {
    let Some(runtime) = link.runtime() else { return Ok(()) };
    let store = link.transport.store();
    let local: Vec<(u64, String)> = groups_of(&runtime).iter().map(|g| (g.id(), g.label().to_owned())).collect();
    drop(runtime);
    let keys = store.keys(Bucket::Directory).await?;
    let listed: BTreeSet<u64> =
        keys.iter().filter_map(|k| parse_key(k)).filter(|(node, _)| *node == link.node).map(|(_, id)| id).collect();
    for (id, label) in &local {
        if !listed.contains(id) {
            store.put(Bucket::Directory, &group_key(link.node, *id), Bytes::from(label.clone())).await?;
        }
    }
    let live: BTreeSet<u64> = local.iter().map(|(id, _)| *id).collect();
    for id in listed.difference(&live) {
        store.delete(Bucket::Directory, &group_key(link.node, *id), None).await?;
    }
    Ok(())
}

/// Deletes this node's entries (it is leaving).
pub(crate) async fn remove_own(link: &Link) -> Result<(), StoreError> {
    let store = link.transport.store();
    for key in store.keys(Bucket::Directory).await? {
        if parse_key(&key).is_some_and(|(node, _)| node == link.node) {
            store.delete(Bucket::Directory, &key, None).await?;
        }
    }
    Ok(())
}

impl Node {
    /// Every group of the cluster on a live node, sorted by node then id (G11 across nodes,
    /// K7). This node's groups are as they are now; another node's as of its agent's last
    /// liveness tick.
    pub async fn groups(&self) -> Result<Vec<ClusterGroup>, ClusterError> {
        let link = &self.link;
        let failed = |error| ClusterError::Store { node_name: link.name.clone(), error };
        sync_own(link).await.map_err(failed)?;
        let store = link.transport.store();
        let keys = store.keys(Bucket::Directory).await.map_err(failed)?;
        let alive = live_nodes(link).await.ok_or_else(|| ClusterError::Store {
            node_name: link.name.clone(),
            error: StoreError::Unreachable("the liveness bucket did not answer".into()),
        })?;
        let mut groups = Vec::new();
        for key in keys {
            let Some((node, id)) = parse_key(&key) else { continue };
            if !alive.contains(&node) {
                let _ = store.delete(Bucket::Directory, &key, None).await;
                continue;
            }
            if let Ok(Some(entry)) = store.get(Bucket::Directory, &key).await {
                let label = String::from_utf8_lossy(&entry.value).into_owned();
                groups.push(ClusterGroup { node, id, label });
            }
        }
        groups.sort();
        Ok(groups)
    }
}

/// The agent's commands for the directory: `_query_group [id, name]` answers `name`'s address
/// in this node's group `id`.
pub(crate) fn agent_commands(kind: ServiceKind<Agent>) -> ServiceKind<Agent> {
    kind.system_command("_query_group", query_group)
}

async fn query_group(ctx: Ctx<Agent>, args: Value, responder: Responder) {
    let (id, name) = match &args {
        Value::List(items) => match (items.first(), items.get(1)) {
            (Some(Value::Int(id)), Some(Value::Str(name))) => (*id as u64, name.clone()),
            _ => return responder.reply::<Value>(Err(anyhow::anyhow!("expected [group id, name], got {args}"))),
        },
        _ => return responder.reply::<Value>(Err(anyhow::anyhow!("expected [group id, name], got {args}"))),
    };
    let runtime: Arc<_> = ctx.runtime().clone();
    let Some(group) = groups_of(&runtime).into_iter().find(|g| g.id() == id) else {
        return responder.reply::<Value>(Err(anyhow::anyhow!("no group {id} on {}", runtime.node())));
    };
    match group.query(&ctx, &name).await {
        Ok(address) => responder.ok(address),
        Err(e) => responder.fail(e),
    }
}
