//! Cluster-wide names (K6): filled in below.

use super::agent::Agent;
use crate::core::ServiceKind;

/// The agent's commands for cluster-wide names.
pub(crate) fn agent_commands(kind: ServiceKind<Agent>) -> ServiceKind<Agent> {
    kind
}
