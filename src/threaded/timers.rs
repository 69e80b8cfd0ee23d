//! The threaded backend's timers: a heap of deadlines served by one thread.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
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
    heap: BinaryHeap<Reverse<(Duration, u64)>>,
    wakers: BTreeMap<u64, Waker>,
    last_id: u64,
}

impl Timers {
    pub(super) fn add(&self, deadline: Duration, waker: Waker) {
        let mut due = lock(&self.due);
        due.last_id += 1;
        let id = due.last_id;
        let earliest = due.heap.peek().is_none_or(|Reverse((d, _))| deadline < *d);
        due.heap.push(Reverse((deadline, id)));
        due.wakers.insert(id, waker);
        if earliest {
            self.changed.notify_one();
        }
    }

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
            while let Some(&Reverse((deadline, id))) = due.heap.peek() {
                if deadline > now {
                    break;
                }
                due.heap.pop();
                fired.extend(due.wakers.remove(&id));
            }
            if !fired.is_empty() {
                drop(due);
                fired.into_iter().for_each(Waker::wake);
                due = lock(&self.due);
                continue;
            }
            due = match due.heap.peek() {
                Some(&Reverse((deadline, _))) => {
                    self.changed.wait_timeout(due, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
                None => self.changed.wait(due).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}
