//! A service's turn: taking messages out of its mailbox and stepping its tasks.
//!
//! Every handler, fork and init is a task of its service, kept in a slab once it has to wait:
//! each is polled once where it starts, and most never wait (an async command's future is
//! polled in a recycled slot, `slot.rs`, so one that does not wait costs no allocation). A turn
//! pops one envelope at a time and does what it says: start a handler, hand a reply to the task
//! waiting for it, poll a woken task. Only the worker that holds the service's claim runs a turn
//! (it takes the service's `core` through a borrow flag that never waits), so at most one task
//! of a service runs at any instant (G12), and while one task awaits the others keep going
//! (reentrancy). Panics are caught per task: a panicking handler answers
//! its caller with an error and the service lives on (G8). A panic in a `Drop` the runtime runs
//! itself (a state dropped at exit, an unhandled payload, a task cut off, a late answer) is
//! caught where the value is dropped, logged and counted against the service; a turn never
//! unwinds into its worker, so no worker thread dies and no service stays claimed.

use std::any::Any;
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::future::OptionFuture;
use slab::Slab;

use super::address::{Address, Session};
use super::cell::{CommandName, Envelope, Notify, ServiceCell, StateSlot, lock};
use super::context::Ctx;
use super::error::{CallError, CallErrorKind};
use super::kind::{Handler, State, SyncFn};
use super::responder::{ReplySlot, Responder};
use super::session::Wake;
use super::slot::{FirstPoll, HandlerSlot};
use super::value::Value;
use super::waker::TaskWaker;
use crate::executor::{Event, ExitReason, FaultSite};
use crate::mutants::{self, Mutant};

/// Where a call's answer goes.
pub(crate) struct ReplyTo {
    pub(crate) to: Address,
    /// `0` for a send: the answer is dropped (G8).
    pub(crate) session: Session,
    pub(crate) command: CommandName,
}

/// What a finished task produced.
pub(crate) enum Outcome {
    Reply(anyhow::Result<Value>),
    Done,
    Init(anyhow::Result<State>),
}

/// Why a task exists, which says what to do when it finishes, panics or is cut off by exit.
pub(super) enum Origin {
    Call(ReplyTo),
    Deferred(Arc<ReplySlot>),
    Fork,
    Init(Option<Notify>),
}

pub(super) struct Task {
    pub(super) future: BoxFuture<'static, Outcome>,
    pub(super) origin: Origin,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// Init has not returned: requests wait in `deferred` (G5).
    Starting,
    Running,
    Exited,
}

/// The part of a service only its runner touches.
pub(crate) struct ServiceCore {
    pub(super) tasks: Slab<Task>,
    pub(crate) phase: Phase,
    /// Envelopes taken out of the mailbox (all of it at once: one lock and no copy per
    /// message), still to handle; they come after `deferred` and before the mailbox. What a
    /// turn's budget leaves here waits for the next turn.
    pub(super) batch: VecDeque<Envelope>,
    /// The empty slot of each async command (by its index), kept for its next message
    /// (`slot.rs`).
    pub(super) slots: Vec<Option<Pin<Box<dyn HandlerSlot>>>>,
    /// What most services never use, made on first use: one pointer in every cell where the
    /// two lists took 56 bytes (a fresh runtime's spawns fault in every cell's pages, so its
    /// size is time; see [`Rare`]).
    pub(super) rare: Option<Box<Rare>>,
}

/// The core's lists an idle service never touches: only a request that arrives before its
/// init returns, or a task that waits in a slab slot other than 0, makes them.
#[derive(Default)]
pub(super) struct Rare {
    /// The wakers of slab slots 1 and up, made on first use and kept (`waker.rs`; slot 0's is
    /// the cell).
    pub(super) wakers: Vec<Arc<TaskWaker>>,
    /// Requests that arrived while `Starting`, in arrival order.
    pub(super) deferred: VecDeque<Envelope>,
}

impl Rare {
    /// The wakers `rare` holds, if it was made: for a caller that borrows the core's other
    /// fields at the same time ([`ServiceCore::wakers`] borrows the whole core).
    #[inline]
    pub(super) fn wakers(rare: &Option<Box<Rare>>) -> &[Arc<TaskWaker>] {
        rare.as_deref().map_or(&[], |rare| &rare.wakers)
    }
}

impl ServiceCore {
    pub(crate) fn new(running: bool) -> ServiceCore {
        let phase = if running { Phase::Running } else { Phase::Starting };
        ServiceCore { tasks: Slab::new(), phase, batch: VecDeque::new(), slots: Vec::new(), rare: None }
    }

    /// The wakers of slab slots 1 and up made so far (`waker.rs`).
    #[inline]
    pub(super) fn wakers(&self) -> &[Arc<TaskWaker>] {
        Rare::wakers(&self.rare)
    }

    /// The rare lists, made on first use.
    pub(super) fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The requests that arrived while `Starting`, taken (none if none came).
    pub(super) fn take_deferred(&mut self) -> VecDeque<Envelope> {
        self.rare.as_mut().map(|rare| std::mem::take(&mut rare.deferred)).unwrap_or_default()
    }

    /// Whether requests wait for the init to return.
    pub(super) fn has_deferred(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| !rare.deferred.is_empty())
    }

    /// Whether dropping it would free anything: a service that never needed a container (an
    /// idle one, once exited) holds none, and the cell then skips its drop (`Drop for
    /// ServiceCell`). Every field is named here, so a new one must say whether it holds memory.
    pub(crate) fn holds_memory(&self) -> bool {
        let ServiceCore { tasks, phase: _, batch, slots, rare } = self;
        tasks.capacity() | batch.capacity() | slots.capacity() != 0 || rare.is_some()
    }
}

thread_local! {
    /// (service cell pointer, task id) of the task being polled on this thread.
    static CURRENT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The id of the task of `cell` being polled on this thread, if any.
pub(crate) fn current_task(cell: &Arc<ServiceCell>) -> Option<usize> {
    let (ptr, task) = CURRENT.get();
    (ptr == Arc::as_ptr(cell) as usize).then_some(task)
}

/// A poll of task `id` of a service about to run on this thread: [`enter`](Self::enter) marks it
/// as the task polled (`CURRENT`) for the poll itself, until the [`Polling`] it returns is
/// dropped (a slot's first poll, `slot.rs`, polls from inside the handler's own code). What was
/// marked before is read as it enters, there: not where the poll is prepared (the direct path,
/// where that read was not always inlined).
pub(crate) struct PolledAs {
    task: (usize, usize),
}

impl PolledAs {
    #[inline]
    pub(super) fn task(cell: &Arc<ServiceCell>, id: usize) -> PolledAs {
        PolledAs { task: (Arc::as_ptr(cell) as usize, id) }
    }

    #[inline]
    pub(crate) fn enter(&self) -> Polling {
        Polling { previous: CURRENT.replace(self.task) }
    }
}

/// A poll marked by [`PolledAs::enter`]; its drop (also by a panic in the poll) restores what was
/// marked before.
pub(crate) struct Polling {
    previous: (usize, usize),
}

impl Drop for Polling {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// Whether a task of `cell` is being polled on this thread right now.
pub(crate) fn polled_here(cell: &ServiceCell) -> bool {
    CURRENT.get().0 == std::ptr::from_ref(cell) as usize
}

pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "non-string panic payload".to_owned(),
    }
}

impl ServiceCell {
    /// Runs up to `budget` envelopes, then finalizes the service if it must exit, else ends
    /// the turn (see `finish_turn`). Never unwinds: a panic in user code the runtime runs or
    /// drops is caught, logged and counted against this service (see [`drop_user`]), and one
    /// that escapes anyway (a runtime bug) still ends the turn, so the worker lives on and the
    /// service is not left claimed for good.
    ///
    /// [`drop_user`]: Self::drop_user
    pub(crate) fn run_turn(self: &Arc<Self>, budget: usize) {
        self.run_turn_with(budget, None);
    }

    /// [`run_turn`](Self::run_turn), handling `first` before anything else: an envelope that
    /// never went through the mailbox (a new service's init run inline, `handoff.rs`).
    pub(crate) fn run_turn_with(self: &Arc<Self>, budget: usize, first: Option<Envelope>) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.turn(budget, first))) {
            self.user_panic("running a turn", &*panic);
            let exited = self.runner_core().phase == Phase::Exited;
            if !exited {
                self.finish_turn(true); // whatever the batch still holds runs next turn
            }
        }
    }

    /// One function of about 60 lines, most of them comments: the per-message loop keeps the
    /// core's borrow, `first` and `announced` as locals of one frame.
    fn turn(self: &Arc<Self>, budget: usize, mut first: Option<Envelope>) {
        let mut core = match self.try_core() {
            Some(core) => core,
            None if mutants::active(Mutant::OverlappingHandlers) => return,
            None => unreachable!("service {} was run by two workers at once", self.address),
        };
        if core.phase == Phase::Exited {
            return;
        }
        let _turn = super::memo::Turn::start(self);
        // A turn that only exits leaves the mailbox to the exit, which takes it whole.
        if first.is_none() && !self.sched.exit_requested() {
            self.take_batch(&mut core.batch);
        }
        // `batched` is stored when the turn starts and whenever the batch turns empty or
        // non-empty (an init's end puts its deferred requests back), not per message: between
        // stores it may read high, but it is zero exactly when it should be (all that
        // `complete_here` and the direct answer ask), and a store per message would pull the
        // line a pusher reads (the scheduling word's) to this core each time.
        let mut announced = usize::MAX;
        for _ in 0..budget {
            if self.sched.exit_requested() {
                break;
            }
            // Handlers' panics are caught per task; this catches a `Drop` the runtime runs
            // itself (a late answer nobody waits for, a finished task's future, a send's result).
            // The envelope is taken inside the closure: it moves from the batch into `handle`
            // without a copy into the closure on the way (96 bytes, once per message).
            let handled = catch_unwind(AssertUnwindSafe(|| {
                let Some(envelope) = first.take().or_else(|| core.batch.pop_front()) else { return false };
                let left = core.batch.len();
                if announced == usize::MAX || (left == 0) != (announced == 0) {
                    self.sched.set_batched(left); // for `complete_here`
                    announced = left;
                }
                if super::observe::quiet(self) {
                    self.handle(&mut core, envelope);
                } else {
                    let span = super::observe::message_span(self, &envelope);
                    span.in_scope(|| self.handle(&mut core, envelope));
                }
                true
            }));
            match handled {
                Ok(true) => {}
                Ok(false) => break, // nothing left to handle
                Err(panic) => self.user_panic("dropping a value it was done with", &*panic),
            }
            if self.runtime.inject(FaultSite::Crash { address: self.address, kind: self.name() }) {
                self.request_exit(ExitReason::Crashed);
            }
        }
        if self.sched.exit_requested() {
            if let Some(first) = first {
                core.batch.push_front(first); // unhandled: the exit answers it as it would the batch's
            }
            return self.exit_now(&mut core);
        }
        // What the budget left stays in the batch, ahead of the mailbox, for the next turn.
        let batched = core.batch.len();
        self.sched.set_batched(batched);
        drop(core);
        self.finish_turn(batched > 0);
    }

    /// Drops `value`, whose `Drop` is user code (a state, a payload, a task's future): a panic
    /// in it is logged and counted against this service instead of unwinding through the
    /// runtime (G8: the service, and the worker running it, live on).
    pub(crate) fn drop_user<T>(&self, value: T, what: &str) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
            self.user_panic(what, &*panic);
        }
    }

    /// Logs and counts a panic of user code run outside a handler (a `Drop`), against this
    /// service.
    pub(crate) fn user_panic(&self, what: &str, panic: &(dyn Any + Send)) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let message = panic_message(panic);
        tracing::warn!(event = "panic", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "service {} ({}) panicked {what}: {message}", self.name(), self.address);
    }

    fn handle(self: &Arc<Self>, core: &mut ServiceCore, envelope: Envelope) {
        if self.runtime.trace_all && !matches!(envelope, Envelope::Request { .. } if core.phase == Phase::Starting) {
            self.runtime.trace(&Event::Handle { at: self.address, message: envelope.message() });
        }
        match envelope {
            Envelope::Request { .. } if core.phase == Phase::Starting => core.rare().deferred.push_back(envelope),
            Envelope::Request { from, session, command, args, .. } => {
                self.start_request(core, ReplyTo { to: from, session, command }, args)
            }
            Envelope::Response { session, result } => {
                let wake = lock(&self.sessions).complete(session, result);
                match wake {
                    // Polled by the task itself: poll it now, skipping the mailbox.
                    Wake::Task(task, waker)
                        if self.made_waker(core.wakers(), task).is_some_and(|w| w.will_wake(&waker)) =>
                    {
                        self.poll_task(core, task)
                    }
                    Wake::Task(_, waker) | Wake::Waker(waker) => waker.wake(),
                    Wake::Nobody => {}
                }
            }
            Envelope::Wake { task } => self.poll_task(core, task),
            Envelope::Fork { task } => self.start_task(core, task.map(|()| Outcome::Done).boxed(), Origin::Fork),
            Envelope::Init { args, prelude, notify } => self.start_init(core, args, prelude, notify),
        }
    }

    /// Starts the init as the service's first task. Without a prelude or an injected fault
    /// it is the kind's own future, polled as it is (no box around it); the kind's init
    /// function is user code, so a panic in it (before any future exists) fails the init too.
    fn start_init(
        self: &Arc<Self>,
        core: &mut ServiceCore,
        args: super::kind::Args,
        prelude: Option<super::cell::Prelude>,
        notify: Option<Notify>,
    ) {
        let ctx = Ctx::new(self.clone());
        let injected = self.runtime.inject(FaultSite::Init { address: self.address, kind: self.name() });
        if prelude.is_none() && !injected {
            return match catch_unwind(AssertUnwindSafe(|| (self.kind.init)(ctx, args))) {
                Ok(future) => self.start_task(core, future, Origin::Init(notify)),
                Err(panic) => self.task_panicked(core, Origin::Init(notify), &*panic),
            };
        }
        let kind = self.kind.clone();
        let future = async move {
            if injected {
                return Outcome::Init(Err(anyhow::anyhow!("injected init failure")));
            }
            if let Some(Err(e)) = OptionFuture::from(prelude).await {
                return Outcome::Init(Err(e));
            }
            (kind.init)(ctx, args).await
        };
        self.start_task(core, future.boxed(), Origin::Init(notify));
    }

    fn start_request(self: &Arc<Self>, core: &mut ServiceCore, reply_to: ReplyTo, args: Value) {
        // The kind's table finds a flood's command inline (`kind::handler`).
        let handler = super::kind::handler(&self.kind, &reply_to.command);
        let handler = match handler {
            Some(h) => h,
            None if reply_to.command.starts_with('_') => {
                return self.refuse(reply_to, |service, address, command| {
                    CallErrorKind::ReservedCommand { service, address, command }.into()
                });
            }
            None => {
                return self.refuse(reply_to, |service, address, command| {
                    CallErrorKind::UnknownCommand { service, address, command }.into()
                });
            }
        };
        let site = FaultSite::Handler { address: self.address, kind: self.name(), command: &reply_to.command };
        if self.runtime.inject(site) {
            let origin = match handler {
                Handler::Reply(_) | Handler::Sync(_) => Origin::Call(reply_to),
                Handler::Deferred(_) => Origin::Deferred(ReplySlot::new(reply_to)),
            };
            return self.task_panicked(core, origin, &"injected handler panic");
        }
        if let Handler::Sync(f) = handler {
            return match catch_unwind(AssertUnwindSafe(|| self.run_sync(f, args))) {
                Ok(Ok(value)) if reply_to.session == 0 => self.send_handled(value),
                Ok(result) => self.task_done(core, Origin::Call(reply_to), Outcome::Reply(result)),
                Err(panic) => self.task_panicked(core, Origin::Call(reply_to), &*panic),
            };
        }
        match handler {
            Handler::Sync(_) => unreachable!("handled above"),
            Handler::Reply(command) => match self.first_poll(core, command, args) {
                FirstPoll::Unit if reply_to.session == 0 => self.counters.count_handled(),
                FirstPoll::Unit => self.task_done(core, Origin::Call(reply_to), Outcome::Reply(Ok(Value::Nil))),
                FirstPoll::Ready(Ok(value)) if reply_to.session == 0 => self.send_handled(value),
                FirstPoll::Ready(result) => self.task_done(core, Origin::Call(reply_to), Outcome::Reply(result)),
                FirstPoll::Pending(pending) => self.keep_waiting(core, pending, reply_to),
                FirstPoll::Panicked(panic) => self.task_panicked(core, Origin::Call(reply_to), &*panic),
            },
            Handler::Deferred(f) => {
                let ctx = Ctx::new(self.clone());
                let caller = reply_to.to;
                let slot = ReplySlot::new(reply_to);
                let responder = Responder::new(self, slot.clone(), caller);
                match catch_unwind(AssertUnwindSafe(|| f(ctx, args, responder))) {
                    Ok(future) => self.start_task(core, future, Origin::Deferred(slot)),
                    Err(panic) => self.task_panicked(core, Origin::Deferred(slot), &*panic),
                }
            }
        }
    }

    /// A send whose handler returned: what `task_done` does for it (count it; its result is
    /// dropped, G8), without carrying the send's origin and outcome there: in a flood that
    /// drains through the mailbox this is every message.
    fn send_handled(&self, value: Value) {
        self.counters.count_handled();
        drop(value);
    }

    /// Runs a synchronous handler on the state, which no task can hold at this point (a
    /// `with_state` closure never spans a turn). One context, made once and kept beside the
    /// state until the service exits, serves every synchronous handler (none keeps it past its
    /// call).
    pub(crate) fn run_sync(self: &Arc<Self>, f: &SyncFn, args: Value) -> anyhow::Result<Value> {
        let mut slot = self.state_slot();
        let StateSlot { state, sync_ctx } = &mut *slot;
        let Some(state) = state.as_mut() else {
            anyhow::bail!("service {} ({}) has no state: its init has not returned", self.name(), self.address)
        };
        f(state.as_mut(), sync_ctx.get_or_insert_with(|| Ctx::new(self.clone())), args)
    }

    /// Answers a request that has no handler to run (unknown or reserved command, G8).
    fn refuse(&self, reply_to: ReplyTo, error: impl FnOnce(String, Address, String) -> CallError) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let err = error(self.name().to_owned(), self.address, reply_to.command.to_string());
        if reply_to.session == 0 {
            tracing::warn!(from = %reply_to.to, event = "send_dropped", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "send dropped: {err}");
        }
        self.answer(reply_to, Err(err));
    }

    /// Sends the answer of a call; a send's answer is dropped (G8).
    pub(crate) fn answer(&self, reply_to: ReplyTo, result: Result<Value, CallError>) {
        if reply_to.session != 0 {
            let response = Envelope::Response { session: reply_to.session, result };
            self.runtime.deliver(reply_to.to, response);
        }
    }

    /// Polls a new task once before it is stored: most handlers finish on their first poll, and
    /// then the task never enters the slab. It is polled as the slab's next free slot, where it
    /// is stored if it has to wait.
    fn start_task(self: &Arc<Self>, core: &mut ServiceCore, mut future: BoxFuture<'static, Outcome>, origin: Origin) {
        let id = core.tasks.vacant_key();
        self.ensure_waker(core, id);
        match self.poll_future(future.as_mut(), id, &self.task_waker(core.wakers(), id)) {
            Ok(Poll::Pending) => {
                let stored = core.tasks.insert(Task { future, origin });
                debug_assert_eq!(stored, id, "nothing takes a slot while a task is polled");
            }
            Ok(Poll::Ready(outcome)) => self.task_done(core, origin, outcome),
            Err(panic) => self.task_panicked(core, origin, &*panic),
        }
    }

    /// Polls one task future as task `id`, catching a panic.
    pub(super) fn poll_future(
        self: &Arc<Self>,
        future: Pin<&mut (dyn Future<Output = Outcome> + Send)>,
        id: usize,
        waker: &Waker,
    ) -> std::thread::Result<Poll<Outcome>> {
        let mut cx = Context::from_waker(waker);
        let previous = CURRENT.replace((Arc::as_ptr(self) as usize, id));
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx)));
        CURRENT.set(previous);
        polled
    }

    fn poll_task(self: &Arc<Self>, core: &mut ServiceCore, id: usize) {
        self.rearm_waker(core.wakers(), id);
        if !core.tasks.contains(id) {
            return; // a stale wake for a finished task
        }
        self.ensure_waker(core, id);
        let ServiceCore { tasks, rare, .. } = core;
        let polled = self.poll_future(tasks[id].future.as_mut(), id, &self.task_waker(Rare::wakers(rare), id));
        match polled {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(outcome)) => {
                let task = core.tasks.remove(id);
                self.task_done(core, task.origin, outcome);
            }
            Err(panic) => {
                let task = core.tasks.remove(id);
                self.task_panicked(core, task.origin, &*panic);
            }
        }
    }

    fn task_done(self: &Arc<Self>, core: &mut ServiceCore, origin: Origin, outcome: Outcome) {
        match (origin, outcome) {
            (Origin::Call(ReplyTo { session: 0, .. }), Outcome::Reply(Ok(_))) => {
                self.counters.count_handled(); // a send: nothing to answer (G8)
            }
            (Origin::Call(reply_to), Outcome::Reply(result)) => {
                let result = self.handled(&reply_to.command, result);
                if let (0, Err(err)) = (reply_to.session, &result) {
                    tracing::warn!(event = "send_failed", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "send failed: {err}");
                }
                self.answer(reply_to, result);
            }
            (Origin::Deferred(_), _) => {
                self.counters.count_handled();
            }
            (Origin::Init(notify), Outcome::Init(Ok(state))) => self.init_done(core, notify, state),
            (Origin::Init(notify), Outcome::Init(Err(e))) => self.init_failed(notify, format!("{e:#}")),
            _ => {}
        }
    }

    /// Counts a handled command and turns its result into its caller's answer (G8).
    #[inline]
    pub(crate) fn handled(&self, command: &str, result: anyhow::Result<Value>) -> Result<Value, CallError> {
        self.counters.count_handled();
        match result {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(command, e)),
        }
    }

    /// Counts a handler's error and says it to its caller (G8).
    #[cold]
    #[inline(never)]
    fn failed(&self, command: &str, e: anyhow::Error) -> CallError {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        crate::error::handler_error(self.name(), self.address, command, e)
    }

    /// Counts a handler's panic and says it to its caller (G8).
    pub(crate) fn panicked(&self, command: &str, panic: &(dyn Any + Send)) -> CallError {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let (service, address, command) = (self.name().to_owned(), self.address, command.to_owned());
        let err = CallErrorKind::Panic { service, address, command, message: panic_message(panic) }.into();
        tracing::warn!(event = "handler_panic", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "{err}");
        err
    }

    fn task_panicked(self: &Arc<Self>, _core: &mut ServiceCore, origin: Origin, panic: &(dyn Any + Send)) {
        let message = panic_message(panic);
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let panic_error = |command: &str| {
            CallErrorKind::Panic {
                service: self.name().to_owned(),
                address: self.address,
                command: command.to_owned(),
                message: message.clone(),
            }
            .into()
        };
        match origin {
            Origin::Call(reply_to) => {
                let err = panic_error(&reply_to.command);
                tracing::warn!(event = "handler_panic", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "{err}");
                self.answer(reply_to, Err(err));
            }
            Origin::Deferred(slot) => slot.fail_with(self, |command| panic_error(command)),
            Origin::Fork => {
                tracing::warn!(event = "task_panic", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "a task of service {} ({}) panicked: {message}", self.name(), self.address)
            }
            Origin::Init(notify) => self.init_failed(notify, format!("panicked: {message}")),
        }
    }

    fn init_done(self: &Arc<Self>, core: &mut ServiceCore, notify: Option<Notify>, state: State) {
        if self.runtime.trace_all {
            self.runtime.trace(&Event::InitEnd { address: self.address, ok: true });
        }
        self.state_slot().state = Some(state);
        core.phase = Phase::Running;
        self.started.store(true, Ordering::Release);
        // Neither buffer is needed any more unless requests came in: a service started and
        // left idle keeps none (the one its init came in was the mailbox's; the next message
        // makes a new one).
        // (An init run inline came in no buffer at all: nothing to give back then.)
        if core.has_deferred() {
            for envelope in core.take_deferred().into_iter().rev() {
                core.batch.push_front(envelope);
            }
            self.sched.set_batched(core.batch.len()); // the turn's loop stores it only when it turns empty
        } else if core.batch.is_empty() && core.batch.capacity() > 0 {
            core.batch = VecDeque::new();
        }
        self.answer_starter(notify, Ok(Value::Address(self.address)));
    }

    /// Answers the start that awaits this service's init, if any.
    fn answer_starter(&self, notify: Option<Notify>, result: Result<Value, CallError>) {
        let Some((starter, session)) = notify else { return };
        self.runtime.deliver_to(&starter, Envelope::Response { session, result });
    }

    fn init_failed(self: &Arc<Self>, notify: Option<Notify>, message: String) {
        tracing::warn!(event = "init_failed", service = %self.address, kind = self.name(), time_us = super::observe::time_us(self), "init of service {} ({}) failed: {message}", self.name(), self.address);
        if self.runtime.trace_all {
            self.runtime.trace(&Event::InitEnd { address: self.address, ok: false });
        }
        self.notify_init_error(notify, message.clone());
        self.request_exit(ExitReason::InitFailed(message));
    }

    pub(crate) fn notify_init_error(&self, notify: Option<Notify>, message: String) {
        if notify.is_some() {
            let error = CallErrorKind::Init { service: self.name().to_owned(), address: self.address, message }.into();
            self.answer_starter(notify, Err(error));
        }
    }
}
