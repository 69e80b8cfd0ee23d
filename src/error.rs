//! Errors that cross layers: what a call can fail with ([`CallError`], whose [`CallErrorKind`]
//! the core layer fills) and a group's failures ([`GroupError`], filled by the group layer),
//! which reach callers inside [`CallErrorKind::Group`]; and a node's failures to join or
//! work with its cluster ([`ClusterError`]).
//!
//! They live here, at the crate root, rather than in either layer so that the core does not
//! name the group module (the layering `lib.rs` states): the core builds and matches
//! [`CallErrorKind`], the group layer builds [`GroupError`]s and wraps them, and users match
//! both through `skygroup::CallErrorKind` and `skygroup::GroupError`. One enum per layer; this
//! module depends on nothing but [`Address`], [`NodeId`] and the cluster transport's errors.
//!
//! Every message names the service (kind and address) and the command or name, so a log line
//! alone tells an operator what failed where.

use std::time::Duration;

use crate::cluster::{StoreError, TransportError};
use crate::core::{Address, NodeId};

/// Why a call (or a spawn, which is a call to the new service's init) did not return a reply.
///
/// One pointer wide, so the `Result<Value, CallError>` of every call stays small on the hot
/// path (a thousand query answers gathered by `join_all` move a thousand of them); what went
/// wrong is its [`kind`](Self::kind), which names the service, its address and the command.
///
/// ```
/// use skygroup::{CallError, CallErrorKind};
///
/// fn should_retry(err: &CallError) -> bool {
///     matches!(err.kind(), CallErrorKind::Exited { .. } | CallErrorKind::Timeout { .. })
/// }
/// ```
#[derive(Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct CallError(Box<CallErrorKind>);

impl CallError {
    /// What went wrong.
    pub fn kind(&self) -> &CallErrorKind {
        &self.0
    }

    /// What went wrong, by value.
    pub fn into_kind(self) -> CallErrorKind {
        *self.0
    }
}

impl std::fmt::Debug for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<CallErrorKind> for CallError {
    fn from(kind: CallErrorKind) -> CallError {
        CallError(Box::new(kind))
    }
}

/// What went wrong in a [`CallError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallErrorKind {
    /// No kind of that name is defined.
    #[error("unknown service kind `{kind}`")]
    UnknownKind {
        /// The kind asked for.
        kind: String,
    },
    /// No live service has that address (G9).
    #[error("no service at {address} (command `{command}`): it never existed or has exited")]
    UnknownAddress {
        /// The address the message went to.
        address: Address,
        /// The command it carried.
        command: String,
    },
    /// The service exited with the call pending (G9).
    #[error("service {service} ({address}) exited before answering `{command}`")]
    Exited {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
    },
    /// The service's kind defines no such command.
    #[error("service {service} ({address}) has no command `{command}`")]
    UnknownCommand {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
    },
    /// A user sent a runtime command (its name starts with `_`).
    #[error("command `{command}` to {service} ({address}) is reserved: names starting with `_` belong to the runtime")]
    ReservedCommand {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
    },
    /// The handler returned an error.
    #[error("service {service} ({address}) failed `{command}`: {message}")]
    Handler {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
        /// The handler's error, as text.
        message: String,
    },
    /// The handler refused with a domain error (a typed command's `Error`, or a
    /// [`Rejection`](crate::Rejection)): `error` is that error as a value, which
    /// [`Ctx::ask`](crate::Ctx::ask) gives back as the command's error type.
    #[error("service {service} ({address}) refused `{command}`: {message}")]
    Rejected {
        /// The refusing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
        /// The domain error, as text.
        message: String,
        /// The domain error, as a value.
        error: crate::core::Value,
    },
    /// The handler panicked (the service lives on).
    #[error("service {service} ({address}) panicked in `{command}`: {message}")]
    Panic {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
        /// The panic's message.
        message: String,
    },
    /// The service's init failed (or it exited before its init returned), so it never started.
    #[error("init of service {service} ({address}) failed: {message}")]
    Init {
        /// The service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// What went wrong.
        message: String,
    },
    /// `target` is the name or address the call was made to.
    #[error("call `{command}` to {target} timed out after {after:?}")]
    Timeout {
        /// The name or address called.
        target: String,
        /// The command called.
        command: String,
        /// The timeout that passed.
        after: Duration,
    },
    /// The handler dropped its responder without answering.
    #[error("service {service} ({address}) dropped its responder for `{command}` without replying")]
    NoReply {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
    },
    /// The runtime is shut down (or shutting down).
    #[error("the runtime is shut down (command `{command}`)")]
    Shutdown {
        /// What was asked of it.
        command: String,
    },
    /// The service's mailbox held its kind's limit of messages
    /// ([`ServiceKind::mailbox_limit`](crate::ServiceKind::mailbox_limit)): the call was
    /// refused, not queued.
    #[error("service {service} ({address}) is overloaded: `{command}` refused, {limit} messages wait in its mailbox")]
    Overloaded {
        /// The failing service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The command it was sent.
        command: String,
        /// Its kind's mailbox limit.
        limit: usize,
    },
    /// A group-level failure: a failed lazy start, a start-up cycle, a closed group.
    #[error(transparent)]
    Group(GroupError),
    /// The target's node is gone (its liveness key expired, or it left the cluster), so the
    /// call will never be answered (K5).
    #[error("{node} is down: `{command}` to {address} will not be answered")]
    NodeDown {
        /// The target's node.
        node: NodeId,
        /// The target.
        address: Address,
        /// The command called.
        command: String,
    },
    /// No answer came from another node within the cluster's call timeout
    /// ([`ClusterConfig::call_timeout`](crate::cluster::ClusterConfig::call_timeout)): the call
    /// or its answer may have been lost on the way, or the target is slow (K5).
    #[error("no answer from {address} on {node} to `{command}` within {after:?}")]
    RemoteTimeout {
        /// The target's node.
        node: NodeId,
        /// The target.
        address: Address,
        /// The command called.
        command: String,
        /// The timeout that passed.
        after: Duration,
    },
    /// The call could not be handed to the cluster's messaging engine (K5).
    #[error("cannot reach {node} for `{command}` to {address}: {reason}")]
    ClusterUnreachable {
        /// The target's node.
        node: NodeId,
        /// The target.
        address: Address,
        /// The command called.
        command: String,
        /// What the transport said.
        reason: String,
    },
    /// The call's arguments or its answer hold a value that cannot leave its process (an
    /// [`Opaque`](crate::Opaque) one), so it cannot cross to or from another node (K2).
    #[error("`{command}` to {address} on {node} cannot cross nodes: {message}")]
    NotSerializable {
        /// The target's node.
        node: NodeId,
        /// The target.
        address: Address,
        /// The command called.
        command: String,
        /// Which value could not be serialized.
        message: String,
    },
}

impl From<GroupError> for CallError {
    fn from(e: GroupError) -> CallError {
        CallErrorKind::Group(e).into()
    }
}

/// A handler's error as its caller gets it: a [`Rejection`](crate::Rejection) inside becomes
/// [`CallErrorKind::Rejected`] (the domain error as a value), anything else
/// [`CallErrorKind::Handler`] (as text).
pub(crate) fn handler_error(service: &str, address: Address, command: &str, e: anyhow::Error) -> CallError {
    let (service, command) = (service.to_owned(), command.to_owned());
    match e.downcast::<crate::core::Rejection>() {
        Ok(rejection) => {
            let (message, error) = rejection.into_parts();
            CallErrorKind::Rejected { service, address, command, message, error }.into()
        }
        Err(e) => CallErrorKind::Handler { service, address, command, message: format!("{e:#}") }.into(),
    }
}

/// Why a runtime could not join a cluster, or a cluster operation outside a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// `join_cluster` after the runtime had started services: their addresses would not carry
    /// the node.
    #[error("node `{node_name}` cannot join cluster: the runtime has already started services")]
    AlreadyStarted {
        /// The node's name.
        node_name: String,
    },
    /// The runtime is already a node of a cluster.
    #[error("node `{node_name}` cannot join cluster: the runtime already joined as {node}")]
    AlreadyJoined {
        /// The node's name.
        node_name: String,
        /// The node it is.
        node: NodeId,
    },
    /// Every node number is taken.
    #[error("node `{node_name}` cannot join cluster: no free node number left")]
    NoFreeNode {
        /// The node's name.
        node_name: String,
    },
    /// The cluster's store failed.
    #[error("node `{node_name}`: {error}")]
    Store {
        /// The node's name.
        node_name: String,
        /// What the store said.
        error: StoreError,
    },
    /// The transport failed.
    #[error("node `{node_name}`: {error}")]
    Transport {
        /// The node's name.
        node_name: String,
        /// What the transport said.
        error: TransportError,
    },
    /// The runtime is shut down (or the node left).
    #[error("node `{node_name}` is shut down or has left its cluster")]
    Shutdown {
        /// The node's name.
        node_name: String,
    },
}

// The group layer's errors, carried by `CallErrorKind::Group`.

/// Why a name could not be resolved in a group.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// Only group members resolve names.
    #[error("service {service} ({address}) is not in a group, so it cannot resolve the name `{name}`")]
    NotInGroup {
        /// The asking service's kind.
        service: String,
        /// Its address.
        address: Address,
        /// The name it asked for.
        name: String,
    },
    /// A lazy start (or a dependency of one) failed; the name stays unbound (G3).
    #[error("service `{name}` in group {group} failed to start: {cause}")]
    StartFailed {
        /// The group's label.
        group: String,
        /// The name being started.
        name: String,
        /// Why its start failed.
        cause: Box<CallError>,
    },
    /// Starts that wait on each other in a ring; every waiter gets this (G13).
    #[error("start-up cycle in group {group}: {}", cycle.join(" -> "))]
    StartCycle {
        /// The group's label.
        group: String,
        /// The names in the ring, in waiting order.
        cycle: Vec<String>,
    },
    /// The group is shut down: nothing new starts in it (G14).
    #[error("group {group} is shut down: cannot start `{name}`")]
    ShutDown {
        /// The group's label.
        group: String,
        /// The name that was to start.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Call, Value};

    /// Every call's answer moves a `Result<Value, CallError>`: an error adds nothing to its size,
    /// and a `Call` is no bigger (BENCHMARKS.md, "Small values on the move").
    #[test]
    fn a_call_error_is_one_pointer() {
        assert_eq!(size_of::<CallError>(), size_of::<usize>());
        assert_eq!(size_of::<Result<Value, CallError>>(), size_of::<Value>());
        assert_eq!(size_of::<Call>(), size_of::<Value>());
    }

    #[test]
    fn a_call_error_says_what_its_kind_says() {
        let kind = CallErrorKind::Exited { service: "db".into(), address: Address::from_raw(7), command: "get".into() };
        let err = CallError::from(kind.clone());
        assert_eq!(err.to_string(), kind.to_string());
        assert_eq!(format!("{err:?}"), format!("{kind:?}"));
        assert_eq!(err.into_kind(), kind);
    }
}
