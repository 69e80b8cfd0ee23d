//! Errors of the group layer. They reach callers inside [`CallErrorKind::Group`].
//!
//! [`CallErrorKind::Group`]: crate::CallErrorKind::Group

use crate::core::{Address, CallError};

/// Why a name could not be resolved in a group.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// Only group members resolve names.
    #[error("service {service} ({address}) is not in a group, so it cannot resolve the name `{name}`")]
    NotInGroup { service: String, address: Address, name: String },
    /// A lazy start (or a dependency of one) failed; the name stays unbound (G3).
    #[error("service `{name}` in group {group} failed to start: {cause}")]
    StartFailed { group: String, name: String, cause: Box<CallError> },
    /// Starts that wait on each other in a ring; every waiter gets this (G13).
    #[error("start-up cycle in group {group}: {}", cycle.join(" -> "))]
    StartCycle { group: String, cycle: Vec<String> },
    /// The group is shut down: nothing new starts in it (G14).
    #[error("group {group} is shut down: cannot start `{name}`")]
    ShutDown { group: String, name: String },
}
