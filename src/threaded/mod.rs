//! The threaded backend: skynet's worker model on OS threads.
//!
//! Services with pending messages sit in run queues (`queue.rs`): one per worker, where what
//! that worker schedules goes, and one shared injector for the other threads; an idle worker
//! steals from the others. A worker takes one service, handles a bounded batch of its messages
//! and puts it back at the end of its own queue if more remain (fairness). A service a worker
//! schedules while running goes to that worker's one-entry "next" slot instead (a LIFO slot, as
//! in tokio): a call to an idle service is then answered on the same thread without a
//! cross-thread wake-up. The slot yields to the queues after a few uses in a row, so it cannot
//! starve other services. Nor can the turn that filled it keep it for long: a turn that goes on
//! pushing to services already scheduled (a flood, whose receiver it scheduled: its first push
//! claimed it, or a run of it directly found mail) moves the slot's runnable to its own queue
//! every few hundred such pushes (`Executor::share_kept`), where the idle worker steals it; so
//! the receiver drains on the other worker while the flood goes on, instead of after it. Idle workers sleep on a condition variable (an idle runtime uses no
//! CPU); a timer thread fires `wake_at` deadlines. A thread that is not a worker but hands
//! services a message while no worker runs a turn (a cluster transport's I/O thread with a frame,
//! through `Executor::help`) runs the few turns that follow itself rather than wake a worker:
//! a cross-node call then costs no wake-up beyond the socket's. Helped turns that run long
//! pause this for a while, so heavy handlers still spread over the workers.

mod net;
mod queue;
mod timers;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::lock;
use crate::executor::{Executor, Network, Runnable, Shortcuts, Stalled};
use queue::{Local, RunQueue};
use timers::Timers;

/// Messages a worker handles from one service before it moves on.
const BATCH: usize = 64;
/// Turns a worker takes from its next slot in a row before it serves the shared queue.
const NEXT_SLOT_RUNS_MAX: u32 = 16;
/// Turns a helping thread (`Executor::help`) runs at most per delivery; the rest go to the
/// workers, so a transport's I/O thread never stays away from its sockets for long.
const HELP_TURNS_MAX: usize = 4;
/// Helped turns that take longer than this (together, per delivery) [`HELP_SLOW_STREAK`] times
/// in a row pause helping for [`HELP_PAUSE`]: a wake-up costs a few microseconds, so turns this
/// long are better run by the workers, in parallel, than one after another on the helping
/// thread.
const HELP_SLOW: Duration = Duration::from_micros(200);
/// See [`HELP_SLOW`].
const HELP_SLOW_STREAK: u32 = 3;
/// See [`HELP_SLOW`].
const HELP_PAUSE: Duration = Duration::from_millis(10);

/// The multithreaded executor. Build a runtime on it with [`Runtime::threaded`].
///
/// [`Runtime::threaded`]: crate::Runtime::threaded
pub struct Threaded {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The network poller thread, started by the first use of the network (a runtime that
    /// never listens has no such thread); `None` inside if it could not start.
    net: OnceLock<Option<net::Poller>>,
}

struct Shared {
    queue: RunQueue<Runnable>,
    stop: AtomicBool,
    timers: Timers,
    start: Instant,
    /// Whether turns on the workers take the runtime's shortcuts (see [`Builder::shortcuts`]).
    shortcuts: bool,
    /// Until when (nanoseconds since `start`) helping threads leave turns to the workers: set
    /// when helped turns ran long ([`HELP_SLOW`]) several times in a row, so heavy handlers
    /// spread over the workers instead of queueing on a transport's one I/O thread.
    help_paused_until: AtomicU64,
    /// Helped deliveries in a row whose turns ran long (a preempted helper makes one slow now
    /// and then; a heavy handler makes every one).
    help_slow_streak: AtomicU32,
}

thread_local! {
    /// On a worker thread: its executor, its next slot and its own run queue.
    static WORKER: RefCell<Option<WorkerState>> = const { RefCell::new(None) };
}

thread_local! {
    /// On a thread inside [`Executor::help`] (not a worker): the turns it scheduled while no
    /// worker ran one, which it runs itself before `help` returns.
    static HELPER: RefCell<Option<Helper>> = const { RefCell::new(None) };
}

/// What a helping thread holds (see [`HELPER`]).
struct Helper {
    shared: Arc<Shared>,
    ready: std::collections::VecDeque<Runnable>,
}

/// What a worker thread keeps for itself.
struct WorkerState {
    shared: Arc<Shared>,
    /// The next slot: the last service this worker scheduled, run before its queue's.
    slot: Option<Runnable>,
    local: Local<Runnable>,
}

/// Settings of a [`Threaded`] backend, from [`Threaded::builder`].
///
/// ```
/// use skygroup::{Runtime, Threaded};
/// let rt = Runtime::new(Threaded::builder().workers(2).shortcuts(false).build());
/// # drop(rt);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    shortcuts: bool,
}

impl Builder {
    /// Worker threads (0, the default: one per available core).
    pub fn workers(mut self, workers: usize) -> Builder {
        self.workers = workers;
        self
    }

    /// Whether the runtime takes its shortcuts (default: yes): a call or send to an idle
    /// service's `command_sync` handler runs it on the caller's stack, a call to an idle service
    /// or a new service's init runs its turn at once on the same worker, an answer for a
    /// service whose turn runs on that worker completes in place. Each keeps the contract; off,
    /// every message goes through a mailbox and the run queue (slower, and no handler ever runs
    /// on another service's stack), which is useful to tell a bug in them from one elsewhere.
    pub fn shortcuts(mut self, shortcuts: bool) -> Builder {
        self.shortcuts = shortcuts;
        self
    }

    /// Starts the worker threads and the timer thread.
    pub fn build(self) -> Threaded {
        Threaded::start(self.workers, self.shortcuts)
    }
}

impl Threaded {
    /// Starts `workers` worker threads (0: one per available core) and a timer thread, with the
    /// shortcuts on. See [`builder`](Self::builder) for more settings.
    pub fn new(workers: usize) -> Threaded {
        Threaded::start(workers, true)
    }

    /// Settings for a threaded backend: `Threaded::builder().workers(2).shortcuts(false).build()`.
    pub fn builder() -> Builder {
        Builder { workers: 0, shortcuts: true }
    }

    fn start(workers: usize, shortcuts: bool) -> Threaded {
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (queue, locals) = RunQueue::new(workers);
        let shared = Arc::new(Shared {
            queue,
            stop: AtomicBool::new(false),
            timers: Timers::default(),
            start: Instant::now(),
            shortcuts,
            help_paused_until: AtomicU64::new(0),
            help_slow_streak: AtomicU32::new(0),
        });
        let mut threads = Vec::with_capacity(workers + 1);
        for (i, local) in locals.into_iter().enumerate() {
            let shared = shared.clone();
            let thread = std::thread::Builder::new().name(format!("skygroup-worker-{i}"));
            threads.push(thread.spawn(move || worker(shared, local)).expect("spawn a worker thread"));
        }
        let timer_shared = shared.clone();
        let thread = std::thread::Builder::new().name("skygroup-timers".into());
        threads.push(
            thread
                .spawn(move || timer_shared.timers.run(timer_shared.start, &timer_shared.stop))
                .expect("spawn the timer thread"),
        );
        Threaded { shared, threads: Mutex::new(threads), net: OnceLock::new() }
    }
}

impl Threaded {
    /// Timers registered and neither fired nor cancelled (for tests that check timers are
    /// cancelled; not part of the API).
    #[doc(hidden)]
    pub fn pending_timers(&self) -> usize {
        self.shared.timers.len()
    }
}

fn worker(shared: Arc<Shared>, local: Local<Runnable>) {
    WORKER.with(|w| *w.borrow_mut() = Some(WorkerState { shared: shared.clone(), slot: None, local }));
    let mut next_slot_runs = 0;
    while let Some(runnable) = WORKER.with(|w| next_runnable(w.borrow_mut().as_mut()?, &mut next_slot_runs)) {
        run_caught(runnable);
    }
    // Dropped outside the borrow: what the slot and the queue hold may wake something.
    let state = WORKER.with(|w| w.borrow_mut().take());
    drop(state);
}

/// Runs a turn of `runnable`. The last line: a turn catches every panic of user code itself, so
/// none gets here; if one ever does, the thread still lives on (no worker dies for good, no
/// transport thread either).
fn run_caught(runnable: Runnable) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runnable.run(BATCH))) {
        let message = crate::core::panic_message(&*panic);
        tracing::error!("a panic escaped a service's turn: {message}");
    }
}

/// Ends a thread's [`Executor::help`]: the turns it kept and did not run go to the workers.
struct HelpEnds<'a>(&'a Shared);

impl Drop for HelpEnds<'_> {
    fn drop(&mut self) {
        let left = HELPER.with(|h| h.borrow_mut().take()).map(|helper| helper.ready).unwrap_or_default();
        for runnable in left {
            self.0.queue.push(runnable);
        }
    }
}

/// The worker's next runnable: its next slot's, unless the slot has run
/// [`NEXT_SLOT_RUNS_MAX`] times in a row while something else waits (then the slot's goes to
/// the back of the worker's queue); else the queues', sleeping until there is one. None: stop.
/// Runs no user code, so the worker's state stays borrowed meanwhile.
fn next_runnable(worker: &mut WorkerState, next_slot_runs: &mut u32) -> Option<Runnable> {
    let queue = &worker.shared.queue;
    if *next_slot_runs >= NEXT_SLOT_RUNS_MAX && !queue.has_ready(&worker.local) {
        *next_slot_runs = 0; // nothing else waits: the slot may keep the worker
    }
    if *next_slot_runs < NEXT_SLOT_RUNS_MAX {
        if let Some(runnable) = worker.slot.take() {
            *next_slot_runs += 1;
            return Some(runnable);
        }
    } else if let Some(runnable) = worker.slot.take() {
        // Let the queues go first; the slot's runnable waits its turn in the worker's own.
        queue.push_local(&worker.local, runnable);
    }
    *next_slot_runs = 0;
    queue.next(&mut worker.local)
}

impl Executor for Threaded {
    fn schedule(&self, service: Runnable) {
        let outside = WORKER.with(|w| match w.borrow_mut().as_mut() {
            Some(worker) if Arc::ptr_eq(&worker.shared, &self.shared) => {
                if let Some(displaced) = worker.slot.replace(service) {
                    self.shared.queue.push_local(&worker.local, displaced);
                }
                None
            }
            _ => Some(service),
        });
        let Some(runnable) = outside else { return };
        // A helping thread keeps what it schedules while no worker runs: no wake-up.
        let kept = HELPER.with(|h| match h.borrow_mut().as_mut() {
            Some(helper) if Arc::ptr_eq(&helper.shared, &self.shared) && self.shared.queue.all_idle() => {
                helper.ready.push_back(runnable);
                None
            }
            _ => Some(runnable),
        });
        if let Some(runnable) = kept {
            self.shared.queue.push(runnable);
        }
    }

    /// The next slot's runnable goes to the back of this worker's own queue, where an idle
    /// worker steals it (woken if all sleep): the turn that kept it floods on (see the module
    /// docs).
    fn share_kept(&self) {
        WORKER.with(|w| {
            if let Some(worker) = w.borrow_mut().as_mut()
                && Arc::ptr_eq(&worker.shared, &self.shared)
                && let Some(kept) = worker.slot.take()
            {
                self.shared.queue.push_local(&worker.local, kept);
            }
        });
    }

    fn help(&self, deliver: &mut dyn FnMut()) {
        let busy = WORKER.with(|w| w.borrow().is_some()) || HELPER.with(|h| h.borrow().is_some());
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let started = self.now();
        let paused = nanos(started) < self.shared.help_paused_until.load(Ordering::Relaxed);
        if busy || paused || self.shared.stop.load(Ordering::Acquire) {
            return deliver();
        }
        let helper = Helper { shared: self.shared.clone(), ready: std::collections::VecDeque::new() };
        HELPER.with(|h| *h.borrow_mut() = Some(helper));
        // Whatever happens (a panic in `deliver` included), what is left goes to the workers.
        let _leave = HelpEnds(&self.shared);
        deliver();
        for _ in 0..HELP_TURNS_MAX {
            let Some(runnable) = HELPER.with(|h| h.borrow_mut().as_mut()?.ready.pop_front()) else { break };
            run_caught(runnable);
        }
        let now = self.now();
        let streak = &self.shared.help_slow_streak;
        if now.saturating_sub(started) <= HELP_SLOW {
            streak.store(0, Ordering::Relaxed);
        } else if streak.fetch_add(1, Ordering::Relaxed) + 1 >= HELP_SLOW_STREAK {
            streak.store(0, Ordering::Relaxed);
            self.shared.help_paused_until.store(nanos(now + HELP_PAUSE), Ordering::Relaxed);
        }
    }

    fn shortcuts(&self) -> Shortcuts {
        let on_worker =
            || WORKER.with(|w| w.borrow().as_ref().is_some_and(|worker| Arc::ptr_eq(&worker.shared, &self.shared)));
        if self.shared.shortcuts && on_worker() { Shortcuts::Always } else { Shortcuts::Never }
    }

    fn now(&self) -> Duration {
        self.shared.start.elapsed()
    }

    fn wake_at(&self, deadline: Duration, waker: Waker) {
        if self.now() >= deadline {
            waker.wake();
        } else {
            self.shared.timers.add(deadline, waker);
        }
    }

    fn cancel_wake_at(&self, deadline: Duration, waker: &Waker) {
        self.shared.timers.cancel(deadline, waker);
    }

    fn block_on(&self, future: Pin<&mut (dyn Future<Output = ()> + Send)>) -> Result<(), Stalled> {
        futures::executor::block_on(future);
        Ok(())
    }

    fn network(&self) -> Option<&dyn Network> {
        let poller = self.net.get_or_init(|| {
            net::Poller::start().map_err(|e| tracing::error!("cannot start the network poller: {e}")).ok()
        });
        poller.as_ref().map(|p| p as &dyn Network)
    }

    fn shutdown(&self) {
        if let Some(Some(poller)) = self.net.get() {
            poller.stop();
        }
        self.shared.stop.store(true, Ordering::Release);
        self.shared.queue.stop();
        self.shared.timers.stop();
        let current = std::thread::current().id();
        for thread in lock(&self.threads).drain(..) {
            if thread.thread().id() != current {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Threaded {
    fn drop(&mut self) {
        self.shutdown();
    }
}
