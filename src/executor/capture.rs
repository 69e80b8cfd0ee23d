//! Holding back a step's deliveries so a simulator can interleave them (S3).
//!
//! In the threaded backend, two handlers running at once on two workers put their messages into
//! a shared target's mailbox interleaved message by message. A single-threaded simulator runs
//! those handlers one after the other; to reach the same orders it runs each under [`capture`],
//! which keeps every mailbox push of that step in a list instead of making it, then merges the
//! lists in a seeded order that keeps each list's own order, and delivers them. Nothing else is
//! held back: a captured delivery is still in its sender's order, so per-sender order (G6) holds.
//!
//! A shortcut (`core/handoff.rs`) reads real mailbox state, and a receiver run at once reacts
//! before its sender's step ends. Both would be wrong against held deliveries (a target would
//! look idle while its message waits here; a direct call would overtake a held send to the same
//! target, G6). So when the simulator takes a shortcut, [`release`] first delivers what the step
//! holds, in order, and ends the capture: from then on this thread's pushes are immediate, which
//! is exactly what the threaded backend does.

use std::cell::{Cell, RefCell};

use crate::core::{Address, Envelope, RuntimeShared, ServiceCell};
use std::sync::Arc;

thread_local! {
    /// What the capture on this thread holds (empty when none runs). Its buffer is the one the
    /// simulator handed to [`capture_into`], swapped in and out, so its capacity is kept.
    static CAPTURED: RefCell<Vec<Delivery>> = const { RefCell::new(Vec::new()) };
    /// Whether a capture runs on this thread: one cheap read on every delivery.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
}

/// One mailbox push held back by [`capture`].
///
/// Not part of the API: the simulator's (`skygroup-sim`) way to interleave a step's deliveries.
/// Public only so that crate can reach it; hidden from the docs and free to change.
pub struct Delivery(Held);

/// Where a held delivery goes.
enum Held {
    /// To a service looked up when the message was sent (the lookup that decided its
    /// shortcut): pushed into that cell, whose closed mailbox refuses it if the service exited
    /// meanwhile, exactly as the table would. No second lookup, no reference to the runtime.
    Found { cell: Arc<ServiceCell>, envelope: Envelope },
    /// To an address, looked up when delivered (bounced if no service is there then).
    To { runtime: Arc<RuntimeShared>, to: Address, envelope: Envelope },
}

impl Delivery {
    /// A delivery to the address `to`, from a service of `runtime`.
    pub(crate) fn to_address(runtime: Arc<RuntimeShared>, to: Address, envelope: Envelope) -> Delivery {
        Delivery(Held::To { runtime, to, envelope })
    }

    /// The receiving service.
    pub fn to(&self) -> Address {
        match &self.0 {
            Held::Found { cell, .. } => cell.address,
            Held::To { to, .. } => *to,
        }
    }

    /// Puts the message into its target's mailbox now (or bounces it if the target is gone).
    pub fn deliver(self) {
        match self.0 {
            Held::Found { cell, envelope } => cell.runtime.push_decided(&cell, envelope, None),
            Held::To { runtime, to, envelope } => runtime.deliver_now(to, envelope),
        }
    }
}

/// Runs `f`, holding back every mailbox push it makes on this thread; returns them in order.
/// Nested captures are not supported (the inner one would take the outer one's pushes).
///
/// Not part of the API: the simulator's (`skygroup-sim`) way to interleave a step's deliveries.
/// Public only so that crate can reach it; hidden from the docs and free to change.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<Delivery>) {
    let mut held = Vec::new();
    let out = capture_into(&mut held, f);
    (out, held)
}

/// [`capture`] into `held`, which must be empty: its capacity is reused, so a simulator that
/// keeps one buffer per virtual worker allocates nothing per step. On return `held` has the
/// pushes `f` made, in order (none if a shortcut released them meanwhile).
///
/// Not part of the API, like [`capture`].
pub fn capture_into<R>(held: &mut Vec<Delivery>, f: impl FnOnce() -> R) -> R {
    /// Ends the capture even if `f` panics: `held` gets its buffer back with what the step
    /// held (nothing, if a shortcut's `release` delivered it meanwhile), and the thread's
    /// empty one goes back in place.
    struct Stop<'a>(&'a mut Vec<Delivery>);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            CAPTURING.set(false);
            CAPTURED.with(|c| std::mem::swap(&mut *c.borrow_mut(), self.0));
        }
    }
    debug_assert!(held.is_empty(), "a capture starts with an empty buffer");
    CAPTURED.with(|c| std::mem::swap(&mut *c.borrow_mut(), held));
    CAPTURING.set(true);
    let stop = Stop(held);
    let out = f();
    drop(stop);
    out
}

/// Delivers everything the capture on this thread holds, in order, and ends it: the rest of the
/// step delivers at once. Nothing happens if no capture is active.
///
/// Out of line, check included: inlined, even the check alone made the shortcut decision
/// around it too big to inline where the threaded backend takes its direct calls (about 28
/// instructions more per call there; the simulator pays a call per shortcut taken instead).
#[inline(never)]
pub(crate) fn release() {
    if !CAPTURING.get() {
        return;
    }
    CAPTURING.set(false);
    if CAPTURED.with_borrow(Vec::is_empty) {
        return; // nothing held (the usual case: a step's first shortcut comes before any push)
    }
    // Taken out while it delivers (a delivery may run code that asks `active`, never `hold`).
    let mut held = CAPTURED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    for delivery in held.drain(..) {
        delivery.deliver();
    }
    // Back, empty, so `capture_into` hands its capacity back to the simulator.
    CAPTURED.with(|c| *c.borrow_mut() = held);
}

/// Whether a capture is active on this thread.
#[inline]
pub(crate) fn active() -> bool {
    CAPTURING.get()
}

/// Keeps `delivery` back for the capture on this thread, which must be [`active`].
#[inline]
pub(crate) fn hold(delivery: Delivery) {
    debug_assert!(active(), "a delivery is held only while a capture runs");
    CAPTURED.with_borrow_mut(|held| held.push(delivery));
}

/// [`hold`] of a delivery to `cell`, just found in the table, built in place (a delivery is about a
/// hundred bytes, and each move of one costs a dozen instructions).
#[inline]
pub(crate) fn hold_found(cell: Arc<ServiceCell>, envelope: Envelope) {
    debug_assert!(active(), "a delivery is held only while a capture runs");
    // The delivery goes into the closure by reference and out of it once, into the buffer:
    // moved into the closure, it was copied twice more on the way.
    let mut delivery = Some(Delivery(Held::Found { cell, envelope }));
    CAPTURED.with_borrow_mut(|held| held.extend(delivery.take()));
}
