//! Delivery: how an envelope reaches a service's mailbox (or is held back for the simulator,
//! or takes a shortcut), and what happens to one that cannot (a bounce: resolved again by name,
//! answered with an error, or counted as a dead letter, G7).
//!
//! In the simulator, where each shortcut is a decision that reads the receiver, a delivery looks
//! its receiver up once: the cell found decides the shortcut, takes the push and, if the step
//! holds the message back, goes with it (`executor::capture::Delivery`), so neither needs a
//! second lookup.
//!
//! Kept apart from `runtime.rs`, which owns the catalog, the table and the runtime's life; the
//! functions here are the shared runtime's, as every sender holds it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::address::Address;
use super::cell::{Envelope, ServiceCell};
use super::error::{CallError, CallErrorKind};
use super::handoff::Delivered;
use super::memo::{self, Mode};
use super::runtime::RuntimeShared;
use super::turn::ReplyTo;
use crate::executor::{Delivery, Event, Shortcut};

impl RuntimeShared {
    /// Puts `envelope` into `to`'s mailbox, or holds it back for the simulator (see
    /// `executor::capture`), taking a shortcut where the executor allows (see `handoff.rs`).
    pub(crate) fn deliver(self: &Arc<Self>, to: Address, envelope: Envelope) {
        // Where each shortcut is a decision that reads the receiver (the simulator), one lookup
        // serves the decision, the push and a held delivery's later push; where none is (or
        // every one is taken unchecked), the push's own lookup is the only one.
        let mode = memo::mode(self);
        if mode == Mode::Decide
            && let Some(cell) = self.lookup(to)
        {
            let shortcut = self.shortcut_for_found(&cell, &envelope);
            if shortcut.is_none() && crate::executor::capture::active() {
                return crate::executor::capture::hold_found(cell, envelope);
            }
            return self.push_decided(&cell, envelope, shortcut);
        }
        let shortcut = self.shortcut_for_in(mode, to, &envelope);
        if shortcut.is_none() && crate::executor::capture::active() {
            return crate::executor::capture::hold(Delivery::to_address(self.clone(), to, envelope));
        }
        self.push_to(to, envelope, shortcut);
    }

    /// [`deliver`](Self::deliver) to a service already in hand (a turn's memo): the same
    /// decisions, without looking it up again for the push.
    pub(crate) fn deliver_to(self: &Arc<Self>, cell: &Arc<ServiceCell>, envelope: Envelope) {
        let shortcut = self.shortcut_for(cell.address, &envelope);
        self.deliver_decided(cell, envelope, shortcut);
    }

    /// [`deliver_to`](Self::deliver_to) with its shortcut decided.
    pub(crate) fn deliver_decided(
        self: &Arc<Self>,
        cell: &Arc<ServiceCell>,
        envelope: Envelope,
        shortcut: Option<Shortcut>,
    ) {
        let to = cell.address;
        if shortcut.is_none() && crate::executor::capture::active() {
            return crate::executor::capture::hold(Delivery::to_address(self.clone(), to, envelope));
        }
        self.push_decided(cell, envelope, shortcut);
    }

    /// The push of [`deliver_decided`](Self::deliver_decided), not held back: a receiver a
    /// shortcut runs at once (a new service's init, an inline turn or send) handles the message
    /// without the mailbox where it is idle (`run_inline`), else it is pushed and its turns
    /// started as usual.
    pub(crate) fn push_decided(
        self: &Arc<Self>,
        cell: &Arc<ServiceCell>,
        envelope: Envelope,
        shortcut: Option<Shortcut>,
    ) {
        // Each path pushes the envelope it holds: rebound by a `match` first, it was copied
        // once more on the common path (a dozen instructions per delivery).
        if shortcut.is_none() {
            return self.push_plain(cell, envelope);
        }
        if let Some(at @ (Shortcut::InlineInit | Shortcut::InlineTurn | Shortcut::InlineSend)) = shortcut {
            return match self.run_inline(cell, envelope, at) {
                Ok(()) => {}
                Err(envelope) => self.push_pushed(cell, envelope, shortcut),
            };
        }
        self.push_pushed(cell, envelope, shortcut);
    }

    /// The push of [`push_decided`](Self::push_decided) with no shortcut (every message of a
    /// flood that drains through the mailbox, every message in the simulator): what
    /// `push_pushed` does for it, without carrying the envelope through `push_cell`'s and
    /// `delivered`'s results (4 instructions per message, measured).
    #[inline]
    fn push_plain(self: &Arc<Self>, cell: &Arc<ServiceCell>, envelope: Envelope) {
        match cell.push(envelope) {
            Ok(true) => self.start_turns(cell.clone(), None),
            Ok(false) => {}
            Err(envelope) => self.bounce(cell.address, envelope),
        }
    }

    /// The push of [`push_decided`](Self::push_decided) and what follows it.
    #[inline]
    fn push_pushed(self: &Arc<Self>, cell: &Arc<ServiceCell>, envelope: Envelope, shortcut: Option<Shortcut>) {
        let delivered = Self::push_cell(cell, envelope, shortcut);
        self.delivered(
            cell.address,
            delivered.map(|d| if matches!(d, Delivered::Idle) { Ok(cell.clone()) } else { Err(d) }),
            shortcut,
        );
    }

    /// Puts `envelope` into `to`'s mailbox now, with no shortcut (a held delivery, released).
    pub(crate) fn deliver_now(self: &Arc<Self>, to: Address, envelope: Envelope) {
        self.push_to(to, envelope, None);
    }

    /// The push itself: an answer taking its shortcut may complete in place; a receiver found
    /// idle gets its turns started (at once, for a shortcut that runs it).
    fn push_to(self: &Arc<Self>, to: Address, envelope: Envelope, shortcut: Option<Shortcut>) {
        if matches!(shortcut, Some(Shortcut::InlineTurn | Shortcut::InlineSend))
            && let Some(cell) = self.lookup(to)
        {
            return self.push_decided(&cell, envelope, shortcut);
        }
        let delivered = self.services.with(to, |cell| {
            let Some(cell) = cell else { return Err(envelope) };
            // A reference is taken only for a service whose turns this delivery starts.
            Self::push_cell(cell, envelope, shortcut)
                .map(|d| if matches!(d, Delivered::Idle) { Ok(cell.clone()) } else { Err(d) })
        });
        self.delivered(to, delivered, shortcut);
    }

    fn push_cell(cell: &ServiceCell, envelope: Envelope, shortcut: Option<Shortcut>) -> Result<Delivered, Envelope> {
        if shortcut == Some(Shortcut::AnswerInPlace) {
            cell.complete_here(envelope)
        } else {
            cell.push_delivered(envelope)
        }
    }

    /// What follows a push: the turns of a service found idle started, a waker woken, or a
    /// bounced envelope handled.
    fn delivered(
        self: &Arc<Self>,
        to: Address,
        delivered: Result<Result<Arc<ServiceCell>, Delivered>, Envelope>,
        shortcut: Option<Shortcut>,
    ) {
        match delivered {
            Ok(Ok(idle)) => self.start_turns(idle, shortcut),
            Ok(Err(Delivered::Answered(Some(waker)))) => waker.wake(),
            Ok(Err(_)) => {}
            Err(envelope) => self.bounce(to, envelope),
        }
    }

    /// An envelope whose target is gone: a call gets an error, a send is a dead letter (G7, G9).
    fn bounce(self: &Arc<Self>, to: Address, envelope: Envelope) {
        let Some(envelope) = self.forward_remote(to, envelope) else { return };
        let envelope = match envelope {
            request @ Envelope::Request { via: Some(_), .. } => match self.naming.reroute(self, to, request) {
                None => return,
                Some(envelope) => envelope,
            },
            other => other,
        };
        match envelope {
            Envelope::Request { from, session: 0, command, .. } => self.dead_letter(from, to, &command),
            Envelope::Request { from, session, command, .. } => {
                let err = CallErrorKind::UnknownAddress { address: to, command: command.to_string() }.into();
                self.answer(ReplyTo { to: from, session, command }, Err(err));
            }
            Envelope::Init { notify: Some((from, session)), .. } => {
                let err =
                    CallErrorKind::Init { service: "?".into(), address: to, message: "exited before init".into() }
                        .into();
                self.deliver_to(&from, Envelope::Response { session, result: Err(err) });
            }
            _ => {}
        }
    }

    pub(crate) fn answer(self: &Arc<Self>, reply_to: ReplyTo, result: Result<super::Value, CallError>) {
        if reply_to.session != 0 {
            self.deliver(reply_to.to, Envelope::Response { session: reply_to.session, result });
        }
    }

    /// Counts a send that reached no one (G7), on the runtime and on its sender.
    pub(crate) fn dead_letter(&self, from: Address, to: Address, command: &str) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
        if let Some(sender) = self.lookup(from) {
            sender.counters.dead_letters.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(event = "dead_letter", %from, %to, command, time_us = self.executor.now().as_micros() as u64, "dead letter");
        if self.trace_all {
            self.trace(&Event::DeadLetter { from, to, command });
        }
    }
}
