//! How a [`NatsTransport`](crate::NatsTransport) connects, and why it could not.

use std::time::Duration;

/// Settings of [`NatsTransport::connect`](crate::NatsTransport::connect). Start from
/// [`NatsOptions::default`] and change what you need.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    pub(crate) liveness_ttl: Duration,
    pub(crate) store_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) publish_buffer: usize,
    pub(crate) reconnect_delay_max: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            liveness_ttl: Duration::from_secs(10),
            store_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            publish_buffer: 65_536,
            reconnect_delay_max: Duration::from_secs(1),
        }
    }
}

impl NatsOptions {
    /// How long a node's liveness key lives after its last refresh (the liveness bucket's
    /// `max_age`; default 10 s). The bucket is created by the first node of the cluster: a later
    /// node asking for another TTL gets the bucket's (see
    /// [`Store::liveness_ttl`](skygroup::cluster::Store::liveness_ttl)).
    pub fn liveness_ttl(mut self, ttl: Duration) -> Self {
        self.liveness_ttl = ttl;
        self
    }

    /// How long a store operation may take before it fails as unreachable (default 5 s).
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }

    /// How long [`NatsTransport::connect`](crate::NatsTransport::connect) tries before it gives
    /// up (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many frames may wait to be published (default 65,536): beyond that, while the server
    /// cannot take them, [`Transport::publish`](skygroup::cluster::Transport::publish) fails.
    pub fn publish_buffer(mut self, frames: usize) -> Self {
        self.publish_buffer = frames.max(1);
        self
    }

    /// The longest pause between two reconnection attempts (default 1 s; the pauses grow from
    /// 1 ms up to it).
    pub fn reconnect_delay_max(mut self, delay: Duration) -> Self {
        self.reconnect_delay_max = delay;
        self
    }
}

/// Why [`NatsTransport::connect`](crate::NatsTransport::connect) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The cluster name cannot be a NATS subject token and bucket name.
    #[error("cluster name `{0}` is not valid: use ASCII letters, digits, `-` and `_` (at least one)")]
    InvalidClusterName(String),
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url} for cluster `{cluster}`: {reason}")]
    Connect {
        /// The server address asked for.
        url: String,
        /// The cluster.
        cluster: String,
        /// What the client said.
        reason: String,
    },
    /// A key-value bucket could not be created or opened (JetStream off on the server?).
    #[error("cannot open key-value bucket `{bucket}` of cluster `{cluster}`: {reason}")]
    Bucket {
        /// The cluster.
        cluster: String,
        /// The bucket's NATS name.
        bucket: String,
        /// What the server said.
        reason: String,
    },
    /// The transport's private tokio runtime could not start.
    #[error("cannot start the NATS transport's runtime: {0}")]
    Runtime(String),
}

/// Whether `name` can be a cluster name: one NATS subject token that is also a valid part of a
/// key-value bucket name.
pub(crate) fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
