//! The threaded backend's shared run queue: where runnable services wait for a worker, and
//! where idle workers sleep.
//!
//! Its own module so that `make loom` checks the code that ships: under `--cfg loom` its lock,
//! condition variable and flag are loom's (see the models at the end). What it guarantees:
//! - **no lost wake-up**: a push made while a worker sleeps, or is about to, is taken. A push
//!   notifies when some worker sleeps and none is searching; a searching worker looks again
//!   (under the lock) before it counts itself asleep, and a sleeping one is counted under the
//!   same lock the push takes, so either the push sees it asleep or it sees the push.
//! - **shutdown terminates**: `stop` sets the flag and wakes every sleeper under the lock, and
//!   a worker checks the flag under the lock before each sleep, so every worker returns.

use std::collections::VecDeque;

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(loom)]
use loom::thread::yield_now;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::thread::yield_now;

/// Times an idle worker looks at the queue again before it sleeps.
const SEARCH_ROUNDS: usize = 4;

pub(crate) struct RunQueue<T> {
    state: Mutex<State<T>>,
    work: Condvar,
    stop: AtomicBool,
}

struct State<T> {
    ready: VecDeque<T>,
    /// Workers waiting on `work`; a push notifies only when some are and none is searching.
    sleeping: usize,
    /// Workers that just ran out of work and look again before sleeping: a push they will see
    /// needs no wake-up (tokio's "searching" state). Saves a futex round trip per spawn storm
    /// item.
    searching: usize,
}

impl<T> RunQueue<T> {
    pub(crate) fn new() -> RunQueue<T> {
        let state = State { ready: VecDeque::new(), sleeping: 0, searching: 0 };
        RunQueue { state: Mutex::new(state), work: Condvar::new(), stop: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, item: T) {
        let mut state = self.lock();
        state.ready.push_back(item);
        if state.sleeping > 0 && state.searching == 0 {
            self.work.notify_one();
        }
    }

    /// Whether an item waits.
    pub(crate) fn has_ready(&self) -> bool {
        !self.lock().ready.is_empty()
    }

    /// The next item, looking again a few times (yielding the CPU in between) before sleeping
    /// until there is one. None: stopped.
    pub(crate) fn next(&self) -> Option<T> {
        {
            let mut state = self.lock();
            if let Some(item) = state.ready.pop_front() {
                return Some(item);
            }
            state.searching += 1;
        }
        let mut found = None;
        for _ in 0..SEARCH_ROUNDS {
            yield_now();
            found = self.lock().ready.pop_front();
            if found.is_some() || self.stop.load(Ordering::Acquire) {
                break;
            }
        }
        self.lock().searching -= 1;
        if found.is_some() {
            return found;
        }
        let mut state = self.lock();
        loop {
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            if let Some(item) = state.ready.pop_front() {
                return Some(item);
            }
            state.sleeping += 1;
            state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
            state.sleeping -= 1;
        }
    }

    /// Stops the queue: every worker's `next` returns None from now on (once the queue is
    /// empty, or at once if it sleeps).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _state = self.lock();
        self.work.notify_all();
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;

    use super::RunQueue;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(f);
    }

    // A worker that needs `n` items: it sleeps when the queue is empty and must be woken.
    fn worker(queue: Arc<RunQueue<u32>>, n: usize) -> loom::thread::JoinHandle<Vec<u32>> {
        loom::thread::spawn(move || (0..n).map_while(|_| queue.next()).collect())
    }

    // No lost wake-up: a worker parked (or about to park) on an empty queue gets each push.
    #[test]
    fn loom_queue_push_wakes_a_parked_worker() {
        model(|| {
            let queue = Arc::new(RunQueue::new());
            let taker = worker(queue.clone(), 2);
            queue.push(1);
            queue.push(2);
            assert_eq!(taker.join().unwrap(), vec![1, 2]);
        });
    }

    // With two workers, one push is taken by exactly one of them; then shutdown wakes the
    // other, and both return.
    #[test]
    fn loom_queue_one_push_two_workers_then_shutdown() {
        model(|| {
            let queue = Arc::new(RunQueue::new());
            let (a, b) = (worker(queue.clone(), 1), worker(queue.clone(), 1));
            queue.push(7);
            // Wait until one has it, then stop: the other must not sleep forever.
            while queue.has_ready() {
                loom::thread::yield_now();
            }
            queue.stop();
            let mut taken = a.join().unwrap();
            taken.extend(b.join().unwrap());
            assert_eq!(taken, vec![7]);
        });
    }

    // Shutdown terminates a worker whatever it is doing (searching, parking, asleep).
    #[test]
    fn loom_queue_shutdown_terminates_parked_worker() {
        model(|| {
            let queue = Arc::new(RunQueue::<u32>::new());
            let taker = worker(queue.clone(), 1);
            queue.stop();
            assert_eq!(taker.join().unwrap(), Vec::<u32>::new());
        });
    }
}
