//! The seam between the runtime core and whatever runs it.
//!
//! The core never touches threads, the clock or OS randomness (the determinism discipline): it
//! asks an [`Executor`] to run services that have work, to tell the time, to wake it later, and
//! to block the embedding thread on a future. Two executors ship: the threaded backend
//! ([`crate::Threaded`]) and the simulator (crate `skygroup-sim`). A third party can implement
//! the trait over tokio or anything else without touching the core.
//!
//! The runtime hands the executor [`Runnable`]s: a service with pending messages. Running one
//! handles up to `budget` of its messages and, if more remain, schedules it again, skynet's
//! fairness rule. The runtime guarantees a service is never handed out twice at once, so an
//! executor may run different runnables on different threads freely (G12 holds by construction).

pub(crate) mod capture;
mod event;
pub mod net;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

// Not part of the API (the simulator's step capture): reachable by `skygroup-sim`, not documented.
#[doc(hidden)]
pub use capture::{Delivery, capture, capture_into};
pub use event::{Event, ExitReason, Message, Registry, To};
pub use net::{ConnId, ListenSpec, ListenerId, Listening, NetError, NetEvent, NetSink, Network};

use crate::core::{Address, ServiceCell};

/// What the runtime core needs from a backend.
pub trait Executor: Send + Sync + 'static {
    /// `service` has work. Call [`Runnable::run`] on it soon, on any thread. The runtime calls
    /// this at most once per runnable until that runnable has run, so a backend needs no
    /// de-duplication. Must not run the service inline (the caller may hold its locks).
    fn schedule(&self, service: Runnable);

    /// The calling thread's turn keeps pushing messages to services that are scheduled
    /// already (a flood, called every so many such pushes): a backend that keeps what this
    /// thread scheduled for this thread to run after the turn (the threaded backend's next
    /// slot) should let its other threads take it now, or a service flooded by this turn would
    /// wait for the whole flood to end while another thread idles. It changes no outcome, only
    /// which thread runs a turn and when. The default (and the simulator, which keeps nothing
    /// per thread) does nothing.
    fn share_kept(&self) {}

    /// Time since the runtime started. Monotonic. The simulator returns virtual time, which
    /// moves a little with every step and jumps to the next timer when nothing is runnable.
    fn now(&self) -> Duration;

    /// Wake `waker` once [`now`](Self::now) has reached `deadline` (immediately if it has).
    /// Wakes for one instant may fire in any order.
    fn wake_at(&self, deadline: Duration, waker: Waker);

    /// Forget the [`wake_at`](Self::wake_at) registration of `waker` (one that
    /// [`Waker::will_wake`] it) for `deadline`, if it has not fired: its future was dropped
    /// (an answered `call_timeout`, a cancelled sleep), so the timer must neither hold memory
    /// until its deadline nor, in the simulator, fire or move virtual time. Of several equal
    /// registrations, one is forgotten. The default keeps the timer (it fires into a waker
    /// nobody needs, which is harmless).
    fn cancel_wake_at(&self, deadline: Duration, waker: &Waker) {
        let _ = (deadline, waker);
    }

    /// Block the calling thread, which is not one of the executor's own, until `future`
    /// completes, driving the services meanwhile if the backend needs that. Returns
    /// `Err(Stalled::Deadlock)` if the backend can tell that `future` can never complete (the simulator:
    /// nothing runnable, no timer pending); the threaded backend just keeps waiting.
    fn block_on(&self, future: Pin<&mut (dyn Future<Output = ()> + Send)>) -> Result<(), Stalled>;

    /// Runs `deliver`, which hands messages to services from a thread that is not one of the
    /// executor's own (a cluster transport's I/O thread with a frame that just came in), and
    /// lets the backend run the turns it scheduled on this thread before returning, instead of
    /// waking a worker for them. Which thread runs a turn is the backend's business (each turn
    /// is still handed out once, G12), so this changes no outcome, only the cost: the threaded
    /// backend runs them here while none of its workers runs a turn (a few turns at most, the rest go to
    /// the workers), which saves two thread wake-ups per cross-node round trip. The default
    /// (and the simulator, where no thread ever sleeps) just runs `deliver`.
    fn help(&self, deliver: &mut dyn FnMut()) {
        deliver();
    }

    /// Stop every thread the executor owns and wait for them. Called once, by
    /// `Runtime::shutdown`, after every service has exited.
    fn shutdown(&self);

    /// Whether the runtime may take its shortcuts (see [`Shortcut`]) in the turn about to run
    /// on the calling thread; the answer may depend on the thread, not on the turn (a turn
    /// nested in another of the same runtime on that thread, such as an inline init or exit,
    /// keeps the enclosing turn's answer). Asked once per turn, so it costs nothing per
    /// message: `Always` on
    /// the threaded backend's own worker threads (unless switched off), `Decide` in the
    /// simulator (then [`take_shortcut`](Self::take_shortcut) answers each one), `Never` by
    /// default.
    fn shortcuts(&self) -> Shortcuts {
        Shortcuts::Never
    }

    /// Whether to take the shortcut `at`, where one is possible now. Only asked when
    /// [`shortcuts`](Self::shortcuts) said `Decide` for the running turn. A yes first delivers
    /// whatever the running step holds back (the simulator's step capture) and ends that capture.
    fn take_shortcut(&self, at: Shortcut) -> bool {
        let _ = at;
        false
    }

    /// Record one runtime event. The simulator keeps these as its trace; the default drops
    /// them. Only called when [`tracing`](Self::tracing) returned true at start-up.
    fn trace(&self, event: &Event<'_>) {
        let _ = event;
    }

    /// Whether [`trace`](Self::trace) wants events (asked once, when the runtime is built).
    fn tracing(&self) -> bool {
        false
    }

    /// Whether [`trace`](Self::trace) wants every event, or only [`Event::Deliver`] and
    /// [`Event::Shortcut`] (asked once, when the runtime is built, if [`tracing`](Self::tracing)
    /// said yes). The simulator with its records off keeps only those two (its delivery count,
    /// its fingerprint and its shortcut counts), so the runtime skips building and handing over
    /// the others. Only which events reach `trace` changes: a session number a traced message
    /// takes is taken all the same. Default: every event.
    fn traces_every_event(&self) -> bool {
        true
    }

    /// Whether a fault fires at `site` (the simulator's fault injection). Only asked when
    /// [`faults`](Self::faults) returned true at start-up; never for the runtime's own services.
    fn inject(&self, site: FaultSite<'_>) -> bool {
        let _ = site;
        false
    }

    /// Whether [`inject`](Self::inject) should be asked (asked once, when the runtime is built).
    fn faults(&self) -> bool {
        false
    }

    /// The seed of the random generator of the service at `service` (`Ctx::rng`). The
    /// simulator derives it from its seed and the address, so a run's draws replay (S1); the
    /// default, which the threaded backend keeps, draws it from the OS (through std's
    /// randomly keyed hasher), so two runtimes draw differently.
    fn seed_for(&self, service: Address) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(service.raw());
        hasher.finish()
    }

    /// The backend's network, if it has one (see [`net`]): the threaded backend's poller
    /// thread (started at the first `listen`), the simulator's virtual network. The default has
    /// none, and a gate's init then fails saying so.
    fn network(&self) -> Option<&dyn Network> {
        None
    }
}

/// Whether a turn may take the runtime's shortcuts (see [`Executor::shortcuts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcuts {
    /// Every message takes the ordinary path: into a mailbox, through [`Executor::schedule`].
    Never,
    /// Every shortcut is taken where it is possible, except [`Shortcut::InlineSend`].
    Always,
    /// Each possible shortcut is put to [`Executor::take_shortcut`].
    Decide,
}

/// A point where the runtime may skip the ordinary path of a message (see the runtime's
/// `core/handoff.rs`). Each keeps the contract (G6, G12); together they let the receiver of a
/// message react before its sender's turn ends, which is an order the threaded backend shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Shortcut {
    /// A call or send to an idle service's `command_sync` handler runs that handler on the
    /// sender's stack, with no envelope.
    Direct,
    /// A call to an idle service runs the receiver's turn for it at once, nested.
    InlineTurn,
    /// A new service's init runs at once, nested in the turn that started it.
    InlineInit,
    /// An answer for a service whose turn runs further up this thread's stack completes its
    /// call in place, without a mailbox.
    AnswerInPlace,
    /// The resolver of a name is polled at once in the turn that needs it, not as a new task.
    InlinePoll,
    /// A send to an idle service runs the receiver's turn at once, nested: the simulator's
    /// model of the receiver running on another worker while the sender still runs. The
    /// threaded backend never takes this one.
    InlineSend,
    /// A kill of an idle service runs its exit at once, nested in the turn that killed it:
    /// the service leaves the table and its monitors hear of it before `kill` returns.
    InlineExit,
}

impl Shortcut {
    /// Every shortcut, in declaration order (`Shortcut::ALL[s.index()] == s`).
    pub const ALL: [Shortcut; 7] = [
        Shortcut::Direct,
        Shortcut::InlineTurn,
        Shortcut::InlineInit,
        Shortcut::AnswerInPlace,
        Shortcut::InlinePoll,
        Shortcut::InlineSend,
        Shortcut::InlineExit,
    ];

    /// Its position in [`ALL`](Self::ALL), for per-kind counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short lowercase name for traces and reports.
    pub fn name(self) -> &'static str {
        match self {
            Shortcut::Direct => "direct",
            Shortcut::InlineTurn => "inline-turn",
            Shortcut::InlineInit => "inline-init",
            Shortcut::AnswerInPlace => "answer-in-place",
            Shortcut::InlinePoll => "inline-poll",
            Shortcut::InlineSend => "inline-send",
            Shortcut::InlineExit => "inline-exit",
        }
    }
}

/// A point where the simulator may inject a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultSite<'a> {
    /// The init of a new service fails instead of running.
    Init {
        /// The new service.
        address: Address,
        /// Its kind.
        kind: &'a str,
    },
    /// The handler for `command` panics instead of running.
    Handler {
        /// The service.
        address: Address,
        /// Its kind.
        kind: &'a str,
        /// The command about to run.
        command: &'a str,
    },
    /// The service crashes right after a step.
    Crash {
        /// The service.
        address: Address,
        /// Its kind.
        kind: &'a str,
    },
}

/// Why `Executor::block_on` gave up on its future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalled {
    /// The future can never complete: every service is idle or waiting, no timer is pending.
    Deadlock,
    /// The backend's step budget ran out first (a service that never stops working).
    StepLimit(u64),
}

/// A service with pending messages, handed to [`Executor::schedule`].
pub struct Runnable(pub(crate) Arc<ServiceCell>);

impl Runnable {
    /// Handles up to `budget` (at least 1) of the service's pending messages, then schedules it
    /// again if more remain. The threaded backend runs batches; the simulator runs one message
    /// at a time, so it can interleave services at every step.
    pub fn run(self, budget: usize) {
        let cell = self.0;
        cell.run_turn(budget.max(1));
        if !cell.alive() {
            // Its exit may have left this the last reference: kept for the next service started.
            let runtime = Arc::clone(&cell.runtime);
            runtime.keep_exited(cell);
        }
    }

    /// The service's address (stable; the simulator sorts and logs by it).
    pub fn address(&self) -> Address {
        self.0.address
    }
}

impl std::fmt::Debug for Runnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runnable({})", self.0.address)
    }
}
