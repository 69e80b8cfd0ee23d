//! Direct hand-off: messages to an idle service handled without a trip through the run queue
//! (on the threaded backend's workers; in the simulator where its seed says so).
//!
//! A call to an idle service normally takes four steps: the request into the callee's mailbox,
//! the callee's turn (from the worker's next slot), the answer into the caller's mailbox, and
//! the caller's next turn. On a worker thread of the threaded backend three shortcuts skip most
//! of that and keep to the contract:
//! - **a command runs like a function.** A call or send that finds its target idle (not
//!   scheduled, so nothing of it runs anywhere, and nothing in its mailbox) and the command a
//!   [`command_sync`](crate::ServiceKind::command_sync) or an async
//!   [`command`](crate::ServiceKind::command) handler runs that handler right away. Its claim
//!   of the target (the `scheduled` flag) excludes every other runner as a turn's would (G12):
//!   a synchronous handler needs neither the target's core nor a lock (it borrows the state
//!   through its flag); an async handler's future is polled once in the target's recycled slot
//!   (`slot.rs`), in the target's core (a borrow flag, free since the claim is ours). `started` says the
//!   init has returned. A call is then ready before it is awaited, with no envelope, session
//!   or answer message; unless the target sent the caller something first, in which case the
//!   answer is queued behind it (G6). A send's answer is dropped (G8), so a flood of sends to
//!   an idle service never piles up in its mailbox. An async handler whose first poll is
//!   pending stays behind as a task of the target, which answers a session of the caller's
//!   when it is done, as if the target had handled the message on another worker at once.
//!   This one is the hot path of a flood of sends or a loop of calls, and lives in
//!   `direct.rs`.
//! - **the callee's turn runs at once.** A call to an idle service whose command is not run
//!   directly (a deferred handler, or the simulator said no to `Direct`) runs the callee's turn
//!   right there, for that one message: it handles exactly what a turn from the run queue would
//!   have handled first (G6). A new service's first turn (its init) runs at once the same way,
//!   without even a trip through its mailbox (`run_inline`: nothing can be ahead of it), and
//!   so does the exit of an idle service a turn kills (its exit is a turn that handles nothing:
//!   it leaves the table and answers its monitors before `kill` returns).
//! - **the answer skips the mailbox.** An answer for a service whose turn runs on this very
//!   thread (further up the stack), with nothing waiting in its mailbox or batch, completes the
//!   caller's session directly: it overtakes nothing (G6), and the caller's `.await` finds it
//!   ready.
//!
//! Together these let a first use finish without leaving the thread: a member's query runs the
//! registry's turn inline, the registry's start runs the new service's init inline, and each
//! answer completes in place, so a thousand queries of a name not started yet find it bound
//! (see `group/names.rs`).
//!
//! Depth is bounded: inline turns and async handlers run directly nest at most [`MAX_INLINE`]
//! deep (an async handler run directly stands for its service's turn: it counts as one, and its
//! service counts as run here, `memo::Runner`), and a synchronous handler running directly
//! takes no shortcut itself, so stacks stay flat.
//!
//! The executor says whether a turn may take them (`Executor::shortcuts`, asked once per turn
//! and kept in `memo.rs`): the threaded backend's workers take each one where it is possible;
//! the simulator decides each one from its seed (`Executor::take_shortcut`), asked only where
//! the shortcut is possible, and runs this same code when it says yes. There a yes first
//! delivers what the running step holds back (`executor::capture`), so the shortcut sees the
//! mailboxes the threaded backend would. The simulator also may run the receiver of a *send* at
//! once (`Shortcut::InlineSend`): the receiver reacting on another worker while its sender still
//! runs. A shortcut that runs a service leaves the trace events of the ordinary path (`Issue`,
//! `Deliver`, `Handle`) between `Event::Shortcut` and `Event::ShortcutEnd`.

use std::sync::Arc;
use std::task::Waker;

use super::address::Address;
use super::cell::{Envelope, ServiceCell, lock};
use super::memo::{self, Mode};
use super::runtime::RuntimeShared;
use super::session::Wake;
use super::turn::polled_here;
use crate::executor::{Event, Message, Runnable, Shortcut};
use crate::mutants::{self, Mutant};

/// Inline turns one thread may nest: a client's turn calls the registry, which starts a
/// service, whose init runs at once (a first use resolved without leaving the thread).
pub(super) const MAX_INLINE: u8 = 3;

/// The depth of a handler run directly.
pub(super) const DIRECT: u8 = u8::MAX;

/// Enters the inline `depth` (how deep this thread is in shortcuts: 0 in a turn from the
/// executor, `n` inside `n` nested inline turns or async handlers run directly, at most
/// [`MAX_INLINE`], [`DIRECT`] inside a directly run synchronous handler, which takes no shortcut
/// itself; `memo::inline_depth`) until dropped (also by a panic), then restores the depth
/// before. Stacks stay flat.
pub(super) struct Inline(u8);

impl Inline {
    pub(super) fn enter(depth: u8) -> Inline {
        Inline(memo::replace_inline_depth(depth))
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        memo::replace_inline_depth(self.0);
    }
}

impl RuntimeShared {
    /// Whether deliveries from this thread may take the shortcuts (see the module docs): only
    /// from inside a turn, on a thread of an executor that allows or decides them.
    pub(super) fn handoff(&self) -> bool {
        memo::shortcuts(self)
    }

    /// The shortcut a delivery of `envelope` to `to` may take, decided before it is held back
    /// or pushed: an answer may complete in place, a call, a new service's init (and in the
    /// simulator a send) may run the receiver's turn at once. Under `Decide` the executor is
    /// asked only where the shortcut is possible now, and a yes releases the step's held
    /// deliveries first (then the push itself checks again, against the real mailbox).
    pub(crate) fn shortcut_for(&self, to: Address, envelope: &Envelope) -> Option<Shortcut> {
        self.shortcut_for_in(memo::mode(self), to, envelope)
    }

    /// [`shortcut_for`](Self::shortcut_for) with this thread's `mode` already read.
    pub(crate) fn shortcut_for_in(&self, mode: Mode, to: Address, envelope: &Envelope) -> Option<Shortcut> {
        self.shortcut_where(mode, envelope, |at| self.shortcut_possible(to, at))
    }

    /// [`shortcut_for`](Self::shortcut_for) a service just found in the table (so live), where
    /// this thread decides each shortcut (`Mode::Decide`): the same decision, checked on the
    /// cell in hand instead of looking it up again.
    pub(crate) fn shortcut_for_found(&self, cell: &ServiceCell, envelope: &Envelope) -> Option<Shortcut> {
        self.shortcut_where(Mode::Decide, envelope, |at| shortcut_possible_on(cell, at))
    }

    /// The shortcut a delivery of `envelope` may take, where `possible` says whether one is.
    fn shortcut_where(
        &self,
        mode: Mode,
        envelope: &Envelope,
        possible: impl FnOnce(Shortcut) -> bool,
    ) -> Option<Shortcut> {
        let at = match envelope {
            Envelope::Response { .. } => Shortcut::AnswerInPlace,
            Envelope::Request { session: 1.., .. } => Shortcut::InlineTurn,
            Envelope::Request { .. } => Shortcut::InlineSend,
            Envelope::Init { .. } => Shortcut::InlineInit,
            Envelope::Wake { .. } | Envelope::Fork { .. } => return None,
        };
        match mode {
            Mode::Off => None,
            Mode::Always => (at != Shortcut::InlineSend).then_some(at),
            Mode::Decide => (possible(at) && memo::take_shortcut(self, Mode::Decide, at)).then_some(at),
        }
    }

    /// Whether the shortcut `at` of a delivery to `to` could be taken as things are now (held
    /// deliveries only add messages, so releasing them never makes an impossible one possible).
    fn shortcut_possible(&self, to: Address, at: Shortcut) -> bool {
        // Under the table's read lock, without a reference (the checks touch no table).
        self.with_service(to, |cell| cell.is_some_and(|cell| shortcut_possible_on(cell, at)))
    }

    /// The shortcut a kill that claimed an idle service takes: its exit runs at once, nested
    /// (`Shortcut::InlineExit`), where this thread may take shortcuts and is not too deep in
    /// inline turns (under `Decide`, if the executor says so). Pass it to `start_turns`.
    pub(crate) fn exit_shortcut(&self) -> Option<Shortcut> {
        let at = Shortcut::InlineExit;
        (memo::inline_depth() < MAX_INLINE && memo::take_shortcut(self, memo::mode(self), at)).then_some(at)
    }

    /// Gets `cell`'s turns going after a push found it idle: at once, nested, if the push took
    /// a shortcut that runs the receiver (`shortcut_for`) and this thread is not too deep in
    /// inline turns, else through the executor.
    pub(crate) fn start_turns(&self, cell: Arc<ServiceCell>, shortcut: Option<Shortcut>) {
        let depth = memo::inline_depth();
        if let Some(at) = shortcut
            && at != Shortcut::AnswerInPlace
            && depth < MAX_INLINE
        {
            let _nested = Nested::begin(self, at, cell.address);
            let _inline = Inline::enter(depth + 1);
            cell.run_turn(1);
            if !cell.alive() {
                // An exit that ran here (a kill's, most often) may have left this the last
                // reference: the cell serves the next service started.
                self.keep_exited(cell);
            }
            return;
        }
        self.executor.schedule(Runnable(cell));
    }

    /// A message that took a shortcut running its receiver at once (`InlineInit`, `InlineTurn`,
    /// `InlineSend`), handled without a trip through the mailbox (no push, no batch taken
    /// back): the service is claimed as a push that found it idle would claim it (idle: nothing
    /// mailed or batched, nobody runs it, not exited), and its turn handles `envelope` before
    /// anything else, exactly what a turn from the mailbox would have handled first (G6). The
    /// trace reads as the ordinary path's (the delivery, then the nested turn). Hands
    /// `envelope` back where that cannot be (too deep, the service not idle: shutdown asked for
    /// its exit, a message reached it first, it exited); the caller then delivers it as usual,
    /// with the same shortcut. (A mailbox limit never refuses it: an idle service's mailbox is
    /// empty and a limit is at least 1.)
    pub(crate) fn run_inline(&self, cell: &Arc<ServiceCell>, envelope: Envelope, at: Shortcut) -> Result<(), Envelope> {
        let depth = memo::inline_depth();
        if depth >= MAX_INLINE || !cell.sched.claim_direct() {
            return Err(envelope);
        }
        if self.tracing {
            self.trace(&Event::Deliver { to: cell.address, message: envelope.message() });
        }
        let _nested = Nested::begin(self, at, cell.address);
        let _inline = Inline::enter(depth + 1);
        cell.run_turn_with(1, Some(envelope));
        Ok(())
    }
}

/// Traces a shortcut that runs another service's code nested in this turn, and its end (also
/// by a panic), so the simulator's oracle can tell whose step the records after it belong to.
pub(super) struct Nested<'a> {
    runtime: &'a RuntimeShared,
    at: Shortcut,
    service: Address,
}

impl<'a> Nested<'a> {
    pub(super) fn begin(runtime: &'a RuntimeShared, at: Shortcut, service: Address) -> Nested<'a> {
        memo::ran(runtime, at, service);
        Nested { runtime, at, service }
    }
}

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        if self.runtime.trace_all {
            self.runtime.trace(&Event::ShortcutEnd { shortcut: self.at, service: self.service });
        }
    }
}

/// What a delivery did with its envelope.
pub(crate) enum Delivered {
    /// Queued behind others, or for a service already scheduled.
    Queued,
    /// Queued for a service that was idle: its turns must be started (`start_turns`).
    Idle,
    /// An answer completed in place; wake this waker (outside every table lock).
    Answered(Option<Waker>),
}

impl ServiceCell {
    /// Like `push`, but an answer for this service while it is polled on this thread, with
    /// nothing queued ahead, completes its session at once.
    pub(crate) fn complete_here(&self, envelope: Envelope) -> Result<Delivered, Envelope> {
        let Envelope::Response { session, result } = envelope else { return self.push_delivered(envelope) };
        // Its turn runs on this thread, so this thread is its runner: it is not closing, and
        // what it was sent from this thread shows in `mailed` (see `nothing_queued`).
        let quiet = (polled_here(self) || memo::runs_here(self)) && self.nothing_queued();
        if !quiet {
            return self.push_delivered(Envelope::Response { session, result });
        }
        if self.runtime.tracing {
            // Delivered, but not handled as a step of its own: the caller's turn, running
            // further up this stack, goes on with it.
            let message = Message::Response { session, ok: result.is_ok() };
            memo::ran(&self.runtime, Shortcut::AnswerInPlace, self.address);
            self.runtime.trace(&Event::Deliver { to: self.address, message });
        }
        // A new service's init answering a start up this stack, which opened no session for it.
        let Err(result) = super::init_notice::offer(self, session, result) else {
            return Ok(Delivered::Answered(None));
        };
        let waker = match lock(&self.sessions).complete(session, result) {
            // The caller polled this reply before: it waits, so wake it (at worst one extra poll).
            Wake::Task(_, waker) | Wake::Waker(waker) => Some(waker),
            Wake::Nobody => None,
        };
        Ok(Delivered::Answered(waker))
    }

    /// Nothing waits in this service's mailbox or batch, as its runner sees it: anything
    /// delivered to it from this thread, or before the lock this thread last took on a sender's
    /// behalf, is seen; a message from another thread still in flight is another sender's and
    /// may be overtaken (G6 is per sender).
    pub(super) fn nothing_queued(&self) -> bool {
        (!self.sched.mailed() && self.sched.batched() == 0) || mutants::active(Mutant::AnswerInPlaceOvertakes)
    }

    /// Whether this thread runs this service's turn (here or further up the stack) and takes the
    /// shortcut of polling a task this service would start right here first.
    pub(super) fn runs_here(&self) -> bool {
        let mode = memo::mode(&self.runtime);
        if mode == Mode::Off
            || !memo::runs_here(self)
            || !memo::take_shortcut(&self.runtime, mode, Shortcut::InlinePoll)
        {
            return false;
        }
        memo::ran(&self.runtime, Shortcut::InlinePoll, self.address);
        true
    }

    /// `push`, saying what it did.
    pub(crate) fn push_delivered(&self, envelope: Envelope) -> Result<Delivered, Envelope> {
        Ok(if self.push(envelope)? { Delivered::Idle } else { Delivered::Queued })
    }
}

/// [`RuntimeShared::shortcut_possible`] for a live service in hand.
fn shortcut_possible_on(cell: &ServiceCell, at: Shortcut) -> bool {
    match at {
        Shortcut::AnswerInPlace => (polled_here(cell) || memo::runs_here(cell)) && cell.nothing_queued(),
        _ => memo::inline_depth() < MAX_INLINE && cell.sched.idle(),
    }
}
