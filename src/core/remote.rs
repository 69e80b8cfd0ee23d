//! The seam between the core and a cluster layer: where a message for another node's address
//! goes.
//!
//! An address carries its node (`address.rs`). A runtime in a cluster holds a [`Remote`] and its
//! own node number ([`RuntimeShared::remote`]); a delivery whose target is not in the local
//! service table and whose node is not this one is handed to [`Remote::forward`] instead of
//! bouncing. So a local delivery pays nothing at all for clusters (the check sits on the path of
//! a message to a missing service), and the core never names the layer that carries frames
//! (as with `naming.rs`, `src/cluster/` answers this trait and the crate root never has to
//! know).

use std::any::Any;
use std::sync::{Arc, OnceLock};

use super::address::{Address, NodeId};
use super::cell::Envelope;
use super::runtime::RuntimeShared;

/// What the core needs from a cluster layer. `Any` so the layer can find its own data again
/// from a runtime (`&**remote as &dyn Any`, then a downcast).
pub(crate) trait Remote: Any + Send + Sync {
    /// `envelope` (a request or a response) is for `to`, on another node. Must not block; must
    /// answer a call that cannot leave this node (the caller gets an error) and count a send
    /// that cannot (a dead letter, G7).
    fn forward(&self, runtime: &Arc<RuntimeShared>, to: Address, envelope: Envelope);
}

/// A runtime's place in a cluster, set once when it joins.
pub(crate) struct Clustered {
    pub(crate) node: NodeId,
    pub(crate) remote: Arc<dyn Remote>,
}

/// The slot in `RuntimeShared`: empty for a runtime not in a cluster.
pub(crate) type RemoteSlot = OnceLock<Clustered>;

impl RuntimeShared {
    /// This runtime's node (`NodeId(0)` outside a cluster).
    pub(crate) fn node(&self) -> NodeId {
        self.remote.get().map_or(NodeId(0), |c| c.node)
    }

    /// Hands `envelope` to the cluster layer if `to` lives on another node; gives it back
    /// otherwise.
    pub(crate) fn forward_remote(self: &Arc<Self>, to: Address, envelope: Envelope) -> Option<Envelope> {
        match self.remote.get() {
            Some(clustered) if to.node() != clustered.node => {
                clustered.remote.forward(self, to, envelope);
                None
            }
            _ => Some(envelope),
        }
    }
}
