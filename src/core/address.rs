//! Identities handed out by a runtime: service addresses, the node they live on, and call
//! sessions.
//!
//! Both come from per-runtime (addresses) or per-service (sessions) counters, never from
//! globals, so two runtimes in one test process, or two simulator runs of one seed, number
//! their services identically (S1). An address carries its node in its high bits, so an address
//! handed to another node of a cluster still names the same service there (K1); a runtime not in
//! a cluster is node 0, and its addresses are exactly what they were before clusters existed.

use std::fmt;

/// Where the node number sits in an address: the high 16 bits; the low 48 are the node's own
/// counter.
const NODE_SHIFT: u32 = 48;
const LOCAL_MASK: u64 = (1 << NODE_SHIFT) - 1;

/// A node's number in its cluster: one per incarnation of a node (a restarted node gets a new
/// one), never reused in the cluster's life, and carried in every address the node hands out.
/// `NodeId(0)` is a runtime that is not in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u16);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node#{}", self.0)
    }
}

/// A service's address: unique for the runtime's life, never reused (a dead address stays dead).
///
/// Printed skynet-style as `:0000000a`; an address of node 3 of a cluster as `:0003.0000000a`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(u64);

impl Address {
    pub(crate) fn from_raw(raw: u64) -> Address {
        Address(raw)
    }

    /// The number behind the address (for logs and maps; the runtime never reuses one).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The node the service lives on (`NodeId(0)` outside a cluster).
    pub fn node(self) -> NodeId {
        NodeId((self.0 >> NODE_SHIFT) as u16)
    }

    /// The first address a node hands out: every cluster node's own agent (`_cluster`), which
    /// any node can call without a lookup.
    pub fn cluster_agent(node: NodeId) -> Address {
        Address::first_of(node)
    }

    /// The first address of `node`'s counter.
    pub(crate) fn first_of(node: NodeId) -> Address {
        Address(Address::base_of(node) + 1)
    }

    /// The value a node's address counter starts from (its node bits, local part 0).
    pub(crate) fn base_of(node: NodeId) -> u64 {
        u64::from(node.0) << NODE_SHIFT
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node() {
            NodeId(0) => write!(f, ":{:08x}", self.0),
            NodeId(node) => write!(f, ":{node:04x}.{:08x}", self.0 & LOCAL_MASK),
        }
    }
}

/// An address as [`Display`](fmt::Display) prints it (`:0000000a`, `:0003.0000000a`); the
/// leading `:` may be left out.
impl std::str::FromStr for Address {
    type Err = AddressParseError;

    fn from_str(text: &str) -> Result<Address, AddressParseError> {
        let bad = || AddressParseError(text.to_owned());
        let hex = text.strip_prefix(':').unwrap_or(text);
        let number = |h: &str| if h.is_empty() { None } else { u64::from_str_radix(h, 16).ok() };
        match hex.split_once('.') {
            None => number(hex).map(Address).ok_or_else(bad),
            Some((node, local)) => {
                let node = u16::try_from(number(node).ok_or_else(bad)?).map_err(|_| bad())?;
                let local = number(local).filter(|l| *l <= LOCAL_MASK).ok_or_else(bad)?;
                Ok(Address(Address::base_of(NodeId(node)) | local))
            }
        }
    }
}

/// Text that is not an address (see [`Address`]'s `FromStr`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address (like :0000000a, or :0003.0000000a on node 3 of a cluster)")]
pub struct AddressParseError(String);

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Identifies one outstanding call of one service; `0` marks a send (no reply expected).
pub(crate) type Session = u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shows_its_node_only_in_a_cluster() {
        assert_eq!(Address::from_raw(10).to_string(), ":0000000a");
        assert_eq!(Address::from_raw(10).node(), NodeId(0));
        let clustered = Address::from_raw(Address::base_of(NodeId(3)) + 10);
        assert_eq!(clustered.to_string(), ":0003.0000000a");
        assert_eq!(clustered.node(), NodeId(3));
        assert_eq!(Address::cluster_agent(NodeId(3)).to_string(), ":0003.00000001");
    }

    #[test]
    fn an_address_reads_back_as_it_prints() {
        for raw in [1, 10, 0xffff_ffff, Address::base_of(NodeId(3)) + 10, Address::base_of(NodeId(0xffff)) + 1] {
            let address = Address::from_raw(raw);
            assert_eq!(address.to_string().parse::<Address>(), Ok(address));
        }
        assert_eq!("a".parse::<Address>(), Ok(Address::from_raw(10)));
        for bad in ["", ":", ":x", ":3.", ":.1", ":10000.1", ":1.1000000000000"] {
            assert!(bad.parse::<Address>().is_err(), "{bad}");
        }
    }
}
