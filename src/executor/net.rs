//! The network seam: sockets as messages, owned by the backend.
//!
//! No service ever touches a socket (the determinism discipline): a backend that offers a
//! network ([`Executor::network`](super::Executor::network)) owns the listeners and the
//! connections, and turns what happens on them into [`NetEvent`]s handed to the sink given at
//! [`Network::listen`] (the gate delivers them to itself as messages). Writes and closes go the
//! other way as queued requests that never block the caller. The threaded backend's network is
//! one poller thread over real TCP; the simulator's is a virtual network whose every timing and
//! byte split comes from the seed. A service cannot tell which one it runs on.
//!
//! What a network promises (the gate's rules N1–N12 in `SEMANTICS.md` rest on it): the events of
//! one connection come in the order they happened: `Accepted`, then `Data` in byte order, then
//! at most one `Closed` (none after a local [`Network::close`]); connection ids come from one
//! counter per network and are never reused; an accept error is reported as
//! [`NetEvent::AcceptError`] and the listener stays open; a connection whose unsent bytes pass
//! the listener's `max_unsent` is closed with a reason.

use std::fmt;
use std::sync::Arc;

/// A connection, by the id its network gave it (never reused in the network's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// A listener, by the id its network gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListenerId(pub u64);

/// Something that happened on a listener or one of its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A client connected; `peer` is its address as text.
    Accepted {
        /// The listener that accepted it.
        listener: ListenerId,
        /// The new connection's id (never reused in this runtime's life).
        conn: ConnId,
        /// The client's address, as text.
        peer: String,
    },
    /// Bytes arrived on `conn` (any split of the stream: framing is the receiver's job).
    Data {
        /// The connection the bytes came on.
        conn: ConnId,
        /// The bytes, in stream order.
        bytes: Vec<u8>,
    },
    /// `conn` is gone: the peer closed or reset it, or the network closed it (`reason` says
    /// which, e.g. a slow client over `max_unsent`). At most once per connection, and never
    /// after a local [`Network::close`].
    Closed {
        /// The connection that closed.
        conn: ConnId,
        /// Why, as text.
        reason: String,
    },
    /// Accepting failed (e.g. out of file descriptors). The listener stays open.
    AcceptError {
        /// The listener whose accept failed.
        listener: ListenerId,
        /// The OS error, as text.
        error: String,
    },
}

/// Where a network hands the events of one listener and its connections. Called from the
/// network's own thread (threaded) or from the simulator's step; it must not block.
pub type NetSink = Arc<dyn Fn(NetEvent) + Send + Sync>;

/// What [`Network::listen`] needs.
#[derive(Clone)]
pub struct ListenSpec {
    /// Where to listen, e.g. `"127.0.0.1:0"` (port 0: any free port).
    pub addr: String,
    /// Bytes written to a connection and not yet taken by its peer past which the network
    /// closes it (a slow client must not grow memory without bound).
    pub max_unsent: usize,
    /// Where the events go.
    pub sink: NetSink,
}

/// A listener that is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listening {
    /// The listener's id, for [`Network::close_listener`].
    pub id: ListenerId,
    /// The address it listens on, with the real port if 0 was asked for.
    pub local: String,
}

/// Why a network refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("listen on {addr}: {message}")]
pub struct NetError {
    /// The address asked for.
    pub addr: String,
    /// What the OS (or the virtual network) said.
    pub message: String,
}

/// A backend's network (see the module docs). Every method returns at once.
pub trait Network: Send + Sync {
    /// Opens a listener; its events and its connections' go to `spec.sink`.
    fn listen(&self, spec: ListenSpec) -> Result<Listening, NetError>;

    /// Queues `bytes` for `conn` (dropped if it is gone).
    fn write(&self, conn: ConnId, bytes: Vec<u8>);

    /// Closes `conn` after trying to send what is queued for it. No `Closed` event follows.
    fn close(&self, conn: ConnId);

    /// Closes a listener (its connections stay open).
    fn close_listener(&self, listener: ListenerId);
}
