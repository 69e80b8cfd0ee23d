//! A service's outstanding calls, and the futures that wait for their answers.
//!
//! Replies travel like skynet's response messages: into the caller's mailbox, in order with
//! everything else it receives. When the runner takes a reply out, it stores the result here and
//! wakes whoever polled the reply future last. When that was the task itself (a plain `.await`),
//! the runner polls the task at once instead of a waker round trip through the mailbox; under a
//! combinator that polls its children selectively (`FuturesUnordered`, `join_all` of many), the
//! combinator's own waker is woken, so it knows which child to poll.
//!
//! The open sessions sit in [`OpenSessions`]: a service usually has one call out at a time,
//! and that one is kept beside the map, found by one comparison (every queued call opens a
//! session, polls it twice and completes it, which cost a hash map's probes each time). The
//! rest are numbered in increasing order, so they sit in a window by number
//! (`sequence_map.rs`), not a hash map: no rehash as a spawner's 10,000 monitors open and close.

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
    /// The task of this service that last polled the reply, or [`NO_TASK`]: four bytes where
    /// an `Option<usize>` took sixteen (every cell holds one `Waiting` inline, and a service
    /// waiting on 10,000 monitors holds 10,000 of them).
    task: u32,
    /// The waker of that poll.
    waker: Option<Waker>,
    result: Option<Result<Value, CallError>>,
}

/// `Waiting::task` of a reply last polled outside its service's tasks (or by a task whose id
/// does not fit, which only costs its answer the trip through the mailbox: see `Wake::Waker`).
const NO_TASK: u32 = u32::MAX;

/// Sessions are numbered per service from 1; 0 means "send".
#[derive(Default)]
pub(crate) struct Sessions {
    last: u64,
    pub(crate) open: OpenSessions,
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
        let waiting = Waiting { target, command, task: NO_TASK, waker: None, result: None };
        self.open.insert(session, waiting);
    }

    /// Stores the answer of `session`; returns whom to wake. An answer to a session nobody
    /// waits for any more (timed out, cancelled) is dropped.
    pub(crate) fn complete(&mut self, session: Session, result: Result<Value, CallError>) -> Wake {
        let Some(waiting) = self.open.get_mut(&session) else { return Wake::Nobody };
        waiting.result = Some(result);
        match (waiting.task, waiting.waker.take()) {
            (NO_TASK, Some(waker)) => Wake::Waker(waker),
            (task, Some(waker)) => Wake::Task(task as usize, waker),
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
            sessions.open.close(&this.session);
            this.session = 0;
            return Poll::Ready(result);
        }
        waiting.task = current_task(&this.cell).and_then(|task| u32::try_from(task).ok()).unwrap_or(NO_TASK);
        match &waiting.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => waiting.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Reply {
    /// Closes a session whose answer nobody took (a call given up on, a monitor dropped); a
    /// monitor's also stops watching its target (G9), so a service others stop watching holds
    /// nothing for them.
    fn drop(&mut self) {
        if self.session != 0 {
            let waiting = lock(&self.cell.sessions).open.remove(&self.session);
            if let Some(waiting) = waiting {
                waiting.unwatch(&self.cell, self.session);
            }
        }
    }
}

impl Waiting {
    /// The command a monitor's session waits on (`Ctx::monitor`).
    pub(crate) const MONITOR: &str = "_monitor";

    /// If this is a monitor's session that no answer reached, takes `watcher`'s watch off its
    /// target's list (G9). Called where the session closes unanswered: its reply dropped, or
    /// its service exiting.
    pub(crate) fn unwatch(&self, watcher: &ServiceCell, session: Session) {
        if self.result.is_none() && self.command == Self::MONITOR {
            watcher.runtime.with_service(self.target, |target| {
                if let Some(target) = target {
                    lock(&target.mailbox).monitors.remove(watcher.address, session);
                }
            });
        }
    }
}

/// The open sessions of one service, by number (see the module docs): the one opened while
/// no other was open sits in `first`, the rest in `more`. A service with one call out at a
/// time (the usual case) never touches the map.
#[derive(Default)]
pub(crate) struct OpenSessions {
    first: Option<(Session, Waiting)>,
    more: SequenceMap<Waiting>,
}

impl OpenSessions {
    /// Opens `session` (a number not open already).
    pub(crate) fn insert(&mut self, session: Session, waiting: Waiting) {
        match &mut self.first {
            Some((open, _)) if *open != session => {
                self.more.insert(session, waiting);
            }
            slot => *slot = Some((session, waiting)),
        }
    }

    /// The open session `session`, if it is open.
    #[inline]
    pub(crate) fn get_mut(&mut self, session: &Session) -> Option<&mut Waiting> {
        match &mut self.first {
            Some((open, waiting)) if open == session => Some(waiting),
            _ if self.more.is_empty() => None,
            _ => self.more.get_mut(session),
        }
    }

    /// Closes `session`; returns its entry if it was open.
    #[inline]
    pub(crate) fn remove(&mut self, session: &Session) -> Option<Waiting> {
        match &self.first {
            Some((open, _)) if open == session => self.first.take().map(|(_, waiting)| waiting),
            _ if self.more.is_empty() => None,
            _ => self.more.remove(session),
        }
    }

    /// Closes `session`, dropping its entry where it sits (a reply's completion: unlike
    /// [`remove`](Self::remove), the entry is not moved out to be dropped by the caller).
    #[inline]
    pub(crate) fn close(&mut self, session: &Session) {
        match &self.first {
            Some((open, _)) if open == session => self.first = None,
            _ if self.more.is_empty() => {}
            _ => drop(self.more.remove(session)),
        }
    }

    /// Whether no session is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.more.is_empty()
    }

    /// Whether dropping them would free anything (see `Drop for ServiceCell`).
    pub(crate) fn holds_memory(&self) -> bool {
        self.first.is_some() || self.more.holds_memory()
    }

    /// The open sessions, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Session, &Waiting)> {
        self.first.iter().map(|(session, waiting)| (*session, waiting)).chain(self.more.iter())
    }

    /// Every open session with its entry, in no particular order.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (Session, Waiting)> {
        self.first.into_iter().chain(self.more.into_entries())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(target: u64) -> Waiting {
        let command = CommandName::Borrowed("echo");
        Waiting { target: Address::from_raw(target), command, task: NO_TASK, waker: None, result: None }
    }

    fn targets(open: &OpenSessions) -> Vec<(Session, u64)> {
        let mut all: Vec<_> = open.iter().map(|(s, w)| (s, w.target.raw())).collect();
        all.sort_unstable();
        all
    }

    #[test]
    fn each_open_session_is_found_by_its_number_wherever_it_sits() {
        // checks G8: an answer completes the call it answers (its session), none other
        let mut open = OpenSessions::default();
        assert!(open.is_empty());
        open.insert(1, waiting(10)); // beside the map
        open.insert(2, waiting(20)); // the map: 1 is still open
        open.insert(3, waiting(30));
        assert_eq!(targets(&open), [(1, 10), (2, 20), (3, 30)]);
        assert_eq!(open.get_mut(&2).map(|w| w.target.raw()), Some(20));
        assert_eq!(open.remove(&1).map(|w| w.target.raw()), Some(10));
        assert!(open.get_mut(&1).is_none() && open.remove(&1).is_none(), "closed once");
        open.insert(4, waiting(40)); // beside the map again, with 2 and 3 in it
        assert_eq!(targets(&open), [(2, 20), (3, 30), (4, 40)]);
        for (session, target) in [(3, 30), (4, 40), (2, 20)] {
            assert_eq!(open.get_mut(&session).map(|w| w.target.raw()), Some(target));
            assert_eq!(open.remove(&session).map(|w| w.target.raw()), Some(target));
        }
        assert!(open.is_empty() && open.get_mut(&2).is_none());
    }

    #[test]
    fn every_open_session_is_handed_over_once_when_taken() {
        // checks G9: an exiting service's open calls are all dropped (each once)
        let mut open = OpenSessions::default();
        (1..=5).for_each(|s| open.insert(s, waiting(s * 10)));
        open.remove(&1);
        let mut all: Vec<_> = std::mem::take(&mut open).into_entries().map(|(_, w)| w.target.raw()).collect();
        all.sort_unstable();
        assert_eq!(all, [20, 30, 40, 50]);
        assert!(open.is_empty());
    }
}
