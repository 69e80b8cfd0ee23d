//! G7, no send is lost silently: every send ends handled, or counted as a dead letter, or is
//! still on its way when the trace ends. Checked by counting at each stage a send can be lost,
//! per sender and command (arguments do not show in dead letters):
//! - in a mailbox: a send that entered the mailbox of a service that then exited was handled
//!   there or dead-lettered (its exit rejects what is left);
//! - by address: a send to an address enters its mailbox or is dead-lettered in the same step;
//! - by name: a send waits in its sender's name table only while the name is being resolved,
//!   which shows as a resolver task not yet run, a `_query` whose reply the sender has not
//!   handled yet, or a wake of one of its tasks not handled yet (a resolver that met a failure
//!   on its inline first poll settles it one poll later). Once its sender is quiet (alive, nothing resolving), every send it issued by
//!   name must have entered a mailbox or be a dead letter. A sender that exited takes its
//!   unresolved sends with it, which the contract allows.
//!
//! Across the nodes of a simulated cluster, a send by address to another node may be lost with
//! the frame that carried it (a partition, a crash, a disconnect: K4, the receiver counts the
//! gap). Such losses show in the trace as `FrameLost` between the two nodes; a send across a
//! pair that lost any frame is excused, since which frame carried it does not show.
//!
//! Counting over-credits (a send dead-lettered after entering a mailbox counts twice), so it
//! can miss a loss, never invent one.

use std::collections::{BTreeMap, BTreeSet};

use skygroup::Address;

use super::Violation;
use super::facts::Facts;
use crate::record::{Dest, Happening, Msg};

/// Counts for one sender and command.
#[derive(Default)]
struct Sends {
    by_address: usize,
    by_name: usize,
    /// Entered a mailbox, sent by address / by name.
    delivered_direct: usize,
    delivered_by_name: usize,
    dead: usize,
    /// Sent by address to another node over a pair that lost frames (may be lost, see above).
    lossy: usize,
    last_issue: usize,
}

/// Counts for one receiver, sender and command.
#[derive(Default)]
struct Mailbox {
    delivered: usize,
    handled: usize,
    dead: usize,
}

struct Tally<'a> {
    /// Node pairs that lost frames (`Facts::lossy`).
    lossy: &'a BTreeSet<(u16, u16)>,
    sends: BTreeMap<(Address, &'a str), Sends>,
    mailboxes: BTreeMap<(Address, Address, &'a str), Mailbox>,
    /// Senders still resolving a name: forks not run yet, `_query` replies not handled yet, and
    /// task wakes not handled yet (a resolver that met a failure on its inline first poll
    /// settles it one poll later, from such a wake).
    forks: BTreeMap<Address, isize>,
    wakes: BTreeMap<Address, isize>,
    queries: BTreeSet<(Address, u64)>,
}

/// Every G7 violation in the run.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut tally = Tally {
        lossy: &facts.lossy,
        sends: BTreeMap::new(),
        mailboxes: BTreeMap::new(),
        forks: BTreeMap::new(),
        wakes: BTreeMap::new(),
        queries: BTreeSet::new(),
    };
    for (i, record) in facts.records.iter().enumerate() {
        tally.record(i, &record.event);
    }
    let mut out = mailbox_losses(facts, &tally);
    out.extend(sender_losses(facts, &tally));
    out
}

impl<'a> Tally<'a> {
    fn record(&mut self, i: usize, event: &'a Happening) {
        match event {
            Happening::Issue { from, to, session: 0, command, .. } => {
                let lossy = match to {
                    Dest::Address(to) => self.lossy.contains(&(from.node().0, to.node().0)),
                    Dest::Name(_) => false,
                };
                let sends = self.sends.entry((*from, command)).or_default();
                match to {
                    Dest::Address(_) => sends.by_address += 1,
                    Dest::Name(_) => sends.by_name += 1,
                }
                sends.lossy += usize::from(lossy);
                sends.last_issue = i;
            }
            Happening::Issue { from, session, command, .. } if command == "_query" => {
                self.queries.insert((*from, *session));
            }
            Happening::Deliver { to, message: Msg::Request { from, session: 0, command, via, .. }, .. } => {
                let sends = self.sends.entry((*from, command)).or_default();
                match via {
                    None => sends.delivered_direct += 1,
                    Some(_) => sends.delivered_by_name += 1,
                }
                self.mailboxes.entry((*to, *from, command)).or_default().delivered += 1;
            }
            Happening::Deliver { to, message: Msg::Fork, .. } => *self.forks.entry(*to).or_default() += 1,
            Happening::Handle { at, message: Msg::Fork } => *self.forks.entry(*at).or_default() -= 1,
            Happening::Deliver { to, message: Msg::Wake { .. }, .. } => *self.wakes.entry(*to).or_default() += 1,
            Happening::Handle { at, message: Msg::Wake { .. } } => *self.wakes.entry(*at).or_default() -= 1,
            Happening::Handle { at, message: Msg::Response { session, .. } } => {
                self.queries.remove(&(*at, *session));
            }
            Happening::Handle { at, message: Msg::Request { from, session: 0, command, .. } } => {
                self.mailboxes.entry((*at, *from, command)).or_default().handled += 1;
            }
            Happening::DeadLetter { from, to, command } => {
                self.sends.entry((*from, command)).or_default().dead += 1;
                self.mailboxes.entry((*to, *from, command)).or_default().dead += 1;
            }
            _ => {}
        }
    }

    /// Whether `sender` may still hold sends waiting for a name to resolve.
    fn resolving(&self, sender: Address) -> bool {
        self.forks.get(&sender).is_some_and(|n| *n > 0)
            || self.wakes.get(&sender).is_some_and(|n| *n > 0)
            || self.queries.iter().any(|(from, _)| *from == sender)
    }
}

/// Sends that entered the mailbox of a service that exited, neither handled nor dead-lettered.
fn mailbox_losses(facts: &Facts<'_>, tally: &Tally<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for ((to, from, command), m) in &tally.mailboxes {
        let Some(exit) = facts.exit_of(*to) else { continue };
        if m.delivered > m.handled + m.dead {
            let lost = m.delivered - m.handled - m.dead;
            let message = format!(
                "{lost} send(s) `{command}` from {} entered the mailbox of {}, which exited without handling them \
                 or counting them as dead letters",
                facts.who(*from),
                facts.who(*to)
            );
            out.push(Violation { rule: "G7", at: exit, message });
        }
    }
    out
}

/// Sends their sender issued that never entered a mailbox nor became dead letters.
fn sender_losses(facts: &Facts<'_>, tally: &Tally<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for ((from, command), s) in &tally.sends {
        let quiet = facts.exit_of(*from).is_none() && !tally.resolving(*from);
        let (issued, accounted) = if quiet {
            (s.by_address + s.by_name, s.delivered_direct + s.delivered_by_name + s.dead)
        } else {
            (s.by_address, s.delivered_direct + s.dead)
        };
        if issued > accounted + s.lossy {
            let message = format!(
                "{} sent `{command}` {issued} time(s) but only {accounted} entered a mailbox or became dead letters",
                facts.who(*from)
            );
            out.push(Violation { rule: "G7", at: s.last_issue, message });
        }
    }
    out
}
