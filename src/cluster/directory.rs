//! The cluster's directory of groups (K7): filled in below.

use super::agent::Agent;
use crate::core::ServiceKind;

/// The agent's commands for the directory.
pub(crate) fn agent_commands(kind: ServiceKind<Agent>) -> ServiceKind<Agent> {
    kind
}
