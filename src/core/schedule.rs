//! A service's scheduling state: who owns its next turn, and whether work waits for one.
//!
//! Kept apart from the cell so that `make loom` checks the very code that ships: under
//! `--cfg loom` its atomics are loom's, and the models in `schedule/loom_models.rs` drive it
//! from two and three threads through every interleaving.
//!
//! Three facts share one atomic word, so every decision about them is one read-modify-write
//! of one location (coherent on every thread, and checkable by loom, which models `SeqCst`
//! between two locations as weaker than it is):
//! - `SCHEDULED` is the single-runner guarantee (G12): whoever sets it owns the service's next
//!   turn (hands it to the executor, or runs it, or runs one handler directly), and only that
//!   owner clears it.
//! - `MAILED`: the mailbox holds something. Set by a push, cleared by the runner taking the
//!   mailbox, both under the mailbox lock.
//! - `EXIT`: an exit was asked for; set once, never cleared.
//!
//! The invariant: **`SCHEDULED` is cleared only when nothing is pending**: no `MAILED`, no
//! `EXIT`, and no leftovers in the runner's batch (`batched == 0`). [`finish`](Schedule::finish)
//! releases with one compare-and-swap that fails if a push or an exit request came in
//! meanwhile, and a turn with leftovers keeps its claim and is scheduled again without ever
//! releasing it. So nobody can claim a service with work pending, and in particular the direct
//! path's claim ([`claim_direct`](Schedule::claim_direct): only from "nothing at all") never
//! runs a handler ahead of queued messages (G6) nor leaves them without a runner (G7). (Issue
//! 11's race: a turn with leftovers released and re-claimed, and a direct call from another
//! worker claimed in the gap, ran ahead of the leftovers, and released without rescheduling
//! them.)
//!
//! No wake-up is lost: a push sets `MAILED` and, if `SCHEDULED` was clear, claims in the same
//! read-modify-write; a runner's release fails when `MAILED` is set. Either the pusher sees the
//! service unclaimed, or the runner sees the mail.
//!
//! `batched` is a separate counter, written only by the claim's owner: the batch's length as
//! of the last turn (read by `queue_len`) and, during a turn, whether anything is left of it
//! (read by the direct answer's "nothing queued" check on the same thread). A turn stores it
//! only when the batch turns empty or non-empty, not per message (a store per message would
//! pull this line, which every push reads, to the runner's core): during a turn it may read
//! higher than what is left, but it is zero exactly when nothing is.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

const SCHEDULED: u8 = 1;
const MAILED: u8 = 2;
const EXIT: u8 = 4;

pub(crate) struct Schedule {
    state: AtomicU8,
    batched: AtomicUsize,
}

impl Schedule {
    pub(crate) fn new() -> Schedule {
        Schedule { state: AtomicU8::new(0), batched: AtomicUsize::new(0) }
    }

    /// Marks the mailbox non-empty, after a push under its lock: true if the caller now owns
    /// the next turn (the service was idle). A flood to a busy service finds both flags set
    /// and costs a plain read, no locked instruction.
    pub(crate) fn mail(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        if state & (MAILED | SCHEDULED) == MAILED | SCHEDULED {
            return false;
        }
        self.state.fetch_or(MAILED | SCHEDULED, Ordering::AcqRel) & SCHEDULED == 0
    }

    /// The runner took the whole mailbox (under its lock, holding the claim).
    pub(crate) fn unmail(&self) {
        self.state.fetch_and(!MAILED, Ordering::AcqRel);
    }

    /// Whether the mailbox holds something, as of the last push this thread can see.
    pub(crate) fn mailed(&self) -> bool {
        self.state.load(Ordering::Acquire) & MAILED != 0
    }

    /// Nothing pending and nobody runs it: a push or a direct claim would find it idle.
    pub(crate) fn idle(&self) -> bool {
        self.state.load(Ordering::Acquire) == 0
    }

    /// The direct path's claim: only a service with nothing pending at all (not claimed, no
    /// mail, no exit request; and so, by the invariant, no leftovers) is taken.
    pub(crate) fn claim_direct(&self) -> bool {
        self.idle() && self.state.compare_exchange(0, SCHEDULED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Records the batch's length (by the claim's owner).
    pub(crate) fn set_batched(&self, n: usize) {
        self.batched.store(n, Ordering::Relaxed);
    }

    /// Envelopes left in the runner's batch: between two turns exact for the claim's owner; during
    /// a turn zero exactly when none is left, else at least 1 (see the module docs); a statistic
    /// for others.
    pub(crate) fn batched(&self) -> usize {
        self.batched.load(Ordering::Relaxed)
    }

    /// Asks for an exit: true if the caller now owns the next turn and must schedule it (an
    /// exited service keeps its claim for good, so this claims nothing once it is closed).
    pub(crate) fn request_exit(&self) -> bool {
        self.state.fetch_or(EXIT | SCHEDULED, Ordering::AcqRel) & SCHEDULED == 0
    }

    pub(crate) fn exit_requested(&self) -> bool {
        self.state.load(Ordering::Acquire) & EXIT != 0
    }

    /// Ends a turn (or a direct handler): releases the claim if nothing is pending, else keeps
    /// it and returns true: the caller must schedule the service again (at the back of the run
    /// queue: fairness). `leftovers`: the turn's batch is not used up.
    pub(crate) fn finish(&self, leftovers: bool) -> bool {
        if leftovers || self.batched() > 0 {
            return true;
        }
        // While this thread owns the claim, nobody else clears a flag, and the others can only
        // set `MAILED` or `EXIT`: so the release fails exactly when work came in meanwhile.
        self.state.compare_exchange(SCHEDULED, 0, Ordering::AcqRel, Ordering::Acquire).is_err()
    }
}

#[cfg(all(test, loom))]
mod loom_models;
