//! Rules about single services and their mailboxes:
//! - G1: a request sent by name reaches a service of the sender's group;
//! - G5: no request is handled before the service's init has returned;
//! - G8: a reserved (`_`) command never succeeds at an ordinary service, and a send is never
//!   answered;
//! - G9: nothing enters the mailbox of an exited service;
//! - G12: the simulator never runs one service twice in one round.
//!
//! When did an init return? The runtime traces it (`InitEnd`, in the step that ran the init's
//! end, before the starter is told), whatever path the init took: queued, run inline in the
//! starter's turn, its answer delivered or completed in place. A request handled before that
//! record, or at a service whose init began and never returned, breaks G5.

use std::collections::{BTreeMap, BTreeSet};

use skygroup::Address;

use super::Violation;
use super::facts::{CLUSTER_AGENT_KIND, Facts, MAIN_KIND, REGISTRY_KIND};
use crate::record::{Happening, Msg};

/// Every violation of the per-service rules.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, record) in facts.records.iter().enumerate() {
        match &record.event {
            Happening::Deliver { to, message, .. } => deliver(facts, i, *to, message, &mut out),
            Happening::Handle { at, message: Msg::Request { from, session, command, .. } }
                if command.starts_with('_')
                    && *session > 0
                    && ![REGISTRY_KIND, CLUSTER_AGENT_KIND].contains(&facts.kind(*at)) =>
            {
                reserved(facts, i, *at, *from, *session, command, &mut out)
            }
            Happening::Round { services } => round(i, services, &mut out),
            _ => {}
        }
    }
    out.extend(init_first(facts));
    out
}

/// G1, G8, G9 at the moment a message enters a mailbox.
fn deliver(facts: &Facts<'_>, i: usize, to: Address, message: &Msg, out: &mut Vec<Violation>) {
    if let Some(exit) = facts.exit_of(to).filter(|e| *e < i) {
        let message = format!("a message entered the mailbox of {}, which exited at event {exit}", facts.who(to));
        out.push(Violation { rule: "G9", at: i, message });
    }
    match message {
        Msg::Response { session: 0, .. } => {
            let message = format!("{} got a reply to a send (session 0)", facts.who(to));
            out.push(Violation { rule: "G8", at: i, message });
        }
        Msg::Request { from, via: Some(name), .. } => {
            let (sender, receiver) = (facts.group(*from), facts.group(to));
            if sender.is_some() && sender != receiver {
                let message = format!(
                    "a request from {} of group {sender:?} by name `{name}` reached {} of group {receiver:?}",
                    facts.who(*from),
                    facts.who(to)
                );
                out.push(Violation { rule: "G1", at: i, message });
            }
        }
        _ => {}
    }
}

/// G8: a reserved command at an ordinary service is refused: its caller gets an error.
fn reserved(
    facts: &Facts<'_>,
    i: usize,
    at: Address,
    from: Address,
    session: u64,
    command: &str,
    out: &mut Vec<Violation>,
) {
    let reply = facts.records[i..].iter().position(|r| {
        matches!(&r.event, Happening::Deliver { to, message: Msg::Response { session: s, .. }, .. } if *to == from && *s == session)
    });
    let ok = reply.map(|j| &facts.records[i + j].event);
    if let Some(Happening::Deliver { message: Msg::Response { ok: true, .. }, .. }) = ok {
        let message = format!(
            "{} answered the reserved command `{command}` from {} successfully",
            facts.who(at),
            facts.who(from)
        );
        out.push(Violation { rule: "G8", at: i, message });
    }
}

/// G12: one round runs each service at most once.
fn round(i: usize, services: &[Address], out: &mut Vec<Violation>) {
    let mut seen = BTreeSet::new();
    for service in services {
        if !seen.insert(service) {
            let message = format!("service {service} was run twice at once in one round ({services:?})");
            out.push(Violation { rule: "G12", at: i, message });
        }
    }
}

/// G5: requests are handled only after init returned (see the module docs).
fn init_first(facts: &Facts<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let ends = init_ends(facts);
    let mut init_began = BTreeSet::new();
    for (i, record) in facts.records.iter().enumerate() {
        let Happening::Handle { at, message } = &record.event else { continue };
        match message {
            Msg::Init => {
                init_began.insert(*at);
            }
            Msg::Request { command, .. } => {
                let why = if facts.kind(*at) == MAIN_KIND {
                    None
                } else if !init_began.contains(at) {
                    Some("before its init began".to_owned())
                } else {
                    match ends.get(at) {
                        Some(end) => end.before(i),
                        None => Some("though its init never returned".to_owned()),
                    }
                };
                if let Some(why) = why {
                    let message = format!("{} handled `{command}` {why}", facts.who(*at));
                    out.push(Violation { rule: "G5", at: i, message });
                }
            }
            _ => {}
        }
    }
    out
}

/// What the trace says about the end of one service's init.
enum InitEnd {
    /// Its init returned at this record.
    Returned(usize),
    /// Its init failed at this record: it never handles a request.
    Failed(usize),
}

impl InitEnd {
    /// Why handling a request at record `i` breaks G5, if it does.
    fn before(&self, i: usize) -> Option<String> {
        match *self {
            InitEnd::Returned(end) if i < end => Some(format!("before its init returned (event {end})")),
            InitEnd::Failed(end) => Some(format!("though its init failed (event {end})")),
            InitEnd::Returned(_) => None,
        }
    }
}

/// Each service's first init end, as the runtime traced it.
fn init_ends(facts: &Facts<'_>) -> BTreeMap<Address, InitEnd> {
    let mut ends = BTreeMap::new();
    for (i, record) in facts.records.iter().enumerate() {
        if let Happening::InitEnd { address, ok } = record.event {
            ends.entry(address).or_insert(if ok { InitEnd::Returned(i) } else { InitEnd::Failed(i) });
        }
    }
    ends
}
