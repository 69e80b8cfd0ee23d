//! Errors of the core layer that no other layer shares: what a kind definition and a
//! `block_on` can fail with. A call's error ([`CallError`], [`CallErrorKind`]) carries the
//! group layer's errors too, so it lives in the crate's leaf module `crate::error`, which
//! both layers use; it is re-exported here for the core's own code.

use super::address::Address;
pub use crate::error::{CallError, CallErrorKind};

/// Why a service kind could not be added to the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefineError {
    /// A command name starts with `_`, which the runtime reserves.
    #[error("kind `{kind}` defines command `{command}`: names starting with `_` are reserved for the runtime")]
    ReservedCommand {
        /// The kind defining it.
        kind: String,
        /// The command name.
        command: String,
    },
    /// A command name is defined twice.
    #[error("kind `{kind}` defines command `{command}` twice")]
    DuplicateCommand {
        /// The kind defining it.
        kind: String,
        /// The command name.
        command: String,
    },
    /// The catalog already has a kind of this name (G8).
    #[error("kind `{kind}` is already defined")]
    AlreadyDefined {
        /// The kind name.
        kind: String,
    },
    /// The kind's name is empty.
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
    MainStopped {
        /// The main service's address.
        address: Address,
    },
    /// The simulator found that the task can never finish; `report` lists who waits on whom.
    #[error("{report}")]
    Deadlock {
        /// Who waits on whom, one line per outstanding call.
        report: String,
    },
    /// The simulator's step budget ran out first.
    #[error("runaway: {steps} steps without the main task finishing (a service never stops working?)")]
    StepLimit {
        /// The steps run.
        steps: u64,
    },
}
