//! A name one member is resolving, as its queries wait on it.
//!
//! A thousand tasks of one member asking for a name that is not started yet should cost one
//! registry round trip and a thousand wake-ups, not a thousand answers through the mailbox. So
//! every query of a name being resolved holds the same `Resolution`; the member's resolver task
//! settles it once, and each waiting query reads the shared answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::core::{Address, CallError, lock};

/// The answer for one name, once the resolver has it, and who waits for it meanwhile.
#[derive(Default)]
pub(crate) struct Resolution {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    answer: Option<Result<Address, CallError>>,
    waiters: Vec<Waker>,
}

impl Resolution {
    /// Settles the name (the first answer wins) and wakes every query waiting on it.
    pub(crate) fn settle(&self, answer: Result<Address, CallError>) {
        let waiters = {
            let mut state = lock(&self.state);
            if state.answer.is_some() {
                return;
            }
            state.answer = Some(answer);
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// One query waiting on a [`Resolution`].
pub(crate) struct Awaiting(pub(crate) Arc<Resolution>);

impl Future for Awaiting {
    type Output = Result<Address, CallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = lock(&self.0.state);
        if let Some(answer) = &state.answer {
            return Poll::Ready(answer.clone());
        }
        // A query polled again by the same task (a plain `.await`) keeps one waker.
        if !state.waiters.last().is_some_and(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
