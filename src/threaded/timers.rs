//! The threaded backend's timers: deadlines in order, served by one thread.
//!
//! Kept in a map ordered by (deadline, id) rather than a heap, so a timer whose future was
//! dropped (an answered `call_timeout`) is removed at once instead of holding its waker until
//! its deadline (300,000 answered calls with a one-hour timeout used to hold 21 MB).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::core::lock;

#[derive(Default)]
pub(super) struct Timers {
    due: Mutex<Due>,
    changed: Condvar,
}

#[derive(Default)]
struct Due {
    /// Every pending timer by (deadline, id): ids keep equal deadlines apart.
    wakers: BTreeMap<(Duration, u64), Waker>,
    last_id: u64,
    /// When the timer thread wakes next: `Duration::MAX` if it waits for an add, zero while it
    /// is awake (it looks at the map before it sleeps again). Never later than the earliest
    /// timer, so an add notifies only a thread that would sleep past it: a cancelled earliest
    /// timer costs the thread one wake for nothing, and a stream of answered `call_timeout`s
    /// (add, cancel, add...) no notification each.
    wake_by: Duration,
}

impl Timers {
    pub(super) fn add(&self, deadline: Duration, waker: Waker) {
        let mut due = lock(&self.due);
        due.last_id += 1;
        let id = due.last_id;
        due.wakers.insert((deadline, id), waker);
        if deadline < due.wake_by {
            due.wake_by = Duration::ZERO;
            self.changed.notify_one();
        }
    }

    /// Removes one pending timer of `waker` for `deadline`, if any (see
    /// `Executor::cancel_wake_at`). The timer thread may then wake once for nothing.
    pub(super) fn cancel(&self, deadline: Duration, waker: &Waker) {
        let mut due = lock(&self.due);
        let found = due.wakers.range((deadline, 0)..=(deadline, u64::MAX)).find(|(_, w)| w.will_wake(waker));
        if let Some((&key, _)) = found {
            let removed = due.wakers.remove(&key);
            drop(due);
            drop(removed);
        }
    }

    /// Timers neither fired nor cancelled.
    pub(super) fn len(&self) -> usize {
        lock(&self.due).wakers.len()
    }

    pub(super) fn stop(&self) {
        let _due = lock(&self.due);
        self.changed.notify_all();
    }

    /// The timer thread: sleeps until the earliest deadline, wakes what is due, repeats.
    pub(super) fn run(&self, start: Instant, stop: &AtomicBool) {
        let mut due = lock(&self.due);
        loop {
            if stop.load(Ordering::Acquire) {
                due.wakers.clear();
                return;
            }
            let now = start.elapsed();
            let mut fired = Vec::new();
            while let Some(entry) = due.wakers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                fired.push(entry.remove());
            }
            if !fired.is_empty() {
                drop(due);
                fired.into_iter().for_each(Waker::wake);
                due = lock(&self.due);
                continue;
            }
            due = match due.wakers.first_key_value() {
                Some((&(deadline, _), _)) => {
                    due.wake_by = deadline;
                    self.changed.wait_timeout(due, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
                None => {
                    due.wake_by = Duration::MAX;
                    self.changed.wait(due).unwrap_or_else(|e| e.into_inner())
                }
            };
            due.wake_by = Duration::ZERO;
        }
    }
}
