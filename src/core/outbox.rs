//! A service's outbox: the requests it issued that wait behind an earlier by-name message of
//! its own.
//!
//! G6 orders one sender's messages per target *service*, however each was addressed. A message
//! by a name the sender has not resolved yet waits for a registry round trip; a later message
//! to the service that name turns out to be must not overtake it, whether by address or by
//! name. So the group layer puts every by-name message that must wait here
//! ([`hold_for_name`](ServiceCell::hold_for_name)) and says when the name resolved
//! ([`name_resolved`](ServiceCell::name_resolved)); every request a service issues to an
//! address goes through [`deliver_request`](ServiceCell::deliver_request), which delivers at
//! once when nothing waits here (one atomic load: the common path) and otherwise queues the
//! request behind the waiting messages that may go to the same service. When a name resolves,
//! its messages get their address, and everything no longer behind an unresolved name is
//! delivered in issue order; if it fails, its sends are dead letters and its calls errors
//! (G3, G7).
//!
//! A name is only ever bound to a service of the kind called that name, so a request to an
//! address waits only behind by-name messages to its target's kind; requests to other services
//! pass. That keeps unrelated traffic flowing and cannot deadlock a start whose init calls back
//! the sender, which then calls some other service. The direct shortcuts (`handoff.rs`) are not
//! taken while anything waits here (`may_go_direct` asks).
//!
//! The core does not know what a name means: the group layer tells it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use super::address::Address;
use super::cell::{Envelope, Name, ServiceCell, lock};
use super::error::CallError;
use crate::mutants::{self, Mutant};

/// The requests of one service waiting for a name, and those queued behind them.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Something is queued: read without the lock by every request the service issues.
    waiting: AtomicBool,
    /// Made at the first by-name message that must wait: most services never need one, and a
    /// small `ServiceCell` keeps its hot fields where they were (measured: sends/s).
    queue: OnceLock<Box<Mutex<Queue>>>,
}

impl Outbox {
    fn queue(&self) -> &Mutex<Queue> {
        self.queue.get_or_init(Box::default)
    }
}

#[derive(Default)]
struct Queue {
    /// Every waiting request, in issue order.
    held: VecDeque<Held>,
    /// The names being resolved, with how many requests wait for each: a request to an address
    /// asks here, in one lookup however long the queue, whether it must wait.
    resolving: BTreeMap<String, usize>,
}

/// One waiting request.
struct Held {
    /// The kind of service it goes to: the name it was sent by, or its target's kind.
    kind: String,
    /// Its target, once known; `None` while its name is being resolved.
    to: Option<Address>,
    envelope: Envelope,
}

impl ServiceCell {
    /// Nothing of this service waits for a name: its requests go straight out, shortcuts too.
    #[inline]
    pub(crate) fn nothing_held(&self) -> bool {
        !self.outbox.waiting.load(Ordering::Acquire)
    }

    /// Delivers a request this service issued to `to`, unless an earlier by-name message of
    /// this service that may go to the same service is waiting: then it waits behind it.
    #[inline]
    pub(crate) fn deliver_request(&self, to: Address, envelope: Envelope) {
        if self.nothing_held() || mutants::active(Mutant::AddressOvertakesName) {
            return self.runtime.deliver(to, envelope);
        }
        self.deliver_request_held(to, envelope);
    }

    /// [`deliver_request`](Self::deliver_request) while something waits. Out of line: the
    /// common path stays small.
    #[inline(never)]
    fn deliver_request_held(&self, to: Address, envelope: Envelope) {
        if let Some(target) = self.runtime.lookup(to) {
            let mut queue = lock(self.outbox.queue());
            if queue.resolving.contains_key(target.name()) {
                queue.held.push_back(Held { kind: target.name().to_owned(), to: Some(to), envelope });
                return;
            }
        }
        self.runtime.deliver(to, envelope);
    }

    /// Queues a request to `name`, which this service is resolving, in issue order.
    pub(crate) fn hold_for_name(&self, name: &str, envelope: Envelope) {
        let mut queue = lock(self.outbox.queue());
        *queue.resolving.entry(name.to_owned()).or_default() += 1;
        queue.held.push_back(Held { kind: name.to_owned(), to: None, envelope });
        self.outbox.waiting.store(true, Ordering::Release);
    }

    /// `name` resolved to an address (`via` is the name as messages carry it), or failed:
    /// its waiting requests are delivered or failed, and with them everything queued behind
    /// them that no longer waits for a name, in issue order.
    pub(crate) fn name_resolved(&self, name: &str, result: Result<(Address, Name), CallError>) {
        let (failed, ready) = {
            let mut queue = lock(self.outbox.queue());
            if queue.resolving.remove(name).is_none() {
                return; // nothing of this service waits for it
            }
            let mut failed = Vec::new();
            let mut kept = VecDeque::with_capacity(queue.held.len());
            for mut held in queue.held.drain(..) {
                if held.to.is_some() || held.kind != name {
                    kept.push_back(held);
                    continue;
                }
                match &result {
                    Ok((address, via)) => {
                        if let Envelope::Request { via: slot, .. } = &mut held.envelope {
                            *slot = Some(*via);
                        }
                        held.to = Some(*address);
                        kept.push_back(held);
                    }
                    Err(_) => failed.push(held.envelope),
                }
            }
            queue.held = kept;
            let ready = take_ready(&mut queue.held);
            self.outbox.waiting.store(!queue.held.is_empty(), Ordering::Release);
            (failed, ready)
        };
        if let Err(error) = &result {
            for envelope in failed {
                self.fail_unresolved(envelope, error);
            }
        }
        for (to, envelope) in ready {
            self.runtime.deliver(to, envelope);
        }
    }

    /// A request whose name failed to resolve: a send is a dead letter, a call gets `error`.
    fn fail_unresolved(&self, envelope: Envelope, error: &CallError) {
        match envelope {
            Envelope::Request { session: 0, command, .. } => {
                self.runtime.dead_letter(self.address, Address::from_raw(0), &command);
            }
            Envelope::Request { session, .. } => {
                let response = Envelope::Response { session, result: Err(error.clone()) };
                self.runtime.deliver(self.address, response);
            }
            _ => {}
        }
    }
}

/// Takes out, in order, every request with a known target and no unresolved name of its
/// target's kind before it.
fn take_ready(queue: &mut VecDeque<Held>) -> Vec<(Address, Envelope)> {
    let mut resolving: BTreeSet<String> = BTreeSet::new();
    let mut ready = Vec::new();
    let mut kept = VecDeque::with_capacity(queue.len());
    for held in queue.drain(..) {
        match held.to {
            Some(to) if !resolving.contains(&held.kind) => ready.push((to, held.envelope)),
            Some(_) => kept.push_back(held),
            None => {
                resolving.insert(held.kind.clone());
                kept.push_back(held);
            }
        }
    }
    *queue = kept;
    ready
}
