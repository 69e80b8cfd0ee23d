//! Direct handling: a call or send to an idle service whose command is synchronous or async
//! runs that handler right here, like a function (the first shortcut of `handoff.rs`, whose
//! module docs say when it is taken and why it keeps the contract).
//!
//! This is the hot path of a flood of sends or a loop of calls on the threaded backend: per
//! message it claims the target, runs its handler (an async one polled once in its recycled
//! slot, `slot.rs`), and releases it. `handoff.rs` keeps the decisions of the other shortcuts
//! (inline turns, answers in place) and the depth bookkeeping both share.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use atomic_refcell::AtomicRefMut;

use super::address::{Address, Session};
use super::cell::{CommandName, Envelope, ServiceCell, lock};
use super::context::Call;
use super::error::CallError;
use super::handoff::{DIRECT, Inline, MAX_INLINE, Nested};
use super::kind::{Handler, SyncFn};
use super::memo::{self, Mode};
use super::session::Reply;
use super::slot::{FirstPoll, Pending};
use super::turn::{ReplyTo, ServiceCore};
use super::value::Value;
use crate::executor::{Event, Message, Shortcut, To};
use crate::mutants::{self, Mutant};

/// A call's answer, as the callee gave it.
fn keep_answer(_callee: &ServiceCell, answer: Result<Value, CallError>) -> Result<Value, CallError> {
    answer
}

/// Drops a send's answer (G8), logging and counting a failure.
#[inline]
fn drop_answer(callee: &ServiceCell, answer: Result<Value, CallError>) {
    // Nothing to drop (what a handler returning `()` answers): no call, no unwind guard, and
    // (checked in place) no copy of the answer.
    if matches!(answer, Ok(Value::Nil)) {
        std::mem::forget(answer);
    } else {
        drop_send_answer(callee, answer);
    }
}

/// [`drop_answer`] of anything but a unit answer. The answer is the receiver's value: a panic
/// in its drop is charged to it.
#[inline(never)]
fn drop_send_answer(callee: &ServiceCell, answer: Result<Value, CallError>) {
    if let Err(err) = &answer {
        tracing::warn!(event = "send_failed", service = %callee.address, kind = callee.name(), time_us = super::observe::time_us(callee), "send failed: {err}");
    }
    callee.drop_user(answer, "dropping a send's result");
}

/// How this thread may run a handler directly now ([`ServiceCell::direct_mode`]).
#[derive(Clone, Copy)]
struct Here {
    mode: Mode,
    /// How deep this thread is in inline turns (`memo::inline_depth`).
    depth: u8,
}

/// What a message handled directly did.
enum Direct<A> {
    /// Its handler returned (or panicked): the answer, as the sender took it (a call keeps it,
    /// a send drops it).
    Answered(A),
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
        let here = self.direct_mode();
        if here.mode == Mode::Off {
            return Err(args);
        }
        let Some(callee) = memo::take(&self.runtime, to) else { return Err(args) };
        // Not through `call_direct_to`: its second check measurably slows the loop of calls.
        let answer = self.run_direct(here, &callee, command, args, true, keep_answer);
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
        let here = self.direct_mode();
        if here.mode == Mode::Off {
            return Err(args);
        }
        let answer = self.run_direct(here, callee, command, args, true, keep_answer)?;
        Ok(self.answer_direct(callee.address, command, answer))
    }

    /// A send from this service to `to` (its issue not traced yet), handled at once under the
    /// same conditions as a direct call; its answer is dropped and a failure logged and
    /// counted, as for any send (G8). A send not handled at once is queued as usual, through
    /// the service in hand when the direct path had it (no second lookup: a flood to a busy
    /// service costs no table lock per message).
    pub(crate) fn send_to(&self, to: Address, command: CommandName, args: Value) {
        let here = self.direct_mode();
        let callee = if here.mode == Mode::Off { None } else { memo::take(&self.runtime, to) };
        let Some(callee) = callee else { return self.queue_send(to, None, command, args) };
        match self.run_direct(here, &callee, &command, args, false, drop_answer) {
            // Its answer dropped, or it waits: a task of the receiver's now, which answers
            // nobody when done.
            Ok(Direct::Answered(()) | Direct::Waiting(_)) => {}
            // Under `Always` (no held deliveries, a send takes no shortcut): straight into its
            // mailbox, skipping the shortcut questions `queue_send` would ask.
            Err(args) if here.mode == Mode::Always => self.push_send(&callee, command, args),
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
    /// (the flood that starts queued) pays this instead of `queue_send`'s path. Not inline: in
    /// `send_to` it crowded the direct path out of the compiler's inlining (a thread-local
    /// access there became a call); one call here is a few instructions of a push's hundred.
    #[inline(never)]
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
    #[inline]
    fn direct_mode(&self) -> Here {
        let (mode, depth) = memo::mode_and_depth(&self.runtime);
        let mode = if depth == DIRECT || !self.nothing_held() { Mode::Off } else { mode };
        Here { mode, depth }
    }

    /// Runs `callee`'s `command` here and now if it is idle (and, under `Decide`, the executor
    /// says so) and the command is synchronous or async (an async handler's future is polled
    /// once, in its recycled slot; one that waits becomes a task of the callee, answering a
    /// session of this service's); what it did, or `args` back if it is not taken. A
    /// synchronous handler goes its own way (`run_direct_sync`), which pays nothing for the
    /// async form: no core, no slot, no first poll. The answer goes through `answer` once the
    /// callee is released, as the caller would have seen it.
    #[inline]
    fn run_direct<A>(
        &self,
        here: Here,
        callee: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
        call: bool,
        answer: impl FnOnce(&ServiceCell, Result<Value, CallError>) -> A,
    ) -> Result<Direct<A>, Value> {
        // A synchronous handler runs at the depth `DIRECT`, which takes no shortcut itself; an
        // async one runs as an inline turn would (it may take shortcuts itself, up to
        // `MAX_INLINE` deep), so only below that depth.
        let Here { mode, depth } = here;
        let handler = match super::kind::handler(&callee.kind, command) {
            Some(Handler::Sync(handler)) => {
                return self.run_direct_sync(mode, callee, handler, command, args, call, answer);
            }
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
        let runner = memo::Runner::enter(callee, depth + 1);
        let ran = if super::observe::quiet(callee) {
            callee.first_poll(&mut core, handler, args)
        } else {
            let span = super::observe::request_span(callee, self.address, command, session, &args);
            span.in_scope(|| callee.first_poll(&mut core, handler, args))
        };
        drop(runner);
        // Each outcome ends the direct run in its own arm, so the answer is consumed where the
        // poll left it (no enum of it built and taken apart); the common one first, by one
        // comparison (a match of all of them is a jump table).
        if matches!(ran, FirstPoll::Unit) {
            std::mem::forget(ran); // holds nothing
            callee.counters.count_handled();
            callee.end_direct(unclaimed, core);
            drop(nested);
            return Ok(Direct::Answered(answer(callee, Ok(Value::Nil))));
        }
        match ran {
            FirstPoll::Unit => unreachable!("a unit answer ended the run above"),
            FirstPoll::Ready(result) => {
                let result = callee.handled(command, result);
                callee.end_direct(unclaimed, core);
                drop(nested);
                Ok(Direct::Answered(answer(callee, result)))
            }
            FirstPoll::Panicked(panic) => {
                let result = Err(callee.panicked(command, &*panic));
                callee.end_direct(unclaimed, core);
                drop(nested);
                Ok(Direct::Answered(answer(callee, result)))
            }
            FirstPoll::Pending(pending) => {
                let session = self.wait_direct(callee, &mut core, pending, call.then_some(session), command);
                callee.end_direct(unclaimed, core);
                drop(nested);
                Ok(Direct::Waiting(session))
            }
        }
    }

    /// Keeps the async handler of `callee` whose first poll here was pending as a task of
    /// `callee`'s, answering this service (`traced`: a call's session, its number if traced, 0
    /// if not; `None`: a send, answering nobody); the session it answers (0 for a send).
    #[inline(never)]
    fn wait_direct(
        &self,
        callee: &ServiceCell,
        core: &mut ServiceCore,
        pending: Pending,
        traced: Option<Session>,
        command: &CommandName,
    ) -> Session {
        let session = match traced {
            None => 0,
            Some(0) => lock(&self.sessions).open(callee.address, command.clone()),
            Some(traced) => {
                lock(&self.sessions).open_as(traced, callee.address, command.clone());
                traced
            }
        };
        callee.keep_waiting(core, pending, ReplyTo { to: self.address, session, command: command.clone() });
        session
    }

    /// Ends a direct run of this service's async handler, with its core: as at the end of a
    /// turn, the exit the handler asked for (or a kill meanwhile) happens before its answer is
    /// seen, and the service keeps its claim for good; else the claim is released (handing the
    /// service to the executor if messages came meanwhile). Nothing to end `unclaimed`. Always
    /// inline (measured: `inline` alone left it a call, 3 instructions more per async send).
    #[inline(always)]
    fn end_direct(self: &Arc<Self>, unclaimed: bool, core: AtomicRefMut<'_, ServiceCore>) {
        if !unclaimed && self.sched.exit_requested() {
            self.exit_direct(core);
        } else if !unclaimed {
            drop(core);
            self.finish_turn(false);
        }
    }

    /// The exit at the end of a direct run (see [`end_direct`](Self::end_direct)).
    #[cold]
    #[inline(never)]
    fn exit_direct(self: &Arc<Self>, mut core: AtomicRefMut<'_, ServiceCore>) {
        self.exit_now(&mut core);
    }

    /// [`run_direct`](Self::run_direct) of a synchronous handler: the same claim, trace and
    /// end, and the handler a plain call under the claim (it borrows the state through the
    /// state's own flag: no core, no slot, no task).
    #[allow(clippy::too_many_arguments)] // `run_direct`'s, and its handler
    #[inline]
    fn run_direct_sync<A>(
        &self,
        mode: Mode,
        callee: &Arc<ServiceCell>,
        handler: &SyncFn,
        command: &CommandName,
        args: Value,
        call: bool,
        answer: impl FnOnce(&ServiceCell, Result<Value, CallError>) -> A,
    ) -> Result<Direct<A>, Value> {
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
        // A traced session number was only reserved (`trace_direct_issue`): nothing to close.
        // Each outcome ends the run in its own arm, as in `run_direct`.
        match ran {
            // A unit answer, as in `run_direct`: nothing carried from enum to enum.
            Ok(Ok(Value::Nil)) => {
                std::mem::forget(ran); // holds nothing
                callee.counters.count_handled();
                callee.end_direct_sync(unclaimed);
                drop(nested);
                Ok(Direct::Answered(answer(callee, Ok(Value::Nil))))
            }
            Ok(result) => {
                let result = callee.handled(command, result);
                callee.end_direct_sync(unclaimed);
                drop(nested);
                Ok(Direct::Answered(answer(callee, result)))
            }
            Err(panic) => {
                let result = Err(callee.panicked(command, &*panic));
                callee.end_direct_sync(unclaimed);
                drop(nested);
                Ok(Direct::Answered(answer(callee, result)))
            }
        }
    }

    /// [`end_direct`](Self::end_direct) of a synchronous handler, which held no core.
    #[inline]
    fn end_direct_sync(self: &Arc<Self>, unclaimed: bool) {
        if !unclaimed && self.sched.exit_requested() {
            self.exit_direct(self.runner_core());
        } else if !unclaimed {
            self.finish_turn(false);
        }
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
    #[inline]
    fn begin_direct(&self, callee: &ServiceCell, call: bool, command: &CommandName, args: &Value) -> (u64, Nested<'_>) {
        if !self.runtime.tracing {
            return (0, Nested::begin(&self.runtime, Shortcut::Direct, callee.address));
        }
        self.begin_direct_traced(callee, call, command, args)
    }

    /// [`begin_direct`](Self::begin_direct) with the trace on.
    #[inline(never)]
    fn begin_direct_traced(
        &self,
        callee: &ServiceCell,
        call: bool,
        command: &CommandName,
        args: &Value,
    ) -> (u64, Nested<'_>) {
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
    fn answer_direct(
        self: &Arc<Self>,
        to: Address,
        command: &CommandName,
        direct: Direct<Result<Value, CallError>>,
    ) -> Call {
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
