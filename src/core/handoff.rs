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

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::address::{Address, Session};
use super::cell::{CommandName, Envelope, ServiceCell, lock};
use super::context::Call;
use super::error::CallError;
use super::kind::{Handler, SyncFn};
use super::memo::{self, Mode};
use super::runtime::RuntimeShared;
use super::session::{Reply, Wake};
use super::slot::FirstPoll;
use super::turn::{ReplyTo, polled_here};
use super::value::Value;
use crate::executor::{Event, Message, Runnable, Shortcut, To};
use crate::mutants::{self, Mutant};

thread_local! {
    /// How deep this thread is in shortcuts: 0 in a turn from the executor, `n` inside `n`
    /// nested inline turns or async handlers run directly (at most [`MAX_INLINE`]), [`DIRECT`]
    /// inside a directly run synchronous handler (which takes no shortcut itself). Stacks stay
    /// flat.
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
        (DEPTH.get() < MAX_INLINE && memo::take_shortcut(self, memo::mode(self), at)).then_some(at)
    }

    /// Gets `cell`'s turns going after a push found it idle: at once, nested, if the push took
    /// a shortcut that runs the receiver (`shortcut_for`) and this thread is not too deep in
    /// inline turns, else through the executor.
    pub(crate) fn start_turns(&self, cell: Arc<ServiceCell>, shortcut: Option<Shortcut>) {
        let depth = DEPTH.get();
        if let Some(at) = shortcut
            && at != Shortcut::AnswerInPlace
            && depth < MAX_INLINE
        {
            let _nested = Nested::begin(self, at, cell.address);
            let _inline = Inline::enter(depth + 1);
            cell.run_turn(1);
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
        let depth = DEPTH.get();
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
struct Nested<'a> {
    runtime: &'a RuntimeShared,
    at: Shortcut,
    service: Address,
}

impl<'a> Nested<'a> {
    fn begin(runtime: &'a RuntimeShared, at: Shortcut, service: Address) -> Nested<'a> {
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
    fn nothing_queued(&self) -> bool {
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
        _ => DEPTH.get() < MAX_INLINE && cell.sched.idle(),
    }
}

/// What a message handled directly did.
enum Direct {
    /// Its handler returned (or panicked): the answer.
    Answered(Result<Value, CallError>),
    /// Its async handler waits, as a task of the receiver's that will answer this session of
    /// the sender's (0 for a send).
    Waiting(Session),
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
        let mode = self.direct_mode();
        if mode == Mode::Off {
            return Err(args);
        }
        let Some(callee) = memo::take(&self.runtime, to) else { return Err(args) };
        // Not through `call_direct_to`: its second check measurably slows the loop of calls.
        let answer = self.run_direct(mode, &callee, command, args, true);
        memo::give_back(&self.runtime, callee);
        Ok(self.answer_direct(to, command, answer?))
    }

    /// [`call_direct`](Self::call_direct) to a service already in hand.
    pub(super) fn call_direct_to(
        self: &Arc<Self>,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        let mode = self.direct_mode();
        if mode == Mode::Off {
            return Err(args);
        }
        let answer = self.run_direct(mode, callee, command, args, true)?;
        Ok(self.answer_direct(callee.address, command, answer))
    }

    /// A send from this service to `to` (its issue not traced yet), handled at once under the
    /// same conditions as a direct call; its answer is dropped and a failure logged and
    /// counted, as for any send (G8). A send not handled at once is queued as usual, through
    /// the service in hand when the direct path had it (no second lookup: a flood to a busy
    /// service costs no table lock per message).
    pub(crate) fn send_to(&self, to: Address, command: CommandName, args: Value) {
        let mode = self.direct_mode();
        let callee = if mode == Mode::Off { None } else { memo::take(&self.runtime, to) };
        let Some(callee) = callee else { return self.queue_send(to, None, command, args) };
        match self.run_direct(mode, &callee, &command, args, false) {
            Ok(Direct::Answered(result)) => {
                if let Err(err) = &result {
                    tracing::warn!(event = "send_failed", service = %callee.address, kind = callee.name(), time_us = super::observe::time_us(&callee), "send failed: {err}");
                }
                // The result is the receiver's value: a panic in its drop is charged to it.
                callee.drop_user(result, "dropping a send's result");
            }
            // It waits: a task of the receiver's now, which answers nobody when done.
            Ok(Direct::Waiting(_)) => {}
            // Under `Always` (no held deliveries, a send takes no shortcut): straight into its
            // mailbox, skipping the shortcut questions `queue_send` would ask.
            Err(args) if mode == Mode::Always => self.push_send(&callee, command, args),
            Err(args) => self.queue_send(to, Some(&callee), command, args),
        }
        memo::give_back(&self.runtime, callee);
    }

    /// A send through the target's mailbox, in order with this service's by-name messages
    /// (G6, `outbox.rs`); `known` is the target's cell if in hand.
    fn queue_send(&self, to: Address, known: Option<&Arc<ServiceCell>>, command: CommandName, args: Value) {
        self.trace_issue(To::Address(to), 0, &command, &args);
        let request = Envelope::Request { from: self.address, session: 0, command, args, via: None };
        match known {
            Some(cell) if self.nothing_held() => self.runtime.deliver_to(cell, request),
            _ => self.deliver_request(to, request),
        }
    }

    /// A send the direct path did not take (its receiver is busy, most often), to a service in
    /// hand, under `Mode::Always` (so no delivery is held back, a send takes no shortcut, and
    /// nothing of this service's waits behind a name): what `queue_send` does, without asking
    /// for a shortcut it would not get. A flood to a service that drains its mailbox elsewhere
    /// (the flood that starts queued) pays this instead of `queue_send`'s path.
    fn push_send(&self, callee: &Arc<ServiceCell>, command: CommandName, args: Value) {
        let to = callee.address;
        self.trace_issue(To::Address(to), 0, &command, &args);
        let request = Envelope::Request { from: self.address, session: 0, command, args, via: None };
        // The ordinary push with no shortcut (the one the simulator runs when it says no):
        // started if this push claimed it, bounced (a dead letter) if it has exited meanwhile.
        self.runtime.deliver_decided(callee, request, None);
    }

    /// How this thread may run a handler directly now: `Off` unless inside one of this
    /// runtime's turns on a thread that allows or decides shortcuts, not already inside a
    /// directly run handler, and with none of this service's messages held behind a name being
    /// resolved (G6: `core/outbox.rs`).
    fn direct_mode(&self) -> Mode {
        if DEPTH.get() == DIRECT || !self.nothing_held() { Mode::Off } else { memo::mode(&self.runtime) }
    }

    /// Runs `callee`'s `command` here and now if it is idle (and, under `Decide`, the executor
    /// says so) and the command is synchronous or async (an async handler's future is polled
    /// once, in its recycled slot; one that waits becomes a task of the callee, answering a
    /// session of this service's); what it did, or `args` back if it is not taken. A
    /// synchronous handler goes its own way (`run_direct_sync`), which pays nothing for the
    /// async form: no core, no slot, no first poll.
    fn run_direct(
        &self,
        mode: Mode,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
        call: bool,
    ) -> Result<Direct, Value> {
        // A synchronous handler runs at the depth `DIRECT`, which takes no shortcut itself; an
        // async one runs as an inline turn would (it may take shortcuts itself, up to
        // `MAX_INLINE` deep), so only below that depth.
        let depth = DEPTH.get();
        let handler = match super::kind::handler(&callee.kind, command) {
            Some(Handler::Sync(handler)) => return self.run_direct_sync(mode, callee, handler, command, args, call),
            Some(Handler::Reply(handler)) if depth < MAX_INLINE => handler,
            _ => return Err(args),
        };
        let Some(unclaimed) = self.take_for_direct(mode, callee) else { return Err(args) };
        // The claim excludes every other runner, so its core (which a turn would take) is free:
        // the handler's future polls in the core's slot and may leave a task there.
        let Some(mut core) = callee.try_core() else {
            // Only under the mutant: another runner has it.
            if !unclaimed {
                callee.finish_turn(false);
            }
            return Err(args);
        };
        let (session, nested) = self.begin_direct(callee, call, command, &args);
        let inline = Inline::enter(depth + 1);
        let runner = memo::Runner::enter(callee);
        let ran = if super::observe::quiet(callee) {
            callee.first_poll(&mut core, handler, args)
        } else {
            let span = super::observe::request_span(callee, self.address, command, session, &args);
            span.in_scope(|| callee.first_poll(&mut core, handler, args))
        };
        drop((runner, inline));
        let direct = match ran {
            FirstPoll::Ready(result) => Direct::Answered(callee.handled(command, result)),
            FirstPoll::Panicked(panic) => Direct::Answered(Err(callee.panicked(command, &*panic))),
            FirstPoll::Pending(pending) => {
                let session = match (call, session) {
                    (false, _) => 0,
                    (true, 0) => lock(&self.sessions).open(callee.address, command.clone()),
                    (true, traced) => {
                        lock(&self.sessions).open_as(traced, callee.address, command.clone());
                        traced
                    }
                };
                callee.keep_waiting(
                    &mut core,
                    pending,
                    ReplyTo { to: self.address, session, command: command.clone() },
                );
                Direct::Waiting(session)
            }
        };
        if !unclaimed && callee.sched.exit_requested() {
            // As at the end of a turn: the exit the handler asked for (or a kill meanwhile)
            // happens before its answer is seen, and the service keeps its claim for good.
            callee.exit_now(&mut core);
        } else if !unclaimed {
            drop(core);
            callee.finish_turn(false);
        }
        drop(nested);
        Ok(direct)
    }

    /// [`run_direct`](Self::run_direct) of a synchronous handler: the same claim, trace and
    /// end, and the handler a plain call under the claim (it borrows the state through the
    /// state's own flag: no core, no slot, no task).
    fn run_direct_sync(
        &self,
        mode: Mode,
        callee: &Arc<ServiceCell>,
        handler: &SyncFn,
        command: &CommandName,
        args: Value,
        call: bool,
    ) -> Result<Direct, Value> {
        let Some(unclaimed) = self.take_for_direct(mode, callee) else { return Err(args) };
        let (session, nested) = self.begin_direct(callee, call, command, &args);
        let inline = Inline::enter(DIRECT);
        let run = |args| catch_unwind(AssertUnwindSafe(|| callee.run_sync(handler, args)));
        let ran = if super::observe::quiet(callee) {
            run(args)
        } else {
            let span = super::observe::request_span(callee, self.address, command, session, &args);
            span.in_scope(move || run(args))
        };
        drop(inline);
        let answer = match ran {
            Ok(result) => callee.handled(command, result),
            Err(panic) => Err(callee.panicked(command, &*panic)),
        };
        // A traced session number was only reserved (`trace_direct_issue`): nothing to close.
        if !unclaimed && callee.sched.exit_requested() {
            callee.exit_now(&mut callee.runner_core()); // as in `run_direct`
        } else if !unclaimed {
            callee.finish_turn(false);
        }
        drop(nested);
        Ok(Direct::Answered(answer))
    }

    /// Takes `callee` for a handler run directly: `Some(unclaimed)` if it is taken, `None` if
    /// not (its claim, if this took it, handed back). `unclaimed` is false but under the mutant
    /// `DirectPastLeftovers`.
    fn take_for_direct(&self, mode: Mode, callee: &Arc<ServiceCell>) -> Option<bool> {
        let unclaimed = callee.past_leftovers(); // false but under the mutant
        if mode == Mode::Decide
            && !((unclaimed || callee.sched.idle()) && memo::take_shortcut(&self.runtime, mode, Shortcut::Direct))
        {
            return None;
        }
        // Nothing pending (no mail: what this service sent it before shows here; no leftovers,
        // no exit request) and nobody runs it; an exited service stays claimed for good. From
        // the claim on, this thread is its runner (see `schedule.rs` for why nothing can be
        // pending once the claim is taken; the leftovers check below is a second line).
        if unclaimed {
            return Some(true);
        }
        if !callee.sched.claim_direct() {
            return None;
        }
        if !callee.started.load(Ordering::Acquire) || callee.sched.exit_requested() || callee.sched.batched() > 0 {
            callee.finish_turn(false); // hands it back to the executor if it has work
            return None;
        }
        Some(false)
    }

    /// Traces the message about to be handled directly as the ordinary path would (issue,
    /// delivery, handling: the simulator's oracle checks it like any other) and marks the
    /// shortcut; the session number traced (0 untraced, or for a send), and the mark's end.
    fn begin_direct(&self, callee: &ServiceCell, call: bool, command: &CommandName, args: &Value) -> (u64, Nested<'_>) {
        let session =
            if self.runtime.tracing { self.trace_direct_issue(callee.address, call, command, args) } else { 0 };
        let nested = Nested::begin(&self.runtime, Shortcut::Direct, callee.address);
        if self.runtime.tracing {
            let message = Message::Request { from: self.address, session, command, args, via: None };
            self.runtime.trace(&Event::Deliver { to: callee.address, message });
            if self.runtime.trace_all {
                self.runtime.trace(&Event::Handle { at: callee.address, message });
            }
        }
        (session, nested)
    }

    /// The mutant `DirectPastLeftovers` (always false without it): the direct path takes a
    /// service as idle when its mailbox is empty and no turn of it is running (its core is
    /// free), instead of asking for its claim. A service whose turn ended with leftovers, its
    /// next turn waiting in the run queue, passes; the handler runs ahead of the leftovers
    /// (G6), without a claim of its own to release.
    ///
    /// Only a claimed service (its next turn queued) is taken so: an idle one goes the
    /// ordinary way and gets claimed. Taken unclaimed while idle, an async handler would hold
    /// its core up this stack with nobody's claim on it, and a send (or a kill) to it nested in
    /// that handler would claim it and run its turn inline on this same stack: that turn
    /// blocks on (or finds taken) the core held further up, a hang, not the G6 bug modelled.
    fn past_leftovers(&self) -> bool {
        mutants::active(Mutant::DirectPastLeftovers)
            && !self.sched.idle()
            && !self.sched.mailed()
            && !self.sched.exit_requested()
            && self.started.load(Ordering::Acquire)
            && self.try_core().is_some()
    }

    /// Traces the issue of a message about to be handled directly; with its delivery and
    /// handling (traced next) it looks like the ordinary path, so the simulator's oracle checks
    /// it like any other. A call gets a session number of its own, opened only if an async
    /// handler waits (`run_direct`): one answered at once needs no entry.
    fn trace_direct_issue(&self, to: Address, call: bool, command: &CommandName, args: &Value) -> u64 {
        let session = if call { lock(&self.sessions).reserve() } else { 0 };
        self.trace_issue(To::Address(to), session, command, args);
        session
    }

    /// The call of a direct answer: ready now, unless messages wait in this service's mailbox
    /// or batch (the callee may have sent some while answering): then the answer goes in behind
    /// them, as a reply would have (G6).
    fn answer_direct(self: &Arc<Self>, to: Address, command: &CommandName, direct: Direct) -> Call {
        let answer = match direct {
            Direct::Waiting(session) => return Call::reply(Reply::new(self.clone(), session)),
            Direct::Answered(answer) => answer,
        };
        if self.nothing_queued() {
            return Call::ready(answer);
        }
        let session = lock(&self.sessions).open(to, command.clone());
        self.runtime.deliver(self.address, Envelope::Response { session, result: answer });
        Call::reply(Reply::new(self.clone(), session))
    }
}
