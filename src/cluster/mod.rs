//! Many nodes, one cluster: the seam to the messaging engine that carries what crosses nodes.
//!
//! A node is one [`Runtime`](crate::Runtime) joined to a cluster. A group lives whole on one
//! node, so its traffic stays local; what crosses nodes is calls and sends to another node's
//! addresses, a manager reaching groups on other nodes, and cluster-wide names. The engine is
//! not home-made: frames and the shared store go through a [`Transport`], implemented over NATS
//! by the `skygroup-nats` crate and by the simulator for seeded runs.

mod transport;

pub use transport::{Bucket, Entry, Inbox, NodeId, Store, StoreError, StoreFuture, Transport, TransportError};
