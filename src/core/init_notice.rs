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
//! One slot per thread is enough for starts nested in one another (an init that starts a
//! service): a start awaits its answer only while its new service's first turn runs, and every
//! start nested in that turn has ended (and taken its answer) before the turn answers the
//! outer one. The outer start's slot is put back when the inner one ends.

use std::cell::{Cell, RefCell};

use super::address::Session;
use super::cell::ServiceCell;
use super::error::CallError;
use super::value::Value;

type Answer = Result<Value, CallError>;

/// No start awaits an answer on this thread (no cell is at address 0).
const NONE: (usize, Session) = (0, 0);

thread_local! {
    /// The start awaiting its answer on this thread, innermost: its starter (told apart by its
    /// cell, so two runtimes on one thread cannot be confused) and its session.
    static AWAITED: Cell<(usize, Session)> = const { Cell::new(NONE) };
    /// Its answer, once given.
    static ANSWER: RefCell<Option<Answer>> = const { RefCell::new(None) };
}

/// An init's answer awaited on this thread while its start runs; dropped (also by a panic), it
/// stops waiting and the start it is nested in awaits its own again.
pub(crate) struct Awaited {
    outer: (usize, Session),
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Awaited {
    /// Awaits the answer to `starter`'s `session` on this thread. Only for a starter whose turn
    /// runs on this thread (see the module docs).
    pub(crate) fn begin(starter: &ServiceCell, session: Session) -> Awaited {
        let outer = AWAITED.replace((std::ptr::from_ref(starter) as usize, session));
        Awaited { outer, _not_send: std::marker::PhantomData }
    }

    /// The answer, if it was given while this waited; if not, the caller opens the session
    /// before its turn goes on (the answer is then in, or on its way to, its mailbox).
    pub(crate) fn into_answer(self) -> Option<Answer> {
        AWAITED.set(self.outer);
        let answer = ANSWER.with_borrow_mut(Option::take);
        std::mem::forget(self);
        answer
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        AWAITED.set(self.outer);
        let answer = ANSWER.with_borrow_mut(Option::take);
        drop(answer); // outside the borrow: a value's drop may be user code
    }
}

/// Takes `answer` for `starter`'s `session` if this thread awaits it (the start that opened no
/// session for it runs further up this stack); else hands it back, to complete the session.
pub(crate) fn offer(starter: &ServiceCell, session: Session, answer: Answer) -> Result<(), Answer> {
    if AWAITED.get() != (std::ptr::from_ref(starter) as usize, session) {
        return Err(answer);
    }
    ANSWER.with_borrow_mut(|slot| match slot {
        None => {
            *slot = Some(answer);
            Ok(())
        }
        Some(_) => Err(answer), // answered twice: the session's way says what to do with it
    })
}
