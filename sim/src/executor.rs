//! The simulator's executor: one thread, virtual time, every choice from the [`Chooser`].
//!
//! A step either runs services or fires timers:
//! - If services are runnable, it picks how many run "at once" (1 to W, the virtual worker
//!   count) and which, runs each for one message under `skygroup::executor::capture`, then
//!   interleaves their held-back deliveries in a chosen order that keeps each one's own order.
//!   That is exactly the freedom the threaded backend has with W workers (S3): which services
//!   run next, and how the sends of handlers running at the same time interleave.
//! - Every step that runs services moves virtual time by [`QUANTUM`], so time passes under
//!   load. A timer whose deadline has passed is due; while services are runnable, a decision
//!   fires the due timers first or lets the services run, and a due timer waits at most
//!   [`DUE_WAIT_MAX`] steps (S3: a timer can fire while other work is runnable).
//! - When nothing is runnable, virtual time jumps to the earliest timer, and every timer due at
//!   that instant fires, in a chosen order.
//! - While a service runs, the runtime asks at each point where it may take a shortcut
//!   (`skygroup::executor::Shortcut`); each answer is a decision. A yes delivers what the step
//!   held back so far and makes the rest of the step's deliveries immediate.
//! - If neither is possible, the run is stalled: whoever waits, waits forever.
//!
//! Besides the trace, it keeps two cheap facts for exploration: a fingerprint of the order in
//! which messages entered each mailbox (two runs with the same fingerprint are the same
//! interleaving as far as services can tell), and any service it was handed twice in one step
//! (run by two workers at once, which breaks G12).
//!
//! What it costs per message matters (exploration makes thousands of runs; `sim-msgs` in the
//! benchmarks times a bare ping-pong). With the trace off (`SimBuilder::trace(false)`: no
//! records, so no oracle and no text) the runtime reports only deliveries (they feed the
//! fingerprint and the counts) and shortcuts (their counts): `Executor::traces_every_event` says
//! no, so it neither builds nor hands over the other events, and it still numbers the sessions
//! of traced direct calls as it would with the trace on. A step allocates nothing
//! (its buffers live in `block_on`'s frame), borrows its state once to pick (plus once per
//! interleaving choice), and keeps its mid-step flags and the shortcut counts outside it.
//! None of this moves a decision: a run with the trace off is the traced run.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use atomic_refcell::{AtomicRefCell, AtomicRefMut};
use skygroup::executor::{Event, Executor, FaultSite, Runnable, Shortcut, Shortcuts, Stalled};
use sync_wrapper::SyncWrapper;

use skygroup::Address;

use crate::chooser::{Choosers, Decision, DecisionKind};
use crate::faults::Faults;
use crate::fingerprint::{Mailboxes, NODE_SHIFT};
use crate::oracle::Violation;
use crate::record::{Happening, Record, stamp};

mod step;

use step::StepScratch;

/// Steps after which a run is stopped as runaway (a service that never stops working).
pub const STEPS_MAX: u64 = 5_000_000;

/// Records reserved up front for a traced run: the built-in scenarios keep 200-700, and growing
/// the vector by doubling copied every record (about 6% of an exploration's instructions).
const RECORDS_RESERVED: usize = 1024;

/// Virtual time one step of services takes.
pub const QUANTUM: Duration = Duration::from_micros(1);

/// Steps a due timer may wait while services run before it fires regardless (fairness).
pub const DUE_WAIT_MAX: u32 = 16;

pub(crate) struct SimExecutor {
    /// Everything a step, a decision or an event changes. Borrowed, not locked: the simulator
    /// runs on one thread (inside its own `block_on`), and no borrow is held while a service
    /// runs, so a borrow never waits (a second one on the same thread, which a lock would have
    /// deadlocked on, panics). A borrow is one compare-and-swap and a plain store, where an
    /// uncontended mutex took a swap and two poison checks besides: it is taken once or more
    /// per delivered message. (`SyncWrapper`: the chooser need not be `Sync`.)
    state: AtomicRefCell<SyncWrapper<State>>,
    workers: usize,
    /// Whether records are kept (`State::tracing`, fixed for the run; read without a borrow).
    tracing: bool,
    /// Whether the picked services of a step are running (a delivery now is mid-step). This
    /// and the two below sit outside the state: set and read on the stepping thread, each a
    /// plain load or store (or one add) instead of a borrow and its release per step or event.
    running: AtomicBool,
    /// A service run earlier in this step holds deliveries back: a shortcut that runs a
    /// service nested could run that one again and let its new messages overtake the held ones
    /// (G6), so none is taken until the step's deliveries are out.
    held_earlier: AtomicBool,
    /// Shortcuts the runtime ran, per kind (`Shortcut::index`).
    shortcuts: [AtomicU64; Shortcut::ALL.len()],
    /// The run's seed: each service's generator is drawn from it and its address (`seed_for`).
    seed: u64,
    /// Itself, for the virtual network's timers (`crate::net`).
    pub(crate) me: std::sync::Weak<SimExecutor>,
}

pub(crate) struct State {
    pub(crate) now: Duration,
    ready: Vec<Runnable>,
    /// Pending timers by (when they fire, id), each with the deadline it was asked for (a
    /// fault may fire it later): what `cancel_wake_at` looks it up by.
    timers: BTreeMap<(Duration, u64), (Duration, Waker)>,
    last_timer: u64,
    chooser: Choosers,
    /// Every choice made with more than one option: (options, chosen).
    decisions: Vec<(u32, u32)>,
    trace: Vec<String>,
    records: Vec<Record>,
    steps: u64,
    /// Stop as runaway after this many steps.
    steps_max: u64,
    delivered: u64,
    /// Keep records (and text lines if `text`).
    pub(crate) tracing: bool,
    text: bool,
    /// Present when the run injects faults.
    faults: Option<Faults>,
    /// Per mailbox, a hash of the messages it received, in order.
    mailboxes: Mailboxes,
    /// Services handed out twice in one step (G12), found by the executor itself.
    overlaps: Vec<Violation>,
    /// The services behind the options of the decision being made (reused buffer).
    options: Vec<Address>,
    /// Steps run since a timer became due without firing it.
    due_waited: u32,
    /// Timer firings while services were runnable.
    timers_under_load: u64,
    /// The virtual network (see `crate::net`).
    pub(crate) net: crate::net::NetState,
    /// The simulated cluster's hub (see `crate::cluster`): empty unless a test makes nodes.
    pub(crate) cluster: crate::cluster::ClusterState,
    /// Runtimes on this executor besides the first (a cluster's nodes): a runtime's shutdown
    /// clears the executor only when it is the last.
    runtimes_more: usize,
    /// The node of the service whose handler ran last (`Event::Handle`): a registry decision
    /// happens in its registry's turn, so this is the node the decision's group lives on.
    handling_node: u64,
}

/// How a [`SimExecutor`] runs, besides its chooser.
pub(crate) struct Settings {
    pub(crate) workers: usize,
    pub(crate) tracing: bool,
    pub(crate) text: bool,
    pub(crate) steps_max: u64,
    /// Seeded network faults (see `crate::net`).
    pub(crate) net_faults: bool,
    /// The run's seed, for the services' generators (`seed_for`).
    pub(crate) seed: u64,
}

/// What one run did, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Steps taken (service steps and timer firings).
    pub steps: u64,
    /// Messages put into mailboxes.
    pub delivered: u64,
    /// Choices with more than one option.
    pub decisions: u64,
    /// Virtual time at the end.
    pub virtual_time: Duration,
    /// Shortcuts the runtime ran, per kind, indexed by `Shortcut::index`.
    pub shortcuts: [u64; Shortcut::ALL.len()],
    /// Times due timers fired while services were runnable.
    pub timers_under_load: u64,
}

impl RunStats {
    /// How often the shortcut `at` ran.
    pub fn shortcut_count(&self, at: Shortcut) -> u64 {
        self.shortcuts[at.index()]
    }
}

impl SimExecutor {
    pub(crate) fn new(
        chooser: Choosers,
        settings: Settings,
        faults: Option<Faults>,
        me: &std::sync::Weak<SimExecutor>,
    ) -> SimExecutor {
        let state = State {
            now: Duration::ZERO,
            ready: Vec::new(),
            timers: BTreeMap::new(),
            last_timer: 0,
            chooser,
            decisions: Vec::new(),
            trace: Vec::new(),
            records: Vec::with_capacity(if settings.tracing { RECORDS_RESERVED } else { 0 }),
            steps: 0,
            steps_max: settings.steps_max,
            delivered: 0,
            tracing: settings.tracing,
            text: settings.tracing && settings.text,
            faults,
            mailboxes: Mailboxes::default(),
            overlaps: Vec::new(),
            options: Vec::new(),
            due_waited: 0,
            timers_under_load: 0,
            net: crate::net::NetState::new(settings.net_faults),
            cluster: crate::cluster::ClusterState::default(),
            runtimes_more: 0,
            handling_node: 0,
        };
        SimExecutor {
            state: AtomicRefCell::new(SyncWrapper::new(state)),
            workers: settings.workers.max(1),
            tracing: settings.tracing,
            running: AtomicBool::new(false),
            held_earlier: AtomicBool::new(false),
            shortcuts: Default::default(),
            seed: settings.seed,
            me: me.clone(),
        }
    }

    pub(crate) fn state(&self) -> AtomicRefMut<'_, State> {
        AtomicRefMut::map(self.state.borrow_mut(), SyncWrapper::get_mut)
    }

    pub(crate) fn trace_lines(&self) -> Vec<String> {
        self.state().trace.clone()
    }

    pub(crate) fn records(&self) -> Vec<Record> {
        self.state().records.clone()
    }

    pub(crate) fn trace_len(&self) -> usize {
        self.state().trace.len()
    }

    /// Moves the trace and the records out (the run is over; saves a copy per run).
    pub(crate) fn take_trace(&self) -> (Vec<String>, Vec<Record>) {
        let mut s = self.state();
        (std::mem::take(&mut s.trace), std::mem::take(&mut s.records))
    }

    pub(crate) fn decisions(&self) -> Vec<(u32, u32)> {
        self.state().decisions.clone()
    }

    pub(crate) fn stats(&self) -> RunStats {
        let s = self.state();
        RunStats {
            steps: s.steps,
            delivered: s.delivered,
            decisions: s.decisions.len() as u64,
            virtual_time: s.now,
            shortcuts: self.shortcuts.each_ref().map(|n| n.load(Ordering::Relaxed)),
            timers_under_load: s.timers_under_load,
        }
    }

    /// A fingerprint of the order messages entered each mailbox (mixed the per-mailbox
    /// hashes, by address): equal for runs no service could tell apart by what it received.
    pub(crate) fn interleaving(&self) -> u64 {
        let s = self.state();
        s.mailboxes.fingerprint()
    }

    pub(crate) fn pending_timers(&self) -> usize {
        self.state().timers.len()
    }

    /// One more runtime shares this executor (a simulated cluster's node).
    pub(crate) fn add_runtime(&self) {
        self.state().runtimes_more += 1;
    }

    pub(crate) fn overlaps(&self) -> Vec<Violation> {
        self.state().overlaps.clone()
    }

    /// [`Executor::trace`] with records kept: counts and fingerprints as without, and the
    /// event as a record (and a text line if text is on). Out of line: the trace-off path stays
    /// a few instructions.
    #[inline(never)]
    fn keep(&self, event: &Event<'_>) {
        let mut state = self.state();
        match event {
            Event::Deliver { to, message } => {
                state.delivered += 1;
                state.mailboxes.note(*to, message);
            }
            Event::Shortcut { shortcut, .. } => self.count_shortcut(*shortcut),
            Event::Handle { at, .. } => state.handling_node = at.raw() >> NODE_SHIFT,
            _ => {}
        }
        let mut happening = Happening::from_event(event);
        match &mut happening {
            Happening::Deliver { mid_step, .. } => *mid_step = self.running.load(Ordering::Relaxed),
            Happening::Spawn { address, group: Some(group), .. } => {
                *group = node_group(address.raw() >> NODE_SHIFT, *group)
            }
            Happening::Registry { group, .. } => *group = node_group(state.handling_node, *group),
            _ => {}
        }
        state.log(happening, || event.to_string());
    }

    fn count_shortcut(&self, at: Shortcut) {
        self.shortcuts[at.index()].fetch_add(1, Ordering::Relaxed);
    }
}

impl State {
    /// Chooses one of `n` options of `kind`; `self.options` names the services behind them
    /// for picks and interleavings.
    pub(crate) fn choose(&mut self, kind: DecisionKind, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let services =
            if matches!(kind, DecisionKind::Pick | DecisionKind::Interleave) { &self.options[..] } else { &[] };
        let chosen = self.chooser.decide(&Decision { kind, options: n, services }).min(n - 1);
        self.decisions.push((n as u32, chosen as u32));
        chosen
    }

    /// Registers a timer that fires at `fires` (asked for `deadline`).
    fn add_timer_at(&mut self, fires: Duration, deadline: Duration, waker: Waker) {
        self.last_timer += 1;
        let id = self.last_timer;
        self.timers.insert((fires, id), (deadline, waker));
    }

    /// A timer of the simulator's own (the virtual network's): never delayed by a fault.
    pub(crate) fn add_timer(&mut self, fires: Duration, waker: Waker) {
        self.add_timer_at(fires, fires, waker);
    }

    /// Records kept so far (an index for a record to point back at).
    pub(crate) fn records_len(&self) -> usize {
        self.records.len()
    }

    /// Keeps one event, as data and (if text is on) as a text line.
    pub(crate) fn log(&mut self, event: Happening, line: impl FnOnce() -> String) {
        if self.text {
            self.trace.push(format!("{} {}", stamp(self.now), line()));
        }
        self.records.push(Record { time: self.now, event });
    }
}

/// A group id as the records show it: the runtime's own id, with the node it lives on in the
/// high bits for a clustered node (group ids count per runtime, so two nodes both have a group
/// 1; the oracle must tell them apart). Outside a cluster (node 0) the id is unchanged.
fn node_group(node: u64, group: u64) -> u64 {
    if group >> NODE_SHIFT == 0 { node << NODE_SHIFT | group } else { group }
}

impl Executor for SimExecutor {
    fn schedule(&self, service: Runnable) {
        self.state().ready.push(service);
    }

    fn now(&self) -> Duration {
        self.state().now
    }

    fn wake_at(&self, deadline: Duration, waker: Waker) {
        let mut state = self.state();
        let late = state.faults.as_mut().map_or(Duration::ZERO, Faults::timer_delay);
        let fires = deadline.saturating_add(late);
        if fires <= state.now {
            drop(state);
            waker.wake();
            return;
        }
        state.add_timer_at(fires, deadline, waker);
    }

    /// Removes the timer: a cancelled timer neither fires nor moves virtual time.
    fn cancel_wake_at(&self, deadline: Duration, waker: &Waker) {
        let mut state = self.state();
        let found =
            state.timers.range((deadline, 0)..).find(|(_, (asked, w))| *asked == deadline && w.will_wake(waker));
        if let Some((&key, _)) = found {
            let removed = state.timers.remove(&key);
            drop(state);
            drop(removed);
        }
    }

    fn block_on(&self, mut future: Pin<&mut (dyn Future<Output = ()> + Send)>) -> Result<(), Stalled> {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut scratch = StepScratch::default();
        loop {
            if flag.0.swap(false, Ordering::AcqRel) && future.as_mut().poll(&mut cx) == Poll::Ready(()) {
                return Ok(());
            }
            self.step(&mut scratch)?;
        }
    }

    /// Clears the timers and runnables, unless other runtimes still run on this executor (a
    /// simulated cluster's nodes share it): then only that runtime is gone.
    fn shutdown(&self) {
        let mut state = self.state();
        if state.runtimes_more > 0 {
            state.runtimes_more -= 1;
            return;
        }
        state.timers.clear();
        state.ready.clear();
    }

    fn shortcuts(&self) -> Shortcuts {
        Shortcuts::Decide
    }

    fn take_shortcut(&self, at: Shortcut) -> bool {
        let nests_another = !matches!(at, Shortcut::AnswerInPlace | Shortcut::InlinePoll);
        if nests_another && self.held_earlier.load(Ordering::Relaxed) {
            return false;
        }
        self.state().choose(DecisionKind::Shortcut, 2) == 1
    }

    fn trace(&self, event: &Event<'_>) {
        // Without records only deliveries (the count, the fingerprint) and shortcuts (their
        // counts) are kept, each under one short borrow; every other event returns before it.
        if self.tracing {
            return self.keep(event);
        }
        match event {
            Event::Deliver { to, message } => {
                let mut state = self.state();
                state.delivered += 1;
                state.mailboxes.note(*to, message);
            }
            Event::Shortcut { shortcut, .. } => self.count_shortcut(*shortcut),
            _ => {}
        }
    }

    fn tracing(&self) -> bool {
        true
    }

    /// Without records only deliveries and shortcuts are kept (see [`Executor::trace`] above).
    fn traces_every_event(&self) -> bool {
        self.tracing
    }

    fn inject(&self, site: FaultSite<'_>) -> bool {
        let mut state = self.state();
        let Some(fault) = state.faults.as_mut().and_then(|f| f.inject(&site)) else { return false };
        if state.tracing {
            state.log(Happening::Fault { site: fault.clone() }, || format!("fault   {fault}"));
        }
        true
    }

    fn faults(&self) -> bool {
        self.state().faults.is_some()
    }

    fn network(&self) -> Option<&dyn skygroup::executor::Network> {
        Some(self)
    }

    /// From the run's seed and the address only (no decision, so the schedule does not move
    /// when a service draws): same seed, same draws (S1).
    fn seed_for(&self, service: Address) -> u64 {
        splitmix64(self.seed ^ splitmix64(service.raw()))
    }
}

/// One step of SplitMix64: a well-mixed 64-bit value from any input.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}
