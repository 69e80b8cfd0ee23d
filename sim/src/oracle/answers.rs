//! G6 for answers: an answer is a message from the callee to its caller too, so it never
//! overtakes a request the callee delivered to the caller before answering (a `note` sent, then
//! the answer). The runtime queues an answer in the caller's mailbox behind what is there, or
//! completes it in place (`complete_here` in `core/handoff.rs`) only when nothing is queued for
//! the caller; either way, every request the callee delivered to the caller before the answer's
//! delivery is handled before the answer is consumed.
//!
//! An answer is consumed where its caller's task can go on with it: the `Handle` of the
//! response, or for an answer completed in place (a `Shortcut` of kind answer-in-place naming
//! the caller, then the response's `Deliver`, with no `Handle` of its own) its `Deliver`. The
//! callee of a session is the service that handled the caller's request of that session.
//!
//! Where it stays silent (precision first):
//! - an answer with no handled request of its session: a direct call's answer queued behind
//!   mail (a fresh session), an init's end, an error answer for a request never handled;
//! - a direct call's answer that is ready at once has no record at all, and the trace does not
//!   say when the caller uses it: such calls are not checked;
//! - a request from the callee never handled by a caller that exited: it was rejected at the
//!   exit, not handled (a trace cut before the caller's exit still counts it as unhandled: the
//!   answer was consumed before it all the same).
//!
//! Requests from one sender to one service are handled in delivery order (G6 among requests,
//! checked in `order.rs`), so counting is enough: when the answer is consumed, the caller must
//! have handled at least as many of the callee's requests as were delivered to it before the
//! answer.

use std::collections::BTreeMap;

use skygroup::Address;
use skygroup::executor::Shortcut;

use super::Violation;
use super::facts::Facts;
use crate::record::{Happening, Msg};

/// Where one answer was consumed.
struct Consumed {
    caller: Address,
    session: u64,
    /// The answer's `Deliver`.
    delivered: usize,
    /// Its `Handle`, or its `Deliver` again when it completed in place.
    at: usize,
}

/// Every G6 violation by an answer in the run.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let index = Index::new(facts);
    consumed(facts).into_iter().filter_map(|answer| index.overtaken(facts, &answer)).collect()
}

/// Requests between services, as delivered and as handled, and who handled each call.
struct Index {
    /// (caller, session) -> the callee: the service that handled that request.
    callees: BTreeMap<(Address, u64), Address>,
    /// (sender, receiver) -> the `Deliver` records of its requests, in trace order.
    delivered: BTreeMap<(Address, Address), Vec<usize>>,
    /// (sender, receiver) -> the `Handle` records of its requests, in trace order.
    handled: BTreeMap<(Address, Address), Vec<usize>>,
}

impl Index {
    fn new(facts: &Facts<'_>) -> Index {
        let mut index = Index { callees: BTreeMap::new(), delivered: BTreeMap::new(), handled: BTreeMap::new() };
        for (i, record) in facts.records.iter().enumerate() {
            match &record.event {
                Happening::Deliver { to, message: Msg::Request { from, .. }, .. } => {
                    index.delivered.entry((*from, *to)).or_default().push(i);
                }
                Happening::Handle { at, message: Msg::Request { from, session, .. } } => {
                    index.handled.entry((*from, *at)).or_default().push(i);
                    if *session > 0 {
                        index.callees.entry((*from, *session)).or_insert(*at);
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// The violation if `answer` overtook a request its callee delivered to the caller first.
    fn overtaken(&self, facts: &Facts<'_>, answer: &Consumed) -> Option<Violation> {
        let callee = *self.callees.get(&(answer.caller, answer.session))?;
        let pair = (callee, answer.caller);
        let delivered = self.delivered.get(&pair).map_or(&[][..], Vec::as_slice);
        let handled = self.handled.get(&pair).map_or(&[][..], Vec::as_slice);
        let due = delivered.partition_point(|&j| j < answer.delivered);
        let done = handled.partition_point(|&j| j < answer.at);
        if done >= due || (handled.len() < due && facts.exit_of(answer.caller).is_some()) {
            return None;
        }
        let first = delivered[done];
        let how = if answer.at == answer.delivered { "completed in place" } else { "handled" };
        let message = format!(
            "{} answered call#{} of {} (answer {how} at event {}) after delivering it `{}` (event {}), which \
             it had not handled by then",
            facts.who(callee),
            answer.session,
            facts.who(answer.caller),
            answer.at,
            describe(facts, first),
            first
        );
        Some(Violation { rule: "G6", at: answer.at, message })
    }
}

/// Every answer consumed in the run, in trace order.
fn consumed(facts: &Facts<'_>) -> Vec<Consumed> {
    let records = facts.records;
    let mut out = Vec::new();
    for (i, record) in records.iter().enumerate() {
        match &record.event {
            Happening::Handle { at, message: Msg::Response { session, .. } } => {
                if let Some(delivered) = facts.reply_delivered(i) {
                    out.push(Consumed { caller: *at, session: *session, delivered, at: i });
                }
            }
            Happening::Deliver { to, message: Msg::Response { session, .. }, .. } if i > 0 => {
                let in_place = matches!(&records[i - 1].event,
                    Happening::Shortcut { shortcut: Shortcut::AnswerInPlace, service, end: false } if service == to);
                if in_place {
                    out.push(Consumed { caller: *to, session: *session, delivered: i, at: i });
                }
            }
            _ => {}
        }
    }
    out
}

fn describe(facts: &Facts<'_>, deliver: usize) -> String {
    match &facts.records[deliver].event {
        Happening::Deliver { message: Msg::Request { session: 0, command, args, .. }, .. } => {
            format!("send {command} {args}")
        }
        Happening::Deliver { message: Msg::Request { session, command, args, .. }, .. } => {
            format!("call#{session} {command} {args}")
        }
        other => format!("{other:?}"),
    }
}
