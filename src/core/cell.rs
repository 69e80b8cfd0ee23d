//! One service's shared cell: its mailbox, its running core, its state and its sessions.
//!
//! Locking protocol (each lock guards one thing; none is held while another is taken, except
//! `core` which the running worker holds for its whole turn):
//! - `mailbox`: pushed by any thread, taken whole by the worker running the service.
//! - `sched` (`schedule.rs`, beside it) is the single-runner guarantee: whoever claims it owns
//!   the service's next turn (hands it to the executor, or runs it directly, `handoff.rs`), and
//!   only that owner releases it, when the turn ends and nothing is pending (mail, leftovers in
//!   the batch, an exit request); so no service is ever queued or run twice at once (G12), and
//!   nobody claims a service with work pending (G6 on the direct path). No message is left
//!   behind (G7): a push marks the mail and claims in one atomic step, and a release fails if
//!   mail came in. See `schedule.rs` for the invariant and `make loom` for its models.
//! - `core`: tasks, recycled handler slots and life-cycle phase; only the runner touches it, for
//!   a whole turn or an async handler run directly (`handoff.rs`), so like `state` it sits
//!   behind a borrow flag, not a lock: the claim already excludes every other runner, so taking
//!   it never waits (a taken flag means two runners, a bug: see [`ServiceCell::try_core`]). A
//!   synchronous handler run directly needs none of it: `started` says the init has returned.
//! - `state`: the user's state (and the context synchronous handlers borrow), behind a borrow
//!   flag rather than a lock: borrowed by the runner only, through `Ctx::with_state` or a
//!   synchronous handler, so taking it never waits.
//! - `sessions`: this service's outstanding calls; touched by its own tasks and its turn.
//!
//! A cell outlives its service only as long as someone holds it; one nobody else holds when its
//! exit's turn ends is kept by the runtime and filled anew for a later service
//! (`kept_cells.rs`): an allocation reused, never a service.

use std::any::Any;
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use atomic_refcell::{AtomicRefCell, AtomicRefMut};
use sync_wrapper::SyncWrapper;

use futures::future::BoxFuture;

use super::address::{Address, Session};
use super::context::Ctx;
use super::error::{CallError, CallErrorKind};
use super::kind::{Args, KindDef, State};
use super::runtime::RuntimeShared;
use super::schedule::Schedule;
use super::session::Sessions;
use super::turn::{ReplyTo, ServiceCore};
use super::value::Value;
use crate::executor::{Event, ExitReason, Message, Runnable, To};
use crate::mutants::{self, Mutant};

/// The name of a command: static in the common case, so a message costs no allocation for it.
pub(crate) type CommandName = std::borrow::Cow<'static, str>;

/// Something a service's mailbox holds.
pub(crate) enum Envelope {
    /// A call (`session > 0`) or send (`session == 0`) from `from`. `via` is the name it was
    /// addressed by, if any: a by-name message that bounces off a dead address is resolved
    /// again instead of lost (G9).
    Request { from: Address, session: Session, command: CommandName, args: Value, via: Option<Name> },
    /// The answer to this service's call `session`.
    Response { session: Session, result: Result<Value, CallError> },
    /// A waker fired for task `task` of this service.
    Wake { task: usize },
    /// A new task of this service.
    Fork { task: BoxFuture<'static, ()> },
    /// The service's init; the first envelope of every service started from a kind.
    Init { args: Args, prelude: Option<Prelude>, notify: Option<Notify> },
}

/// Whom a new service's init answers: the starter's cell (answered in hand, with no lookup in
/// the service table) and the session its start waits on.
pub(crate) type Notify = (Arc<ServiceCell>, Session);

/// A service name as messages carry it: interned (see [`intern`]), so carrying it costs a copy,
/// not a reference count.
pub(crate) type Name = &'static str;

/// The one shared copy of `name`, kept for the process's life. Only names that resolved to a
/// service are interned, and those are kind names, so the set stays as small as the catalogs.
/// (Strings only: nothing that reaches behaviour is numbered or ordered from here.)
pub(crate) fn intern(name: &str) -> Name {
    static INTERNED: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut interned = lock(&INTERNED);
    if let Some(known) = interned.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    interned.insert(leaked);
    leaked
}

/// Work the group layer runs before a kind's init (resolving its dependency list, G5).
pub(crate) type Prelude = BoxFuture<'static, anyhow::Result<()>>;

impl Envelope {
    pub(crate) fn message(&self) -> Message<'_> {
        match self {
            Envelope::Request { from, session, command, args, via } => {
                Message::Request { from: *from, session: *session, command, args, via: *via }
            }
            Envelope::Response { session, result } => Message::Response { session: *session, ok: result.is_ok() },
            Envelope::Wake { task } => Message::Wake { task: *task },
            Envelope::Fork { .. } => Message::Fork,
            Envelope::Init { .. } => Message::Init,
        }
    }
}

pub(crate) struct Mailbox {
    pub(crate) queue: VecDeque<Envelope>,
    /// The service has exited: pushes bounce.
    pub(crate) closed: bool,
    /// Watchers (service, session) to answer when this service exits.
    pub(crate) monitors: super::watchers::Watchers,
    /// The longest `queue` has been (`ServiceStats::peak_queue_len`).
    pub(crate) peak: usize,
    /// The length whose crossing logs the next overload warning (doubled at each).
    pub(crate) warn_at: usize,
}

/// Keeps the fields after it off the cache lines of what it holds: 64 bytes of nothing (the
/// line of x86-64 and of most ARM cores) follow it. With the cell's cold fields before it, this
/// separates the mailbox from the fields around it without aligning the cell: an allocation
/// aligned to 64 bytes goes through glibc's `posix_memalign`, which cost about 490 instructions
/// more per spawn and stop (callgrind, `skygroup-bench spawn`) than a plain one.
pub(crate) struct Spaced<T> {
    value: T,
    _gap: [u8; 64],
}

impl<T> Spaced<T> {
    fn new(value: T) -> Spaced<T> {
        Spaced { value, _gap: [0; 64] }
    }
}

impl<T> std::ops::Deref for Spaced<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Counters an operator reads (G7, G11). Relaxed atomics: they are statistics, not sync.
#[derive(Default)]
pub(crate) struct ServiceCounters {
    pub(crate) handled: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
    /// The span's group and the console's trace switch (see `observe.rs`).
    pub(crate) observed: super::observe::Observed,
}

impl ServiceCounters {
    /// Only the service's runner counts what it handled (holding `core`), so a load and a store
    /// suffice: no locked instruction per message.
    pub(crate) fn count_handled(&self) {
        self.handled.store(self.handled.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// The cell's fields in groups, in this order (`repr(C)`), so that a sender on one core and the
/// runner on another do not pull each other's cache lines per message: first what both read
/// and hardly anyone writes (the address, the kind, the runtime, the scheduling word, the
/// flags); then fields touched only at an exit or a first use (the exit reason, the outbox, the
/// random generator: over 64 bytes, so no line holds both the first group and the mailbox); then
/// the mailbox, which every push writes, followed by 64 bytes of nothing ([`Spaced`]); then what
/// the runner writes per message (its core, the state's borrow flag, the counters). No line
/// holds fields of two groups whatever the allocation's alignment (the test below checks the
/// distances). Measured: a flood that queues for a runner on the other core (see `Mailbox`).
#[repr(C)]
pub(crate) struct ServiceCell {
    pub(crate) address: Address,
    pub(crate) kind: Arc<KindDef>,
    pub(crate) runtime: Arc<RuntimeShared>,
    /// The group layer's per-service data (its group, name cache, pending sends), if any.
    pub(crate) membership: Option<Arc<dyn Any + Send + Sync>>,
    /// Who owns the next turn, whether work waits for one, and whether an exit was asked
    /// for: see the module docs and `schedule.rs`.
    pub(crate) sched: Schedule,
    /// Its init has returned: written by its runner, read by whoever claims it next.
    pub(crate) started: AtomicBool,
    /// Set when the service starts its exit; responders dropped after it report "exited".
    pub(crate) exiting: AtomicBool,
    /// A `Wake` for task slot 0, whose waker is this cell, is pending (`waker.rs`).
    pub(crate) first_slot_notified: AtomicBool,
    /// Why, once requested; the first request wins.
    pub(crate) exit_reason: Mutex<Option<ExitReason>>,
    /// Its requests waiting behind its own by-name messages (G6, see `outbox.rs`).
    pub(crate) outbox: super::outbox::Outbox,
    /// Its random generator, seeded at its first draw (`Ctx::rng`, `rng.rs`).
    pub(crate) rng: super::rng::RngSlot,
    pub(crate) mailbox: Spaced<Mutex<Mailbox>>,
    /// Only its runner takes the core (see the module docs), so a borrow flag is enough: one
    /// compare-and-swap to take it and a plain store to give it back, where a mutex costs a
    /// second atomic read-modify-write on every turn and every async handler run directly.
    ///
    /// Out of the cell's drop glue (`ManuallyDrop`): an exited idle service's core holds no
    /// memory, and dropping its empty containers one by one cost about 130 instructions per
    /// spawn and stop; the cell's `Drop` drops it only where it holds some.
    pub(crate) core: AtomicRefCell<SyncWrapper<ManuallyDrop<ServiceCore>>>,
    /// Only its runner borrows the state (the claim excludes every other runner), so a borrow
    /// flag is enough: one compare-and-swap to take it, a plain store to give it back, where a
    /// mutex costs a second atomic read-modify-write per handler. See `state_slot`.
    pub(crate) state: AtomicRefCell<SyncWrapper<StateSlot>>,
    /// Out of the drop glue like `core` (the sessions, not their lock, which may hold memory of
    /// its own on some platforms): dropped only where they hold memory.
    pub(crate) sessions: Mutex<ManuallyDrop<Sessions>>,
    pub(crate) counters: ServiceCounters,
}

/// A service's state, once its init has returned, and the context its synchronous handlers
/// borrow (made once, kept beside the state they are handed with it). The context refers to the
/// service's own cell, so `finalize` empties the slot (else the cell would keep itself alive).
#[derive(Default)]
pub(crate) struct StateSlot {
    pub(crate) state: Option<State>,
    pub(crate) sync_ctx: Option<Ctx>,
}

impl ServiceCell {
    /// The state slot, for its runner. A `with_state` from another thread (a context kept
    /// outside its service, which is a misuse) holds it only for its closure: waited out.
    pub(crate) fn state_slot(&self) -> AtomicRefMut<'_, StateSlot> {
        loop {
            if let Ok(slot) = self.state.try_borrow_mut() {
                return AtomicRefMut::map(slot, SyncWrapper::get_mut);
            }
            std::thread::yield_now();
        }
    }

    /// The core, for its runner (the holder of its claim); `None` if it is taken, which only a
    /// second runner at once could cause (a bug, or a mutant that models one). A panic while it
    /// is taken gives it back as it unwinds (no poisoning to ignore, unlike a mutex).
    pub(crate) fn try_core(&self) -> Option<AtomicRefMut<'_, ServiceCore>> {
        self.core.try_borrow_mut().ok().map(|core| AtomicRefMut::map(core, |core| &mut **core.get_mut()))
    }

    /// The core, for its runner, which nobody else can hold (see [`try_core`](Self::try_core)).
    pub(crate) fn runner_core(&self) -> AtomicRefMut<'_, ServiceCore> {
        match self.try_core() {
            Some(core) => core,
            None => unreachable!("service {} was run by two runners at once", self.address),
        }
    }

    /// Whether the service has not started its exit (it leaves the service table right after).
    pub(crate) fn alive(&self) -> bool {
        !self.exiting.load(Ordering::Acquire)
    }

    pub(crate) fn new(
        address: Address,
        kind: Arc<KindDef>,
        runtime: Arc<RuntimeShared>,
        membership: Option<Arc<dyn Any + Send + Sync>>,
        running: bool,
    ) -> ServiceCell {
        let warn_at = kind.overload_warning;
        let mailbox = Mailbox { queue: VecDeque::new(), closed: false, monitors: Default::default(), peak: 0, warn_at };
        ServiceCell {
            address,
            kind,
            runtime,
            membership,
            mailbox: Spaced::new(Mutex::new(mailbox)),
            core: AtomicRefCell::new(SyncWrapper::new(ManuallyDrop::new(ServiceCore::new(running)))),
            state: AtomicRefCell::new(SyncWrapper::new(StateSlot::default())),
            started: AtomicBool::new(running),
            first_slot_notified: AtomicBool::new(false),
            sessions: Mutex::new(ManuallyDrop::new(Sessions::default())),
            exit_reason: Mutex::new(None),
            exiting: AtomicBool::new(false),
            counters: ServiceCounters::default(),
            sched: Schedule::new(),
            outbox: super::outbox::Outbox::default(),
            rng: super::rng::RngSlot::default(),
        }
    }

    /// The kind's name: how errors and listings name this service.
    pub(crate) fn name(&self) -> &str {
        &self.kind.name
    }

    /// Puts `envelope` into the mailbox. `Ok(true)`: the service was idle and is now marked
    /// scheduled, so the caller must get its turn run (see `RuntimeShared::start_turns`). Hands
    /// the envelope back if the service has exited.
    pub(crate) fn push(&self, envelope: Envelope) -> Result<bool, Envelope> {
        let claimed = {
            let mut mailbox = lock(&self.mailbox);
            if mailbox.closed {
                return Err(envelope);
            }
            if mailbox.queue.len() >= self.kind.mailbox_limit && matches!(envelope, Envelope::Request { .. }) {
                drop(mailbox);
                self.refuse_overloaded(envelope);
                return Ok(false);
            }
            if self.runtime.tracing {
                self.runtime.trace(&Event::Deliver { to: self.address, message: envelope.message() });
            }
            mailbox.queue.push_back(envelope);
            // A flood that grows the queue sets a new peak with every push: the store is
            // inline, only a warning goes out of line (a call per push was 13 instructions).
            let len = mailbox.queue.len();
            if len > mailbox.peak {
                mailbox.peak = len;
                if len >= mailbox.warn_at {
                    self.overloaded(&mut mailbox);
                }
            }
            self.sched.mail()
        };
        if !claimed {
            pushed_behind(&self.runtime);
        }
        Ok(claimed || mutants::active(Mutant::OverlappingHandlers))
    }

    /// A mailbox longer than ever and at its overload length: warned about at each doubling
    /// of the kind's overload length (skynet's overload warning). Out of line: a push below
    /// that length costs two comparisons.
    #[cold]
    fn overloaded(&self, mailbox: &mut Mailbox) {
        let len = mailbox.queue.len();
        mailbox.warn_at = mailbox.warn_at.saturating_mul(2);
        tracing::warn!(
            event = "overload",
            service = %self.address,
            kind = self.name(),
            queue_len = len,
            time_us = super::observe::time_us(self),
            "service {} ({}) is overloaded: {len} messages wait in its mailbox (next warning at {})",
            self.name(),
            self.address,
            mailbox.warn_at
        );
    }

    /// A request that found the mailbox at its kind's limit: a call gets `Overloaded`, a send
    /// is a dead letter (see `ServiceKind::mailbox_limit`).
    #[cold]
    fn refuse_overloaded(&self, envelope: Envelope) {
        let Envelope::Request { from, session, command, .. } = envelope else { return };
        if session == 0 {
            return self.runtime.dead_letter(from, self.address, &command);
        }
        let limit = self.kind.mailbox_limit;
        let (service, address) = (self.name().to_owned(), self.address);
        let error = CallErrorKind::Overloaded { service, address, command: command.to_string(), limit };
        self.runtime.answer(ReplyTo { to: from, session, command }, Err(error.into()));
    }

    /// Records that this service issued a message (before any queueing by name).
    pub(crate) fn trace_issue(&self, to: To<'_>, session: Session, command: &str, args: &Value) {
        if self.runtime.trace_all {
            self.runtime.trace(&Event::Issue { from: self.address, to, session, command, args });
        }
    }

    /// Takes the whole mailbox into `batch` once the batch is used up: the two queues swap
    /// buffers under one lock, so no envelope is moved, and the emptied buffer is reused.
    pub(crate) fn take_batch(&self, batch: &mut VecDeque<Envelope>) {
        if batch.is_empty() {
            let mut mailbox = lock(&self.mailbox);
            std::mem::swap(batch, &mut mailbox.queue);
            self.sched.unmail();
        }
    }

    /// Asks the service to exit at its next step (between two messages, never mid-handler).
    pub(crate) fn request_exit(self: &Arc<Self>, reason: ExitReason) {
        lock(&self.exit_reason).get_or_insert(reason);
        // An exited service keeps its claim for good, so this claims nothing once it is closed.
        if self.sched.request_exit() {
            self.runtime.executor.schedule(Runnable(self.clone()));
        }
    }

    /// Ends a turn: clears `scheduled` if nothing is left (in the batch or the mailbox), else
    /// schedules again (at the back of the run queue: fairness).
    pub(crate) fn finish_turn(self: &Arc<Self>, batched: bool) {
        if self.sched.finish(batched) {
            self.runtime.executor.schedule(Runnable(self.clone()));
        }
    }

    /// Messages waiting: in the mailbox, and taken out but not handled yet (as of the last turn).
    pub(crate) fn queue_len(&self) -> usize {
        lock(&self.mailbox).queue.len() + self.sched.batched()
    }
}

/// Pushes to a service already scheduled, made by one thread in a row, after which the thread
/// tells its executor ([`Executor::share_kept`](crate::Executor::share_kept)): a turn that
/// pushes this much to busy services is a flood that goes on, and a service this turn scheduled
/// (the one it floods, most often) must not wait behind it for a thread of its own. About 12
/// microseconds of pushes; a turn that stops sooner lets its worker run what it kept anyway.
const SHARE_AFTER: u32 = 256;

thread_local! {
    /// Pushes this thread made to services already scheduled since it last told its executor.
    /// Per thread, not per runtime: it only says when a backend may move a turn to another of
    /// its threads (the simulator keeps nothing per thread and ignores it), so it reaches no
    /// outcome.
    static PUSHED_BEHIND: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Counts a push to a service already scheduled; every [`SHARE_AFTER`]th tells the executor.
#[inline]
fn pushed_behind(runtime: &RuntimeShared) {
    let pushed = PUSHED_BEHIND.get() + 1;
    if pushed < SHARE_AFTER {
        PUSHED_BEHIND.set(pushed);
    } else {
        PUSHED_BEHIND.set(0);
        runtime.executor.share_kept();
    }
}

impl Drop for ServiceCell {
    /// Drops the core and the sessions only where they hold memory (see the fields): empty
    /// ones have nothing to free and nothing whose drop is user code (no task, envelope or
    /// answer), so leaving them undropped leaks nothing.
    fn drop(&mut self) {
        let core = self.core.get_mut().get_mut();
        if core.holds_memory() {
            let core = std::mem::replace(core, ManuallyDrop::new(ServiceCore::new(false)));
            drop(ManuallyDrop::into_inner(core));
        }
        let sessions = self.sessions.get_mut().unwrap_or_else(|e| e.into_inner());
        if sessions.holds_memory() {
            let sessions = std::mem::replace(sessions, ManuallyDrop::new(Sessions::default()));
            drop(ManuallyDrop::into_inner(sessions));
        }
    }
}

/// Locks `m`, ignoring poisoning: every critical section here leaves its data consistent, and
/// user panics are caught before they could cross one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::ServiceCell;
    use std::mem::{align_of, offset_of, size_of};

    /// The grouping `ServiceCell`'s docs describe: what both sides read first, the mailbox
    /// (written by every push) at least a line's length away from it and from the runner's
    /// fields after it, and no alignment that would make every cell's allocation a slow one.
    #[test]
    fn the_mailbox_shares_no_cache_line() {
        const LINE: usize = 64;
        assert_eq!(align_of::<ServiceCell>(), 8);
        let first_end = [
            offset_of!(ServiceCell, exiting) + 1,
            offset_of!(ServiceCell, first_slot_notified) + 1,
            offset_of!(ServiceCell, started) + 1,
            offset_of!(ServiceCell, sched) + size_of::<super::Schedule>(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let mailbox = offset_of!(ServiceCell, mailbox);
        let mailbox_end = mailbox + size_of::<std::sync::Mutex<super::Mailbox>>();
        assert!(mailbox >= first_end + LINE - 1, "the first group and the mailbox may share a line");
        for runner in [offset_of!(ServiceCell, core), offset_of!(ServiceCell, state), offset_of!(ServiceCell, counters)]
        {
            assert!(runner >= mailbox_end + LINE - 1, "the mailbox and the runner's fields may share a line");
        }
    }

    /// A fresh runtime faults in every cell it makes (10,000 a round in `skygroup-bench peers
    /// spawn`), so a cell's bytes are time: what grows it should say why. 672 bytes: the core's
    /// rare lists boxed (`turn.rs`'s `Rare`), a waiting session's task a `u32`.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_cell_stays_small() {
        assert!(size_of::<ServiceCell>() <= 672, "a cell takes {} bytes", size_of::<ServiceCell>());
        assert!(size_of::<super::ServiceCore>() <= 112);
        assert!(size_of::<crate::core::session::Waiting>() <= 96);
    }
}
