//! The wakers of a service's tasks: one per task slot, made on first use and kept while the
//! service lives (slots are reused, and a stale wake only causes a harmless extra poll), so
//! handlers cost no waker allocation.
//!
//! Slot 0's waker is the service's cell itself, with its flag in the cell: nearly every service
//! polls its init (and then most handlers) in slot 0 and never has a second task at once, so
//! starting a service costs no waker allocation (tokio's tasks are their own wakers the same
//! way). The other slots' wakers hold their service weakly. Either kind, woken after the exit,
//! does nothing. Slot 0's, kept somewhere after the exit (a timer
//! not yet due, another service's session), keeps the exited cell's memory until it is dropped,
//! as a weak reference keeps the allocation; and a cell does not own its own slot-0 waker
//! (only its tasks and sessions may hold one, and the exit drops both), so no cycle outlives it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use futures::task::{ArcWake, WakerRef, waker_ref};

use super::cell::{Envelope, ServiceCell};
use super::turn::ServiceCore;

/// The waker of a task slot other than 0.
pub(super) struct TaskWaker {
    cell: Weak<ServiceCell>,
    task: usize,
    /// A `Wake` for this slot is in the mailbox and not yet handled: further wakes add nothing
    /// (a thousand children of one `join_all` finishing at once cost one poll, not a thousand).
    notified: AtomicBool,
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        if let Some(cell) = this.cell.upgrade() {
            wake(&cell, this.task, &this.notified);
        }
    }
}

/// Slot 0's waker.
impl ArcWake for ServiceCell {
    fn wake_by_ref(this: &Arc<Self>) {
        wake(this, 0, &this.first_slot_notified);
    }
}

/// Queues a `Wake` for slot `task`, unless one is pending or the service has exited (its tasks
/// are gone: the wake would be dropped on arrival).
fn wake(cell: &Arc<ServiceCell>, task: usize, notified: &AtomicBool) {
    if cell.alive() && !notified.swap(true, Ordering::AcqRel) {
        cell.runtime.deliver(cell.address, Envelope::Wake { task });
    }
}

impl ServiceCell {
    /// Makes the wakers up to slot `task`'s, once: a message polled as a slot polled before
    /// costs one comparison.
    #[inline]
    pub(super) fn ensure_waker(self: &Arc<Self>, core: &mut ServiceCore, task: usize) {
        if core.wakers().len() < task {
            self.make_wakers(core, task);
        }
    }

    #[cold]
    fn make_wakers(self: &Arc<Self>, core: &mut ServiceCore, task: usize) {
        let wakers = &mut core.rare().wakers;
        while wakers.len() < task {
            let task = wakers.len() + 1;
            wakers.push(Arc::new(TaskWaker { cell: Arc::downgrade(self), task, notified: AtomicBool::new(false) }));
        }
    }

    /// The waker of slot `task`, made by [`ensure_waker`](Self::ensure_waker); `wakers` is the
    /// core's list.
    pub(super) fn task_waker<'a>(self: &'a Arc<Self>, wakers: &'a [Arc<TaskWaker>], task: usize) -> WakerRef<'a> {
        match task {
            0 => waker_ref(self),
            _ => waker_ref(&wakers[task - 1]),
        }
    }

    /// The waker of slot `task`, if made: to compare with a waker a reply was polled with.
    pub(super) fn made_waker<'a>(
        self: &'a Arc<Self>,
        wakers: &'a [Arc<TaskWaker>],
        task: usize,
    ) -> Option<WakerRef<'a>> {
        (task <= wakers.len()).then(|| self.task_waker(wakers, task))
    }

    /// Slot `task`'s `Wake` is being handled: wakes from now on count again.
    pub(super) fn rearm_waker(&self, wakers: &[Arc<TaskWaker>], task: usize) {
        let notified = match task {
            0 => &self.first_slot_notified,
            _ => match wakers.get(task - 1) {
                Some(waker) => &waker.notified,
                None => return,
            },
        };
        notified.store(false, Ordering::Release);
    }
}
