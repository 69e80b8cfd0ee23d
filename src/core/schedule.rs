//! A service's scheduling state: who owns its next turn, and whether work waits for one.
//!
//! Kept apart from the cell so that `make loom` can check the very code that ships: under
//! `--cfg loom` its atomics are loom's, and the models in `schedule/loom_models.rs` drive it
//! from two or three threads through every interleaving.
//!
//! (Pre-fix extraction: the protocol as it was, with separate flags.)

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub(crate) struct Schedule {
    mailed: AtomicBool,
    scheduled: AtomicBool,
    batched: AtomicUsize,
    exit_requested: AtomicBool,
}

impl Schedule {
    pub(crate) fn new() -> Schedule {
        Schedule {
            mailed: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            batched: AtomicUsize::new(0),
            exit_requested: AtomicBool::new(false),
        }
    }

    /// After a push, under the mailbox lock: true if the caller now owns the next turn.
    pub(crate) fn mail(&self) -> bool {
        if !self.mailed.load(Ordering::Relaxed) {
            self.mailed.store(true, Ordering::SeqCst);
        }
        self.claim()
    }

    /// The runner took the whole mailbox (under its lock).
    pub(crate) fn unmail(&self) {
        self.mailed.store(false, Ordering::SeqCst);
    }

    pub(crate) fn mailed(&self) -> bool {
        self.mailed.load(Ordering::Acquire)
    }

    pub(crate) fn claim(&self) -> bool {
        !self.scheduled.load(Ordering::SeqCst) && !self.scheduled.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn claim_direct(&self) -> bool {
        !self.mailed.load(Ordering::SeqCst) && self.claim()
    }

    pub(crate) fn set_batched(&self, n: usize) {
        self.batched.store(n, Ordering::Relaxed);
    }

    pub(crate) fn batched(&self) -> usize {
        self.batched.load(Ordering::Relaxed)
    }

    pub(crate) fn request_exit(&self) -> bool {
        self.exit_requested.store(true, Ordering::SeqCst);
        self.claim()
    }

    pub(crate) fn exit_requested(&self) -> bool {
        self.exit_requested.load(Ordering::Acquire)
    }

    pub(crate) fn finish(&self, leftovers: bool) -> bool {
        self.scheduled.store(false, Ordering::SeqCst);
        let more = leftovers || self.mailed.load(Ordering::SeqCst) || self.exit_requested.load(Ordering::SeqCst);
        more && self.claim()
    }
}

#[cfg(all(test, loom))]
mod loom_models;
