//! A fingerprint of a run's interleaving: per mailbox, a hash of the messages it received, in
//! order. Two runs with the same fingerprint are one interleaving as far as any service can
//! tell (what exploration counts as distinct).
//!
//! Mailboxes are indexed by address. A clustered node's addresses carry the node in their high
//! 16 bits (`node << 48 | local`), so those are kept per node, each indexed by its local part,
//! and folded in after the plain ones: a run without a cluster fingerprints as it always did.

use std::collections::BTreeMap;

use skygroup::Address;
use skygroup::executor::Message;

/// Where a clustered node's number sits in an address.
pub(crate) const NODE_SHIFT: u32 = 48;
/// The local part of an address.
const LOCAL_MASK: u64 = (1 << NODE_SHIFT) - 1;
const MIX_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The hashes of every mailbox of a run.
#[derive(Default)]
pub(crate) struct Mailboxes {
    /// Indexed by raw address (node 0).
    local: Vec<u64>,
    /// Per node, indexed by the local part.
    nodes: BTreeMap<u64, Vec<u64>>,
}

impl Mailboxes {
    /// Folds one delivery into its mailbox's hash. Inlined into the executor's `trace`, which
    /// calls it once per delivered message.
    #[inline(always)]
    pub(crate) fn note(&mut self, to: Address, message: &Message<'_>) {
        let hash = self.mailbox(to);
        let h = *hash;
        *hash = match *message {
            Message::Request { from, session, command, .. } => {
                command.bytes().fold(mix(mix(mix(h, 1), from.raw()), session), |h, b| mix(h, b.into()))
            }
            Message::Response { session, ok } => mix(mix(mix(h, 2), session), ok.into()),
            Message::Wake { task } => mix(mix(h, 3), task as u64),
            Message::Fork => mix(h, 4),
            Message::Init => mix(h, 5),
        };
    }

    /// The hash of `to`'s mailbox (a new one starts at `MIX_START`).
    #[inline]
    fn mailbox(&mut self, to: Address) -> &mut u64 {
        let raw = to.raw();
        if raw >> NODE_SHIFT == 0 && (raw as usize) < self.local.len() {
            return &mut self.local[raw as usize]; // the common case: a known local mailbox
        }
        self.mailbox_new(to)
    }

    /// [`mailbox`](Self::mailbox) for a node's service, or one not seen yet (out of line).
    #[inline(never)]
    fn mailbox_new(&mut self, to: Address) -> &mut u64 {
        let (node, local) = (to.raw() >> NODE_SHIFT, (to.raw() & LOCAL_MASK) as usize);
        let boxes = if node == 0 { &mut self.local } else { self.nodes.entry(node).or_default() };
        if boxes.len() <= local {
            boxes.resize(local + 1, MIX_START);
        }
        &mut boxes[local]
    }

    /// The per-mailbox hashes mixed, by address.
    pub(crate) fn fingerprint(&self) -> u64 {
        let fold = |h, boxes: &[u64]| boxes.iter().enumerate().fold(h, |h, (i, m)| mix(mix(h, i as u64), *m));
        let local = fold(MIX_START, &self.local);
        self.nodes.iter().fold(local, |h, (node, boxes)| fold(mix(h, *node), boxes))
    }
}

/// Folds `word` into the hash `h` (a multiply-xorshift step: stable across machines and Rust
/// versions, unlike std's hasher).
fn mix(h: u64, word: u64) -> u64 {
    let x = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}
