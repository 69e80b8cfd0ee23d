//! The answer a new service's init owes whoever started it (`Ctx::start`, under
//! `Ctx::newservice`), caught where it is given when the starter's turn runs further up the
//! same stack: then no session is opened for it, nothing is stored in the starter's sessions
//! and nothing is taken out of them again, and the starter gets a call that is ready.
//!
//! Why this is enough: while a starter's turn runs on this thread, it is the starter's only
//! runner (G12), so its answer can arrive only two ways. Either it completes in place on this
//! thread (`Shortcut::AnswerInPlace`, `handoff.rs`), which offers it here first, or it goes
//! through the starter's mailbox, which only the starter's runner empties, after the start
//! returns and has opened the session (see [`Awaited::into_answer`]). The trace and every
//! shortcut decision are the ordinary path's: the delivery is decided, traced and checked as
//! before, only the completion is caught (the session's number is reserved as before).
//!
//! A start nested in another (an init that starts a service) awaits its own answer; each is
//! told apart by its starter and session, so nesting needs a short list, not a single slot.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::address::{Address, Session};
use super::cell::ServiceCell;
use super::error::CallError;
use super::runtime::RuntimeShared;
use super::value::Value;

type Answer = Result<Value, CallError>;

/// One awaited answer: the starter (told apart by its cell, not its address: two runtimes on
/// one thread cannot be confused), its session, and the answer once given.
struct Entry {
    starter: Arc<ServiceCell>,
    session: Session,
    answer: Option<Answer>,
}

thread_local! {
    /// The answers awaited on this thread, innermost start last.
    static AWAITED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// How many: an answer in place that no start awaits (every call's) reads only this.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// An init's answer awaited on this thread while its start runs; dropped (also by a panic), it
/// stops waiting.
pub(crate) struct Awaited {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Awaited {
    /// Awaits the answer to `starter`'s `session` on this thread. Only for a starter whose turn
    /// runs on this thread (see the module docs).
    pub(crate) fn begin(starter: &Arc<ServiceCell>, session: Session) -> Awaited {
        let starter = starter.clone();
        AWAITED.with_borrow_mut(|awaited| awaited.push(Entry { starter, session, answer: None }));
        COUNT.set(COUNT.get() + 1);
        Awaited { _not_send: std::marker::PhantomData }
    }

    /// The answer, if it was given while this waited; if not, the caller opens the session
    /// before its turn goes on (the answer is then in, or on its way to, its mailbox).
    pub(crate) fn into_answer(self) -> Option<Answer> {
        std::mem::forget(self);
        end().and_then(|entry| entry.answer)
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        drop(end()); // the entry's cell outlives it: the start holds it too
    }
}

/// Stops awaiting the innermost answer awaited on this thread.
fn end() -> Option<Entry> {
    COUNT.set(COUNT.get() - 1);
    AWAITED.with_borrow_mut(Vec::pop)
}

/// The starter awaiting `session`'s answer at `to` on this thread, if any: the answer's
/// delivery then needs no lookup of it (`RuntimeShared::deliver_to`: the same decisions).
pub(crate) fn awaiting(runtime: &RuntimeShared, to: Address, session: Session) -> Option<Arc<ServiceCell>> {
    if COUNT.get() == 0 {
        return None;
    }
    AWAITED.with_borrow(|awaited| {
        let is_it =
            |e: &&Entry| e.starter.address == to && e.session == session && std::ptr::eq(&*e.starter.runtime, runtime);
        let entry = awaited.iter().rev().find(is_it)?;
        Some(entry.starter.clone())
    })
}

/// Takes `answer` for `starter`'s `session` if this thread awaits it (the start that opened no
/// session for it runs further up this stack); else hands it back, to complete the session.
pub(crate) fn offer(starter: &ServiceCell, session: Session, answer: Answer) -> Result<(), Answer> {
    if COUNT.get() == 0 {
        return Err(answer);
    }
    AWAITED.with_borrow_mut(|awaited| {
        let entry = awaited
            .iter_mut()
            .rev()
            .find(|e| std::ptr::eq(Arc::as_ptr(&e.starter), starter) && e.session == session && e.answer.is_none());
        match entry {
            Some(entry) => {
                entry.answer = Some(answer);
                Ok(())
            }
            None => Err(answer),
        }
    })
}
