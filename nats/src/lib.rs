//! A skygroup cluster over NATS: the [`Transport`](skygroup::cluster::Transport) and
//! [`Store`](skygroup::cluster::Store) a node joins its cluster with, on a real `nats-server`.
//!
//! skygroup does not grow a home-made cluster protocol: frames between nodes are NATS core
//! publishes on one subject per node (`skygroup.<cluster>.node.<id>`), and what the whole cluster
//! must agree on (cluster-wide names, live nodes, the directory of groups) lives in three
//! JetStream key-value buckets (`skygroup_<cluster>_<bucket>`). The cluster layer in `skygroup`
//! cannot tell this transport from the simulator's; this crate only keeps the promises written in
//! `skygroup::cluster`'s transport docs:
//! - **order per pair**: every frame a node publishes goes onto its one connection in publish
//!   order (handed to the client at once, or through one ordered queue while the client is
//!   busy), so frames to one node leave (and, NATS core preserving a publisher's order per
//!   subject, arrive) in publish order;
//! - **publish never blocks**: the queue is bounded ([`NatsOptions::publish_buffer`]); a full
//!   queue (the server gone for long enough) fails the publish at once;
//! - **reconnection is automatic** (async-nats reconnects and resubscribes), and the node hears
//!   of it through [`Inbox::connection`](skygroup::cluster::Inbox::connection);
//! - **the store is linearizable per key**: compare-and-set writes are JetStream publishes with
//!   an expected last sequence per subject; liveness keys expire through the bucket's `max_age`.
//!
//! The transport owns a private tokio runtime (one worker thread): the skygroup runtime never
//! runs tokio, and store answers come back as futures any executor can await. The other way
//! round, the transport's thread runs the service turns a frame starts while none of the node's
//! workers runs a turn (`Executor::help`), so a cross-node round trip wakes no parked worker:
//! the caller's next call and the callee's answer are published from the thread that read the
//! frame, as in a raw async-nats request/reply loop.
//!
//! This crate is a workspace member outside the default ones, so the root's `cargo test` builds
//! neither async-nats nor tokio. [`LocalServer`] starts a throw-away `nats-server -js` for tests,
//! examples and benchmarks.

mod options;
mod publish;
mod server;
mod store;
mod transport;

pub use options::{NatsError, NatsOptions};
pub use server::LocalServer;
pub use transport::NatsTransport;
