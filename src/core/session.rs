//! A service's outstanding calls, and the futures that wait for their answers.
//!
//! Replies travel like skynet's response messages: into the caller's mailbox, in order with
//! everything else it receives. When the runner takes a reply out, it stores the result here and
//! wakes whoever polled the reply future last. When that was the task itself (a plain `.await`),
//! the runner polls the task at once instead of a waker round trip through the mailbox; under a
//! combinator that polls its children selectively (`FuturesUnordered`, `join_all` of many), the
//! combinator's own waker is woken, so it knows which child to poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::address::{Address, Session};
use super::cell::{CommandName, ServiceCell, lock};
use super::error::CallError;
use super::sequence_map::SequenceMap;
use super::turn::current_task;
use super::value::Value;

/// One call waiting for its answer.
pub(crate) struct Waiting {
    /// Whom the call went to (for deadlock reports).
    pub(crate) target: Address,
    pub(crate) command: CommandName,
    /// The task of this service that last polled the reply, if any.
    task: Option<usize>,
    /// The waker of that poll.
    waker: Option<Waker>,
    result: Option<Result<Value, CallError>>,
}

/// Sessions are numbered per service from 1; 0 means "send".
#[derive(Default)]
pub(crate) struct Sessions {
    last: u64,
    /// By number: opened in increasing order, so a window, not a hash map (`sequence_map.rs`).
    pub(crate) open: SequenceMap<Waiting>,
}

/// Whom to wake for a completed session: the waker of the last poll, and the task it ran in.
pub(crate) enum Wake {
    Task(usize, Waker),
    Waker(Waker),
    Nobody,
}

impl Sessions {
    /// Whether dropping them would free anything (see `Drop for ServiceCell`).
    pub(crate) fn holds_memory(&self) -> bool {
        self.open.holds_memory()
    }

    pub(crate) fn open(&mut self, target: Address, command: CommandName) -> Session {
        let session = self.reserve();
        self.open_as(session, target, command);
        session
    }

    /// The next session's number, without opening it: a traced call handled at once
    /// (`handoff.rs`) has a number but no waiting entry unless its handler waits.
    pub(crate) fn reserve(&mut self) -> Session {
        self.last += 1;
        self.last
    }

    /// Opens `session`, a number [`reserve`](Self::reserve) gave.
    pub(crate) fn open_as(&mut self, session: Session, target: Address, command: CommandName) {
        let waiting = Waiting { target, command, task: None, waker: None, result: None };
        self.open.insert(session, waiting);
    }

    /// Stores the answer of `session`; returns whom to wake. An answer to a session nobody
    /// waits for any more (timed out, cancelled) is dropped.
    pub(crate) fn complete(&mut self, session: Session, result: Result<Value, CallError>) -> Wake {
        let Some(waiting) = self.open.get_mut(&session) else { return Wake::Nobody };
        waiting.result = Some(result);
        match (waiting.task, waiting.waker.take()) {
            (Some(task), Some(waker)) => Wake::Task(task, waker),
            (None, Some(waker)) => Wake::Waker(waker),
            (_, None) => Wake::Nobody,
        }
    }
}

/// Resolves to the answer of one call of `cell`.
pub(crate) struct Reply {
    cell: Arc<ServiceCell>,
    /// 0 once the answer was taken (and the session closed with it): dropping needs no lock.
    /// Not a separate flag: a `bool` beside the tag of a `Call` makes every copy of one an
    /// unaligned, store-stalling byte shuffle (measured 8% slower call loops).
    session: Session,
}

impl Reply {
    pub(crate) fn new(cell: Arc<ServiceCell>, session: Session) -> Reply {
        Reply { cell, session }
    }
}

impl Future for Reply {
    type Output = Result<Value, CallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.session == 0 {
            return Poll::Pending; // only a poll after completion gets here
        }
        let mut sessions = lock(&this.cell.sessions);
        let Some(waiting) = sessions.open.get_mut(&this.session) else {
            // Already taken; only a poll after completion gets here.
            return Poll::Pending;
        };
        if let Some(result) = waiting.result.take() {
            sessions.open.remove(&this.session);
            this.session = 0;
            return Poll::Ready(result);
        }
        waiting.task = current_task(&this.cell);
        match &waiting.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => waiting.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.session != 0 {
            lock(&self.cell.sessions).open.remove(&self.session);
        }
    }
}
