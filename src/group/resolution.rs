//! A name one member is resolving, as its queries wait on it.
//!
//! A thousand tasks of one member asking for a name that is not started yet should cost one
//! registry round trip and a thousand wake-ups, not a thousand answers through the mailbox. So
//! every query of a name being resolved holds the same `Resolution`; the member's resolver task
//! settles it once, and each waiting query reads the shared answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::core::{Address, CallError, lock};

/// The answer for one name, once the resolver has it, and who waits for it meanwhile.
#[derive(Default)]
pub(crate) struct Resolution {
    /// Set once; read without a lock by every query polled after that.
    answer: OnceLock<Result<Address, CallError>>,
    /// Taken by `settle` after it sets `answer`, so a waker pushed under this lock is either
    /// taken and woken, or pushed after the answer was set (and the poll sees it).
    waiters: Mutex<Vec<Waker>>,
}

impl Resolution {
    /// Settles the name (the first answer wins) and wakes every query waiting on it.
    pub(crate) fn settle(&self, answer: Result<Address, CallError>) {
        if self.answer.set(answer).is_err() {
            return;
        }
        let waiters = std::mem::take(&mut *lock(&self.waiters));
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// One query waiting on a [`Resolution`].
pub(crate) struct Awaiting(pub(crate) Arc<Resolution>);

impl Future for Awaiting {
    type Output = Result<Address, CallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(answer) = self.0.answer.get() {
            return Poll::Ready(answer.clone());
        }
        let mut waiters = lock(&self.0.waiters);
        if let Some(answer) = self.0.answer.get() {
            return Poll::Ready(answer.clone()); // settled while this poll took the lock
        }
        // A query polled again by the same task (a plain `.await`) keeps one waker.
        if !waiters.last().is_some_and(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
