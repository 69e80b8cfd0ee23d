//! Deferred replies: answering a call later, from any task of the service (skynet's
//! `skynet.response`). The group registry parks its waiters this way.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::cell::{ServiceCell, lock};
use super::error::{CallError, CallErrorKind};
use super::turn::ReplyTo;
use super::value::Value;

/// Where one deferred answer goes; taken exactly once (by a reply, a panic, an exit or a drop).
pub(crate) struct ReplySlot {
    reply_to: Mutex<Option<ReplyTo>>,
}

impl ReplySlot {
    pub(crate) fn new(reply_to: ReplyTo) -> Arc<ReplySlot> {
        Arc::new(ReplySlot { reply_to: Mutex::new(Some(reply_to)) })
    }

    fn take(&self) -> Option<ReplyTo> {
        lock(&self.reply_to).take()
    }

    /// Answers with the error `error(command)` unless already answered.
    pub(crate) fn fail_with(&self, cell: &ServiceCell, error: impl FnOnce(&str) -> CallError) {
        if let Some(reply_to) = self.take() {
            let err = error(&reply_to.command);
            cell.answer(reply_to, Err(err));
        }
    }
}

/// The right to answer one call, handed to a [`command_deferred`] handler.
///
/// Answer with [`reply`](Self::reply); it may be moved into state or another task of the
/// service and used later. Dropping it unanswered answers the caller with
/// [`CallErrorKind::NoReply`] (or [`CallErrorKind::Exited`] if the service is exiting), so every call
/// gets exactly one answer. For a send, answering does nothing (G8).
///
/// [`command_deferred`]: crate::ServiceKind::command_deferred
pub struct Responder {
    slot: Arc<ReplySlot>,
    /// Strong: an answer must be possible as long as the responder lives. No leak: a service's
    /// state and tasks, where responders live, are dropped when it exits.
    cell: Arc<ServiceCell>,
    caller: super::Address,
}

impl Responder {
    pub(crate) fn new(cell: &Arc<ServiceCell>, slot: Arc<ReplySlot>, caller: super::Address) -> Responder {
        Responder { slot, cell: cell.clone(), caller }
    }

    /// The service that sent the message being answered.
    pub fn caller(&self) -> super::Address {
        self.caller
    }

    /// Answers the call with a handler result: `Ok` is the reply, `Err` a handler error.
    pub fn reply<R: Into<Value>>(self, result: anyhow::Result<R>) {
        let cell = &self.cell;
        let Some(reply_to) = self.slot.take() else { return };
        let result = result
            .map(Into::into)
            .map_err(|e| crate::error::handler_error(cell.name(), cell.address, &reply_to.command, e));
        cell.answer(reply_to, result);
    }

    /// Answers the call with `value`.
    pub fn ok(self, value: impl Into<Value>) {
        self.reply(Ok(value));
    }

    /// Answers the call with an error carried as it is (e.g. the failure of a start).
    pub fn fail(self, error: CallError) {
        let cell = &self.cell;
        if let Some(reply_to) = self.slot.take() {
            cell.answer(reply_to, Err(error));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let cell = &self.cell;
        self.slot.fail_with(cell, |command| {
            if cell.exiting.load(Ordering::Acquire) {
                cell.exited_error(command)
            } else {
                CallErrorKind::NoReply {
                    service: cell.name().to_owned(),
                    address: cell.address,
                    command: command.to_owned(),
                }
                .into()
            }
        });
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}
