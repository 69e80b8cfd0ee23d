//! Direct hand-off on the threaded backend: a call answered without a trip through the run
//! queue.
//!
//! A call to an idle service normally takes four steps: the request into the callee's mailbox,
//! the callee's turn (from the worker's next slot), the answer into the caller's mailbox, and
//! the caller's next turn. On a worker thread of the threaded backend two shortcuts skip most
//! of that and keep to the contract:
//! - **the callee runs at once.** A call that finds its callee idle (not scheduled: nothing of
//!   it runs anywhere, and the request is the only message in its mailbox) runs the callee's
//!   turn right there, on the calling worker, for that one message. The callee's core is taken
//!   as any runner takes it, so its handlers still never overlap (G12), and it handles exactly
//!   what a turn from the run queue would have handled first (G6).
//! - **the answer skips the mailbox.** An answer for a service that is being polled on this very
//!   thread, with nothing waiting in its mailbox or batch, completes the caller's session
//!   directly: it overtakes nothing (G6), and the caller's `.await` finds it ready.
//!
//! Together, a call to an idle service whose handler does not wait is one function call deep.
//! Only one level: a call made by a handler running this way is queued as usual, so stacks stay
//! flat. The simulator takes neither shortcut (it interleaves every delivery itself; its executor
//! does not offer `runs_turns_inline`), so its traces never see them.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use super::cell::{Envelope, ServiceCell, lock};
use super::runtime::RuntimeShared;
use super::session::Wake;
use super::turn::polled_here;
use crate::executor::Runnable;

thread_local! {
    /// A callee's turn is running inline on this thread.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Clears `INLINE` when the inline turn ends, even by a panic.
struct Inline;

impl Drop for Inline {
    fn drop(&mut self) {
        INLINE.set(false);
    }
}

impl RuntimeShared {
    /// Whether deliveries from this thread may take the shortcuts (see the module docs).
    pub(crate) fn handoff(&self) -> bool {
        self.executor.runs_turns_inline()
    }

    /// Gets `cell`'s turns going after a push found it idle: inline if the push was a call that
    /// may be handed off, else through the executor.
    pub(crate) fn start_turns(&self, cell: Arc<ServiceCell>, call: bool) {
        if call && !INLINE.get() {
            INLINE.set(true);
            let _inline = Inline;
            cell.run_turn(1);
            return;
        }
        self.executor.schedule(Runnable(cell));
    }
}

/// What a delivery did with its envelope.
pub(crate) enum Delivered {
    /// Queued behind others, or for a service already scheduled.
    Queued,
    /// Queued for a service that was idle: its turns must be started (`start_turns`).
    Idle,
    /// An answer completed in place; wake this waker (outside every table lock).
    Answered(Option<Waker>),
}

impl ServiceCell {
    /// Like `push`, but an answer for this service while it is polled on this thread, with
    /// nothing queued ahead, completes its session at once.
    pub(crate) fn complete_here(&self, envelope: Envelope) -> Result<Delivered, Envelope> {
        let Envelope::Response { session, result } = envelope else { return self.push_delivered(envelope) };
        let quiet = polled_here(self) && {
            let mailbox = lock(&self.mailbox);
            !mailbox.closed && mailbox.queue.is_empty() && self.batched.load(Ordering::Relaxed) == 0
        };
        if !quiet {
            return self.push_delivered(Envelope::Response { session, result });
        }
        let waker = match lock(&self.sessions).complete(session, result) {
            // The caller polled this reply before: it waits, so wake it (at worst one extra poll).
            Wake::Task(_, waker) | Wake::Waker(waker) => Some(waker),
            Wake::Nobody => None,
        };
        Ok(Delivered::Answered(waker))
    }

    /// `push`, saying what it did.
    pub(crate) fn push_delivered(&self, envelope: Envelope) -> Result<Delivered, Envelope> {
        Ok(if self.push(envelope)? { Delivered::Idle } else { Delivered::Queued })
    }
}
