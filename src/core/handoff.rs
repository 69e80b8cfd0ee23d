//! Direct hand-off on the threaded backend: a call answered without a trip through the run
//! queue.
//!
//! A call to an idle service normally takes four steps: the request into the callee's mailbox,
//! the callee's turn (from the worker's next slot), the answer into the caller's mailbox, and
//! the caller's next turn. On a worker thread of the threaded backend two shortcuts skip most
//! of that and keep to the contract:
//! - **the callee runs at once.** A call that finds its callee idle (not scheduled: nothing of
//!   it runs anywhere, and the request is the only message in its mailbox) runs the callee's
//!   turn right there, on the calling worker, for that one message. The callee's core is taken
//!   as any runner takes it, so its handlers still never overlap (G12), and it handles exactly
//!   what a turn from the run queue would have handled first (G6).
//! - **the answer skips the mailbox.** An answer for a service that is being polled on this very
//!   thread, with nothing waiting in its mailbox or batch, completes the caller's session
//!   directly: it overtakes nothing (G6), and the caller's `.await` finds it ready.
//!
//! - **a synchronous command is called like a function.** A call that finds its callee idle
//!   and the command a [`command_sync`](crate::ServiceKind::command_sync) handler runs that
//!   handler right away, holding the callee's core and state as its turn would, and the call
//!   is ready before it is awaited: no envelope, no session, no answer message.
//!
//! Together, a call to an idle service whose handler does not wait is one function call deep.
//! Only one level: a call made by a handler running this way is queued as usual, so stacks stay
//! flat. The simulator takes neither shortcut (it interleaves every delivery itself; its executor
//! does not offer `runs_turns_inline`), so its traces never see them.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::address::Address;
use super::cell::{CommandName, Envelope, ServiceCell, lock};
use super::context::{Call, Ctx};
use super::error::CallError;
use super::kind::Handler;
use super::runtime::RuntimeShared;
use super::session::{Reply, Wake};
use super::turn::Phase;
use super::turn::polled_here;
use super::value::Value;
use crate::executor::Runnable;

thread_local! {
    /// A callee's turn is running inline on this thread.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Clears `INLINE` when the inline turn ends, even by a panic.
struct Inline;

impl Drop for Inline {
    fn drop(&mut self) {
        INLINE.set(false);
    }
}

impl RuntimeShared {
    /// Whether deliveries from this thread may take the shortcuts (see the module docs).
    pub(crate) fn handoff(&self) -> bool {
        self.executor.runs_turns_inline()
    }

    /// Gets `cell`'s turns going after a push found it idle: inline if the push was a call that
    /// may be handed off, else through the executor.
    pub(crate) fn start_turns(&self, cell: Arc<ServiceCell>, call: bool) {
        if call && !INLINE.get() {
            INLINE.set(true);
            let _inline = Inline;
            cell.run_turn(1);
            return;
        }
        self.executor.schedule(Runnable(cell));
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
        // Polled here, so this thread is its runner: it is not closing, and what it was sent
        // from this thread shows in `mailed` (see `nothing_queued`).
        let quiet = polled_here(self) && self.nothing_queued();
        if !quiet {
            return self.push_delivered(Envelope::Response { session, result });
        }
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
    fn nothing_queued(&self) -> bool {
        !self.mailed.load(Ordering::Acquire) && self.batched.load(Ordering::Relaxed) == 0
    }

    /// `push`, saying what it did.
    pub(crate) fn push_delivered(&self, envelope: Envelope) -> Result<Delivered, Envelope> {
        Ok(if self.push(envelope)? { Delivered::Idle } else { Delivered::Queued })
    }
}

impl ServiceCell {
    /// A call from this service to `to`, taken as a function call when the callee is idle and
    /// `command` is synchronous (see the module docs); hands `args` back when it is not.
    pub(crate) fn call_direct(
        self: &Arc<Self>,
        to: Address,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        if INLINE.get() || !self.runtime.handoff() {
            return Err(args);
        }
        let Some(callee) = self.runtime.lookup(to) else { return Err(args) };
        self.call_direct_to(&callee, command, args)
    }

    /// [`call_direct`](Self::call_direct) to a service already in hand.
    pub(crate) fn call_direct_to(
        self: &Arc<Self>,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        if INLINE.get() || !self.runtime.handoff() {
            return Err(args);
        }
        let to = callee.address;
        let Some(Handler::Sync(handler)) = callee.kind.commands.get(command.as_ref()) else { return Err(args) };
        {
            let mut mailbox = lock(&callee.mailbox);
            if mailbox.closed || mailbox.scheduled || !mailbox.queue.is_empty() {
                return Err(args);
            }
            mailbox.scheduled = true; // from here on this thread is the callee's runner
        }
        let mut core = lock(&callee.core);
        if core.phase != Phase::Running || callee.exit_requested.load(Ordering::Acquire) {
            drop(core);
            callee.finish_turn(false); // hands it back to the executor if it has work
            return Err(args);
        }
        INLINE.set(true);
        let inline = Inline;
        let ctx = core.sync_ctx.get_or_insert_with(|| Ctx::new(callee.clone()));
        let result = catch_unwind(AssertUnwindSafe(|| callee.run_sync(handler, ctx, args)));
        drop(inline);
        let answer = match result {
            Ok(result) => callee.handled(command, result),
            Err(panic) => Err(callee.panicked(command, &*panic)),
        };
        drop(core);
        callee.finish_turn(false);
        Ok(self.answer_direct(to, command, answer))
    }

    /// The call of a direct answer: ready now, unless messages wait in this service's mailbox
    /// or batch (the callee may have sent some while answering): then the answer goes in behind
    /// them, as a reply would have (G6).
    fn answer_direct(self: &Arc<Self>, to: Address, command: &CommandName, answer: Result<Value, CallError>) -> Call {
        if self.nothing_queued() {
            return Call::ready(answer);
        }
        let session = lock(&self.sessions).open(to, command.clone());
        self.runtime.deliver(self.address, Envelope::Response { session, result: answer });
        Call::reply(Reply::new(self.clone(), session))
    }
}
