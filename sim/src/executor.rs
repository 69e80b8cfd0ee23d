//! The simulator's executor: one thread, virtual time, every choice from the [`Chooser`].
//!
//! A step either runs services or fires timers:
//! - If services are runnable, it picks how many run "at once" (1 to W, the virtual worker
//!   count) and which, runs each for one message under `skygroup::executor::capture`, then
//!   interleaves their held-back deliveries in a chosen order that keeps each one's own order.
//!   That is exactly the freedom the threaded backend has with W workers (S3): which services
//!   run next, and how the sends of handlers running at the same time interleave.
//! - Otherwise virtual time jumps to the earliest timer, and every timer due at that instant
//!   fires, in a chosen order.
//! - If neither is possible, the run is stalled: whoever waits, waits forever.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use skygroup::executor::{Delivery, Event, Executor, FaultSite, Runnable, Stalled, capture};

use crate::chooser::Chooser;
use crate::faults::Faults;
use crate::record::{Happening, Record, stamp};

/// Steps after which a run is stopped as runaway (a service that never stops working).
pub const STEPS_MAX: u64 = 5_000_000;

pub(crate) struct SimExecutor {
    state: Mutex<State>,
    workers: usize,
}

struct State {
    now: Duration,
    ready: Vec<Runnable>,
    timers: BTreeMap<(Duration, u64), Waker>,
    last_timer: u64,
    chooser: Box<dyn Chooser>,
    /// Every choice made with more than one option: (options, chosen).
    decisions: Vec<(u32, u32)>,
    trace: Vec<String>,
    records: Vec<Record>,
    steps: u64,
    delivered: u64,
    tracing: bool,
    /// Present when the run injects faults.
    faults: Option<Faults>,
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
}

impl SimExecutor {
    pub(crate) fn new(chooser: Box<dyn Chooser>, workers: usize, tracing: bool, faults: Option<Faults>) -> SimExecutor {
        let state = State {
            now: Duration::ZERO,
            ready: Vec::new(),
            timers: BTreeMap::new(),
            last_timer: 0,
            chooser,
            decisions: Vec::new(),
            trace: Vec::new(),
            records: Vec::new(),
            steps: 0,
            delivered: 0,
            tracing,
            faults,
        };
        SimExecutor { state: Mutex::new(state), workers: workers.max(1) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn trace_lines(&self) -> Vec<String> {
        self.state().trace.clone()
    }

    pub(crate) fn records(&self) -> Vec<Record> {
        self.state().records.clone()
    }

    pub(crate) fn decisions(&self) -> Vec<(u32, u32)> {
        self.state().decisions.clone()
    }

    pub(crate) fn stats(&self) -> RunStats {
        let s = self.state();
        RunStats { steps: s.steps, delivered: s.delivered, decisions: s.decisions.len() as u64, virtual_time: s.now }
    }

    /// One step (see the module docs).
    fn step(&self) -> Result<(), Stalled> {
        let mut state = self.state();
        state.steps += 1;
        if state.steps > STEPS_MAX {
            return Err(Stalled::StepLimit(STEPS_MAX));
        }
        if state.ready.is_empty() {
            let wakers = state.fire_timers();
            drop(state);
            if wakers.is_empty() {
                return Err(Stalled::Deadlock);
            }
            wakers.into_iter().for_each(Waker::wake);
            return Ok(());
        }
        let limit = self.workers.min(state.ready.len());
        let at_once = 1 + state.choose(limit);
        let picked: Vec<Runnable> = (0..at_once)
            .map(|_| {
                let n = state.ready.len();
                let i = state.choose(n);
                state.ready.remove(i)
            })
            .collect();
        if picked.len() > 1 && state.tracing {
            let services: Vec<_> = picked.iter().map(Runnable::address).collect();
            let names: Vec<String> = services.iter().map(ToString::to_string).collect();
            state.log(Happening::Round { services }, format!("round   {}", names.join(" ")));
        }
        drop(state);
        let mut held: Vec<std::collections::VecDeque<Delivery>> =
            picked.into_iter().map(|r| capture(|| r.run(1)).1.into()).collect();
        held.retain(|h| !h.is_empty());
        while !held.is_empty() {
            let i = self.state().choose(held.len());
            let delivery = held[i].pop_front().expect("non-empty");
            if held[i].is_empty() {
                held.remove(i);
            }
            delivery.deliver();
        }
        Ok(())
    }
}

impl State {
    fn choose(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let chosen = self.chooser.choose(n).min(n - 1);
        self.decisions.push((n as u32, chosen as u32));
        chosen
    }

    /// Jumps to the earliest deadline and takes every timer due then, in a chosen order.
    fn fire_timers(&mut self) -> Vec<Waker> {
        let Some((&(deadline, _), _)) = self.timers.first_key_value() else { return Vec::new() };
        self.now = self.now.max(deadline);
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            due.push(entry.remove());
        }
        let mut ordered = Vec::with_capacity(due.len());
        while !due.is_empty() {
            let i = self.choose(due.len());
            ordered.push(due.remove(i));
        }
        if self.tracing {
            let fired = ordered.len();
            self.log(Happening::Timers { fired }, format!("timer   {fired} due"));
        }
        ordered
    }

    /// Keeps one event, as data and as a text line.
    fn log(&mut self, event: Happening, line: String) {
        self.trace.push(format!("{} {line}", stamp(self.now)));
        self.records.push(Record { time: self.now, event });
    }
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
        let deadline = deadline + late;
        if deadline <= state.now {
            drop(state);
            waker.wake();
            return;
        }
        state.last_timer += 1;
        let id = state.last_timer;
        state.timers.insert((deadline, id), waker);
    }

    fn block_on(&self, mut future: Pin<&mut (dyn Future<Output = ()> + Send)>) -> Result<(), Stalled> {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if flag.0.swap(false, Ordering::AcqRel) && future.as_mut().poll(&mut cx) == Poll::Ready(()) {
                return Ok(());
            }
            self.step()?;
        }
    }

    fn shutdown(&self) {
        let mut state = self.state();
        state.timers.clear();
        state.ready.clear();
    }

    fn trace(&self, event: &Event<'_>) {
        let mut state = self.state();
        if let Event::Deliver { .. } = event {
            state.delivered += 1;
        }
        if state.tracing {
            state.log(Happening::from_event(event), event.to_string());
        }
    }

    fn tracing(&self) -> bool {
        true
    }

    fn inject(&self, site: FaultSite<'_>) -> bool {
        let mut state = self.state();
        let Some(fault) = state.faults.as_mut().and_then(|f| f.inject(&site)) else { return false };
        if state.tracing {
            state.log(Happening::Fault { site: fault.clone() }, format!("fault   {fault}"));
        }
        true
    }

    fn faults(&self) -> bool {
        self.state().faults.is_some()
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}
