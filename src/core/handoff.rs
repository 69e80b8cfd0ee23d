//! Direct hand-off on the threaded backend: messages to an idle service handled without a
//! trip through the run queue.
//!
//! A call to an idle service normally takes four steps: the request into the callee's mailbox,
//! the callee's turn (from the worker's next slot), the answer into the caller's mailbox, and
//! the caller's next turn. On a worker thread of the threaded backend three shortcuts skip most
//! of that and keep to the contract:
//! - **a synchronous command runs like a function.** A call or send that finds its target idle
//!   (not scheduled, so nothing of it runs anywhere, and nothing in its mailbox) and the command
//!   a [`command_sync`](crate::ServiceKind::command_sync) handler runs that handler right away.
//!   Its claim of the target (the `scheduled` flag) excludes every other runner as a turn's
//!   would (G12), so it needs neither the target's core nor a lock: it borrows the state
//!   through its flag, and `started` says the init has returned. A call is then ready before
//!   it is awaited, with no envelope, session or answer message; unless the target sent the
//!   caller something first, in which case the answer is queued behind it (G6). A send's answer
//!   is dropped (G8), so a flood of sends to an idle service never piles up in its mailbox.
//! - **the callee's turn runs at once.** A call to an idle service whose command may wait (an
//!   async handler) runs the callee's turn right there, for that one message: it handles
//!   exactly what a turn from the run queue would have handled first (G6). A new service's
//!   first turn (its init) runs at once the same way.
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
//! Depth is bounded: inline turns nest at most [`MAX_INLINE`] deep, and a handler running
//! directly takes no shortcut itself, so stacks stay flat. The simulator takes none of these
//! shortcuts (it interleaves every delivery itself; its executor does not offer
//! `runs_turns_inline`), so its traces never see them.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::address::Address;
use super::cell::{CommandName, Envelope, ServiceCell, lock};
use super::context::Call;
use super::error::CallError;
use super::kind::Handler;
use super::runtime::RuntimeShared;
use super::session::{Reply, Wake};
use super::turn::polled_here;
use super::value::Value;
use crate::executor::Runnable;

thread_local! {
    /// How deep this thread is in shortcuts: 0 in a turn from the executor, `n` inside `n`
    /// nested inline turns (at most [`MAX_INLINE`]), [`DIRECT`] inside a directly run handler
    /// (which takes no shortcut itself). Stacks stay flat.
    static DEPTH: Cell<u8> = const { Cell::new(0) };
}

/// Inline turns one thread may nest: a client's turn calls the registry, which starts a
/// service, whose init runs at once (a first use resolved without leaving the thread).
const MAX_INLINE: u8 = 3;

/// The depth of a handler run directly.
const DIRECT: u8 = u8::MAX;

/// Enters `depth` until dropped (also by a panic), then restores the depth before.
struct Inline(u8);

impl Inline {
    fn enter(depth: u8) -> Inline {
        Inline(DEPTH.replace(depth))
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        DEPTH.set(self.0);
    }
}

impl RuntimeShared {
    /// Whether deliveries from this thread may take the shortcuts (see the module docs): only
    /// from inside a turn, on a worker of an executor that allows them.
    pub(crate) fn handoff(&self) -> bool {
        super::memo::shortcuts(self)
    }

    /// Gets `cell`'s turns going after a push found it idle: inline if the push may be handed
    /// off (a call, or a new service's init) and this thread is not too deep in inline turns,
    /// else through the executor.
    pub(crate) fn start_turns(&self, cell: Arc<ServiceCell>, inline: bool) {
        let depth = DEPTH.get();
        if inline && depth < MAX_INLINE {
            let _inline = Inline::enter(depth + 1);
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
        // Its turn runs on this thread, so this thread is its runner: it is not closing, and
        // what it was sent from this thread shows in `mailed` (see `nothing_queued`).
        let quiet = (polled_here(self) || super::memo::runs_here(self)) && self.nothing_queued();
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

    /// Whether this thread runs this service's turn (here or further up the stack) and may take
    /// shortcuts: then a task this service would start may be polled right here first.
    pub(crate) fn runs_here(&self) -> bool {
        self.runtime.handoff() && super::memo::runs_here(self)
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
        if !self.may_go_direct() {
            return Err(args);
        }
        let Some(callee) = super::memo::take(&self.runtime, to) else { return Err(args) };
        // Not through `call_direct_to`: its second check measurably slows the loop of calls.
        let answer = self.run_direct(&callee, command, args);
        super::memo::give_back(&self.runtime, callee);
        Ok(self.answer_direct(to, command, answer?))
    }

    /// [`call_direct`](Self::call_direct) to a service already in hand.
    pub(crate) fn call_direct_to(
        self: &Arc<Self>,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        if !self.may_go_direct() {
            return Err(args);
        }
        let answer = self.run_direct(callee, command, args)?;
        Ok(self.answer_direct(callee.address, command, answer))
    }

    /// A send from this service to `to`, handled at once under the same conditions as a direct
    /// call; its answer is dropped and a failure logged and counted, as for any send (G8).
    pub(crate) fn send_direct(&self, to: Address, command: &CommandName, args: Value) -> Result<(), Value> {
        if !self.may_go_direct() {
            return Err(args);
        }
        let Some(callee) = super::memo::take(&self.runtime, to) else { return Err(args) };
        let answer = self.run_direct(&callee, command, args);
        super::memo::give_back(&self.runtime, callee);
        if let Err(err) = answer? {
            tracing::warn!("send failed: {err}");
        }
        Ok(())
    }

    /// Whether this thread may run a handler directly now: inside one of this runtime's turns
    /// on a worker that allows shortcuts, and not already inside a directly run handler.
    fn may_go_direct(&self) -> bool {
        DEPTH.get() != DIRECT && self.runtime.handoff() && self.nothing_held() // G6: core/outbox.rs
    }

    /// Runs `callee`'s synchronous `command` here and now if it is idle; its answer, or `args`
    /// back if it is not taken. The caller has checked that this thread may take shortcuts.
    fn run_direct(
        &self,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
    ) -> Result<Result<Value, CallError>, Value> {
        let Some(Handler::Sync(handler)) = callee.kind.commands.get(command.as_ref()) else { return Err(args) };
        // Nothing queued (what this service sent it before shows here), and nobody runs it; an
        // exited service stays claimed for good. From the claim on, this thread is its runner.
        if callee.mailed.load(Ordering::SeqCst) || !callee.claim() {
            return Err(args);
        }
        // The claim excludes every other runner, so its core (which a turn would lock) is not
        // needed here: the handler touches only the state, under the state's own lock.
        if !callee.started.load(Ordering::Acquire) || callee.exit_requested.load(Ordering::Acquire) {
            callee.finish_turn(false); // hands it back to the executor if it has work
            return Err(args);
        }
        let inline = Inline::enter(DIRECT);
        let result = catch_unwind(AssertUnwindSafe(|| callee.run_sync(handler, args)));
        drop(inline);
        let answer = match result {
            Ok(result) => callee.handled(command, result),
            Err(panic) => Err(callee.panicked(command, &*panic)),
        };
        callee.finish_turn(false);
        Ok(answer)
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
