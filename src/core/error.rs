//! Errors of the core layer: what a call, a spawn or a kind definition can fail with.
//!
//! Every message names the service (kind and address) and the command, so a log line alone
//! tells an operator what failed where. Group-level failures (a failed lazy start, a start-up
//! cycle) arrive as [`CallErrorKind::Group`], defined by the group layer.

use std::time::Duration;

use super::address::Address;
use crate::group::GroupError;

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
    #[error("unknown service kind `{kind}`")]
    UnknownKind { kind: String },
    #[error("no service at {address} (command `{command}`): it never existed or has exited")]
    UnknownAddress { address: Address, command: String },
    #[error("service {service} ({address}) exited before answering `{command}`")]
    Exited { service: String, address: Address, command: String },
    #[error("service {service} ({address}) has no command `{command}`")]
    UnknownCommand { service: String, address: Address, command: String },
    #[error("command `{command}` to {service} ({address}) is reserved: names starting with `_` belong to the runtime")]
    ReservedCommand { service: String, address: Address, command: String },
    #[error("service {service} ({address}) failed `{command}`: {message}")]
    Handler { service: String, address: Address, command: String, message: String },
    #[error("service {service} ({address}) panicked in `{command}`: {message}")]
    Panic { service: String, address: Address, command: String, message: String },
    #[error("init of service {service} ({address}) failed: {message}")]
    Init { service: String, address: Address, message: String },
    /// `target` is the name or address the call was made to.
    #[error("call `{command}` to {target} timed out after {after:?}")]
    Timeout { target: String, command: String, after: Duration },
    #[error("service {service} ({address}) dropped its responder for `{command}` without replying")]
    NoReply { service: String, address: Address, command: String },
    #[error("the runtime is shut down (command `{command}`)")]
    Shutdown { command: String },
    /// The service's mailbox held its kind's limit of messages
    /// ([`ServiceKind::mailbox_limit`](crate::ServiceKind::mailbox_limit)): the call was
    /// refused, not queued.
    #[error("service {service} ({address}) is overloaded: `{command}` refused, {limit} messages wait in its mailbox")]
    Overloaded { service: String, address: Address, command: String, limit: usize },
    #[error(transparent)]
    Group(GroupError),
}

impl From<GroupError> for CallError {
    fn from(e: GroupError) -> CallError {
        CallErrorKind::Group(e).into()
    }
}

/// Why a service kind could not be added to the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefineError {
    #[error("kind `{kind}` defines command `{command}`: names starting with `_` are reserved for the runtime")]
    ReservedCommand { kind: String, command: String },
    #[error("kind `{kind}` defines command `{command}` twice")]
    DuplicateCommand { kind: String, command: String },
    #[error("kind `{kind}` is already defined")]
    AlreadyDefined { kind: String },
    #[error("a kind name must not be empty")]
    EmptyName,
}

/// Why [`Runtime::try_block_on`](crate::Runtime::try_block_on) could not run its task to the
/// end. [`Runtime::block_on`](crate::Runtime::block_on) panics with the same message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `shutdown` has run (or is running): no new task can start, and nothing would drive it.
    #[error("the runtime is shut down: block_on cannot start a task on it")]
    Shutdown,
    /// The main service running the task was stopped first: killed, or the runtime was shut
    /// down while the task ran.
    #[error("the main service {address} was stopped before its task returned (killed, or the runtime shut down)")]
    MainStopped { address: Address },
    /// The simulator found that the task can never finish; `report` lists who waits on whom.
    #[error("{report}")]
    Deadlock { report: String },
    /// The simulator's step budget ran out first.
    #[error("runaway: {steps} steps without the main task finishing (a service never stops working?)")]
    StepLimit { steps: u64 },
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
